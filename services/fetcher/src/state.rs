//! The fetcher's durable state in the JetStream key-value bucket
//! [`shared::subjects::FETCHER_BUCKET`]: seen statements, listing validators, the recent
//! statements to re-check, backfill checkpoints. Shared by every replica and kept across
//! restarts.

use std::collections::{BTreeMap, HashMap};

use async_nats::jetstream::kv;
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::messages::{Lang, ListingHint, hex_digest};
use tokio::sync::Mutex;

use crate::http::Validators;

/// A statement language version that was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenEntry {
    /// SHA-256 (hex) of the body last published.
    pub body_sha256: String,
    /// Its `ETag`.
    pub etag: Option<String>,
    /// Its `Last-Modified`.
    pub last_modified: Option<String>,
    /// Publication time the listing showed.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// When the fetcher first published it.
    pub first_seen: DateTime<Utc>,
    /// The page URL it was fetched from.
    #[serde(default)]
    pub url: Option<String>,
    /// What the listing said, kept for republishing edits.
    #[serde(default)]
    pub listing: Option<ListingHint>,
    /// When the page was last fetched or re-checked (`None` in entries written before this
    /// field existed: then `first_seen`).
    #[serde(default)]
    pub checked_at: Option<DateTime<Utc>>,
}

impl SeenEntry {
    /// Whether a re-check is due at `now` ([`crate::politeness::recheck_due`]).
    pub fn recheck_due(&self, now: DateTime<Utc>, spacing: f64) -> bool {
        let since = |t: DateTime<Utc>| (now - t).to_std().unwrap_or_default();
        crate::politeness::recheck_due(
            since(self.first_seen),
            since(self.checked_at.unwrap_or(self.first_seen)),
            spacing,
        )
    }

    /// The validators for a conditional re-check.
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
        }
    }
}

/// Progress of one backfill range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// First day of the range.
    pub from: NaiveDate,
    /// Last day of the range.
    pub to: NaiveDate,
    /// The first day not yet done.
    pub next_day: NaiveDate,
    /// Pages published so far by this backfill.
    pub pages: u64,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

/// Errors of the state bucket.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A key-value call failed.
    #[error(
        "key-value bucket {bucket}: cannot {action} {key}: {reason}; check that NATS (JetStream) is reachable"
    )]
    Kv {
        /// Bucket.
        bucket: String,
        /// read, write.
        action: &'static str,
        /// Key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Key-value state, plus an in-memory copy of the validators.
pub struct State {
    kv: kv::Store,
    bucket: String,
    source: String,
    validators: Mutex<HashMap<String, Validators>>,
    /// Serializes this process's compare-and-set updates of the recent lists, so concurrent
    /// fetches do not race each other (other replicas are handled by compare-and-set).
    recent_update: Mutex<()>,
}

/// Recent statements of one language: doc id → publication (or first-seen) time.
type Recent = BTreeMap<String, DateTime<FixedOffset>>;

impl State {
    /// Wraps an opened bucket; `source` is the subject token of the source (`mid_ru`).
    pub fn new(kv: kv::Store, bucket: &str, source: &str) -> Self {
        State {
            kv,
            bucket: bucket.to_string(),
            source: source.to_string(),
            validators: Mutex::new(HashMap::new()),
            recent_update: Mutex::new(()),
        }
    }

    /// `seen.mid_ru.en.1950001`.
    pub fn seen_key(&self, lang: Lang, doc_id: &str) -> String {
        format!("seen.{}.{lang}.{}", self.source, key_token(doc_id))
    }

    /// The seen entry of a statement's language version.
    pub async fn seen(&self, lang: Lang, doc_id: &str) -> Result<Option<SeenEntry>, StateError> {
        self.get_json(&self.seen_key(lang, doc_id)).await
    }

    /// Records a published statement.
    pub async fn mark_seen(
        &self,
        lang: Lang,
        doc_id: &str,
        entry: &SeenEntry,
    ) -> Result<(), StateError> {
        self.put_json(&self.seen_key(lang, doc_id), entry).await
    }

    /// Validators of a listing or feed URL (memory first, then the bucket).
    pub async fn validators(&self, url: &str) -> Result<Option<Validators>, StateError> {
        if let Some(v) = self.validators.lock().await.get(url) {
            return Ok(Some(v.clone()));
        }
        let stored: Option<Validators> = self.get_json(&self.validators_key(url)).await?;
        if let Some(v) = &stored {
            self.validators
                .lock()
                .await
                .insert(url.to_string(), v.clone());
        }
        Ok(stored)
    }

    /// Stores the validators of a listing or feed URL.
    pub async fn save_validators(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<(), StateError> {
        let known = self.validators.lock().await.get(url) == Some(validators);
        if known {
            return Ok(());
        }
        self.put_json(&self.validators_key(url), validators).await?;
        self.validators
            .lock()
            .await
            .insert(url.to_string(), validators.clone());
        Ok(())
    }

    /// Drops the in-memory copy of the validators (another replica may have changed them).
    pub async fn clear_cache(&self) {
        self.validators.lock().await.clear();
    }

    /// Forgets the validators of a URL, so that the next request is unconditional.
    pub async fn forget_validators(&self, url: &str) {
        self.validators.lock().await.remove(url);
        let _ = self.kv.put(self.validators_key(url), Bytes::new()).await;
    }

    fn validators_key(&self, url: &str) -> String {
        format!(
            "validators.{}.{}",
            self.source,
            &hex_digest(url.as_bytes())[..32]
        )
    }

    fn recent_key(&self, lang: Lang) -> String {
        format!("recent.{}.{lang}", self.source)
    }

    /// Statements of `lang` published at or after `since`.
    pub async fn recent(
        &self,
        lang: Lang,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StateError> {
        let recent: Recent = self
            .get_json(&self.recent_key(lang))
            .await?
            .unwrap_or_default();
        Ok(recent
            .into_iter()
            .filter(|(_, at)| *at >= since)
            .map(|(id, _)| id)
            .collect())
    }

    /// Adds a statement to the recent list of `lang` (when `at` is after `since`) and drops
    /// entries older than `since`. Compare-and-set, so replicas do not lose each other's entries.
    pub async fn add_recent(
        &self,
        lang: Lang,
        doc_id: &str,
        at: DateTime<FixedOffset>,
        since: DateTime<Utc>,
    ) -> Result<(), StateError> {
        if at < since {
            return Ok(());
        }
        let key = self.recent_key(lang);
        let _serial = self.recent_update.lock().await;
        for _ in 0..10 {
            let entry = self
                .kv
                .entry(key.clone())
                .await
                .map_err(|e| self.err("read", &key, e))?;
            let (mut recent, revision): (Recent, u64) = match &entry {
                Some(e) if e.operation == kv::Operation::Put && !e.value.is_empty() => (
                    serde_json::from_slice(&e.value).unwrap_or_default(),
                    e.revision,
                ),
                Some(e) => (Recent::new(), e.revision),
                None => (Recent::new(), 0),
            };
            recent.retain(|_, t| *t >= since);
            recent.insert(doc_id.to_string(), at);
            let value = Bytes::from(serde_json::to_vec(&recent).unwrap_or_default());
            let written = if revision == 0 {
                self.kv
                    .create(&key, value)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            } else {
                self.kv
                    .update(&key, value, revision)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            match written {
                Ok(()) => return Ok(()),
                Err(reason) => {
                    tracing::debug!(key, reason, "recent list changed meanwhile; retrying")
                }
            }
        }
        Err(StateError::Kv {
            bucket: self.bucket.clone(),
            action: "update",
            key,
            reason: "too many concurrent updates".into(),
        })
    }

    fn checkpoint_key(&self, from: NaiveDate, to: NaiveDate) -> String {
        format!("backfill.{}.{from}_{to}", self.source)
    }

    /// The checkpoint of the backfill of `from..=to`.
    pub async fn checkpoint(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<Checkpoint>, StateError> {
        self.get_json(&self.checkpoint_key(from, to)).await
    }

    /// Stores a backfill checkpoint.
    pub async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StateError> {
        self.put_json(
            &self.checkpoint_key(checkpoint.from, checkpoint.to),
            checkpoint,
        )
        .await
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        let value = self
            .kv
            .get(key)
            .await
            .map_err(|e| self.err("read", key, e))?;
        Ok(value.and_then(|bytes| {
            if bytes.is_empty() {
                return None;
            }
            serde_json::from_slice(&bytes)
                .map_err(|e| tracing::warn!(key, error = %e, "ignoring an unreadable state entry"))
                .ok()
        }))
    }

    async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        self.kv
            .put(key, Bytes::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.err("write", key, e))
    }

    fn err(&self, action: &'static str, key: &str, e: impl std::fmt::Display) -> StateError {
        StateError::Kv {
            bucket: self.bucket.clone(),
            action,
            key: key.to_string(),
            reason: e.to_string(),
        }
    }
}

/// A key token: characters outside `[-_=a-zA-Z0-9]` become `_` (dots would add levels).
pub fn key_token(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tokens_are_valid() {
        assert_eq!(key_token("1950001"), "1950001");
        assert_eq!(key_token("19.5/0 01*>"), "19_5_0_01__");
    }
}
