//! Storage of speech records: one [`Store`] trait, two implementations ([`SqliteStore`],
//! [`PgStore`]) and [`AnyStore`], the one selected by `DATABASE_URL`.
//!
//! Both stores keep the latest version of each record (full JSON plus the columns the API
//! filters on) and every version ever stored. Writing is idempotent: the same id with the same
//! `content_hash` is a no-op, a new `content_hash` for a known id is a new version.

mod error;
mod postgres;
mod rows;
mod sqlite;

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use shared::backoff::Backoff;
use shared::{Kind, Lang, SpeechRecord};
use tokio_util::sync::CancellationToken;

pub use error::StoreError;
pub use postgres::PgStore;
pub use rows::sort_key;
pub(crate) use rows::{
    Derived, Latest, ListRow, Row, contains_pattern, derive_columns, page_of, plan,
    records_in_order, ts_config,
};
pub use sqlite::SqliteStore;

/// The default `DATABASE_URL`: an SQLite file created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/speeches.db";
/// Largest page the list endpoint serves.
pub const MAX_LIMIT: u32 = 500;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// A search ranks this many of its newest matches by relevance; older matches follow, newest
/// first. Finding and ranking them reads each candidate's search vector (~4 KB), so a bounded
/// window keeps a search for a common word (half of a large archive) about as fast as one for
/// a rare word: 200 is four pages of the web interface (1,000 took 190 ms on PostgreSQL for a
/// common word at 300,000 records, 200 took 50 ms).
pub const SEARCH_RANK_WINDOW: u64 = 200;

/// What storing one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// The id was new.
    Inserted,
    /// The id was known with other content: a new version was stored and is now served.
    NewVersion,
    /// The id was known with this content (a redelivery): nothing changed.
    Unchanged,
}

/// Where a page of results continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After the record with this sort key and id (newest-first listings).
    After {
        /// Sort key of the last record served, microseconds since the epoch.
        published_us: i64,
        /// Id of the last record served.
        id: String,
    },
    /// After this many results (ranked search results).
    Offset(u64),
}

/// Why a cursor was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor: {0}; pass back the next_cursor of a previous response unchanged")]
pub struct CursorError(&'static str);

impl Cursor {
    /// The opaque form handed to clients (URL-safe base64).
    pub fn encode(&self) -> String {
        let plain = match self {
            Cursor::After { published_us, id } => format!("t:{published_us}:{id}"),
            Cursor::Offset(offset) => format!("o:{offset}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
    }

    /// Parses a cursor a client sent back.
    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        if text.is_empty() || text.len() > 1024 {
            return Err(CursorError("it is empty or too long"));
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError("it is not URL-safe base64"))?;
        let plain = String::from_utf8(bytes).map_err(|_| CursorError("it is not text"))?;
        if let Some(rest) = plain.strip_prefix("t:") {
            let (us, id) = rest
                .split_once(':')
                .ok_or(CursorError("its position is malformed"))?;
            let published_us = us
                .parse::<i64>()
                .map_err(|_| CursorError("its position is malformed"))?;
            if id.is_empty() || id.chars().any(char::is_control) {
                return Err(CursorError("its record id is malformed"));
            }
            Ok(Cursor::After {
                published_us,
                id: id.to_string(),
            })
        } else if let Some(rest) = plain.strip_prefix("o:") {
            let offset = rest
                .parse::<u64>()
                .map_err(|_| CursorError("its offset is malformed"))?;
            if offset > 10_000_000 {
                return Err(CursorError("its offset is out of range"));
            }
            Ok(Cursor::Offset(offset))
        } else {
            Err(CursorError("it was not issued by this API"))
        }
    }
}

/// A validated listing query. Build it with [`crate::params`] from untrusted input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Only this source (`kremlin.ru`).
    pub source: Option<String>,
    /// Only this language.
    pub lang: Option<Lang>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records with a speaker whose name contains this (case-insensitive).
    pub speaker: Option<String>,
    /// Published at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Published strictly before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Full-text search (web-search syntax: words, "phrases", OR, -word).
    pub q: Option<String>,
    /// Page size, 1..=[`MAX_LIMIT`].
    pub limit: u32,
    /// Where to continue.
    pub cursor: Option<Cursor>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            source: None,
            lang: None,
            kind: None,
            speaker: None,
            since: None,
            until: None,
            q: None,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// One listed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The record's id.
    pub id: String,
    /// The record's full JSON.
    pub record: String,
    /// With `q`: an excerpt with the matches between `<mark>` and `</mark>`.
    pub snippet: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records, newest first (or best first with `q`).
    pub items: Vec<Hit>,
    /// Where the next page starts, `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// One stored version of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionEntry {
    /// 1 for the first version stored.
    pub version: i64,
    /// The version's content hash.
    pub content_hash: String,
    /// When the sink stored it.
    pub stored_at: DateTime<Utc>,
    /// The version's full JSON.
    pub record: String,
}

/// One stored version, numbered in the order the versions were stored (a durable,
/// monotonic sequence: the `id:` of `GET /v1/events`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the sequence, from 1.
    pub seq: i64,
    /// The record's version (1 for the first).
    pub version: i64,
    /// The version's full JSON.
    pub record: String,
}

/// The storage operations of the sink.
pub trait Store: Send + Sync {
    /// Stores `records`; one outcome per record, in order. Every version of one id is written
    /// in one transaction; a store may split a batch by id over transactions written at once,
    /// so a failed call may have stored some ids, which its retry then finds unchanged.
    fn store_batch(
        &self,
        records: &[SpeechRecord],
    ) -> impl Future<Output = Result<Vec<StoreOutcome>, StoreError>> + Send;
    /// The latest version's JSON of record `id`.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// The latest versions' JSON of the records `ids`, in that order (`None` for an id that
    /// is not stored).
    fn records(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Option<String>>, StoreError>> + Send;
    /// A page of records matching `query`.
    fn list(&self, query: &Query) -> impl Future<Output = Result<Page, StoreError>> + Send;
    /// How many records match `query` (its cursor and limit aside): the number of search
    /// results.
    fn count(&self, query: &Query) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Every version of record `id`, oldest first (empty when unknown).
    fn versions(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<VersionEntry>, StoreError>> + Send;
    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Versions stored after event `after`, oldest first, at most `limit`: what
    /// `GET /v1/events` streams.
    fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;
    /// The sequence number of the last stored version (0 when nothing is stored).
    fn last_event(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

/// The store selected by `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`) and runs the
    /// migrations.
    pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(AnyStore::Sqlite(SqliteStore::open_url(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PgStore::open(url).await?))
        } else {
            Err(StoreError::BadUrl(redact_url(url)))
        }
    }

    /// Like [`AnyStore::open`], but while the database is unreachable keeps retrying with
    /// backoff, logging what it waits for. Returns `None` when `shutdown` fires first.
    pub async fn open_with_retry(
        url: &str,
        shutdown: &CancellationToken,
    ) -> Result<Option<AnyStore>, StoreError> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        loop {
            let attempt = tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                attempt = AnyStore::open(url) => attempt,
            };
            match attempt {
                Ok(store) => return Ok(Some(store)),
                Err(err) if err.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(database = %redact_url(url), error = %err, retry_in = ?delay, "waiting for the database: cannot open it yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Which database this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl Store for AnyStore {
    async fn store_batch(&self, records: &[SpeechRecord]) -> Result<Vec<StoreOutcome>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.store_batch(records).await,
            AnyStore::Postgres(s) => s.store_batch(records).await,
        }
    }

    async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.get(id).await,
            AnyStore::Postgres(s) => s.get(id).await,
        }
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.records(ids).await,
            AnyStore::Postgres(s) => s.records(ids).await,
        }
    }

    async fn list(&self, query: &Query) -> Result<Page, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.list(query).await,
            AnyStore::Postgres(s) => s.list(query).await,
        }
    }

    async fn count(&self, query: &Query) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.count(query).await,
            AnyStore::Postgres(s) => s.count(query).await,
        }
    }

    async fn versions(&self, id: &str) -> Result<Vec<VersionEntry>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.versions(id).await,
            AnyStore::Postgres(s) => s.versions(id).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.ping().await,
            AnyStore::Postgres(s) => s.ping().await,
        }
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.events_after(after, limit).await,
            AnyStore::Postgres(s) => s.events_after(after, limit).await,
        }
    }

    async fn last_event(&self) -> Result<i64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.last_event().await,
            AnyStore::Postgres(s) => s.last_event().await,
        }
    }
}

pub use shared::config::redact_url;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A small record with this id and content hash.
    pub(crate) fn record(id: &str, hash: &str) -> SpeechRecord {
        SpeechRecord {
            schema_version: 1,
            id: id.into(),
            source: "mid.ru".into(),
            doc_id: "1".into(),
            lang: Lang::En,
            url: "https://mid.ru/en/1".into(),
            title: "Title".into(),
            kind: Kind::Interview,
            speakers: vec!["Sergey Lavrov".into()],
            location: None,
            event_date: None,
            published_at: None,
            doc_number: None,
            paragraphs: vec!["One.".into()],
            turns: vec![],
            tags: vec![],
            translations: BTreeMap::new(),
            quality: Default::default(),
            content_hash: hash.into(),
            fetched_at: Utc::now(),
            parser_version: "test".into(),
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let after = Cursor::After {
            published_us: -5,
            id: "mid.ru:1:en".into(),
        };
        assert_eq!(Cursor::decode(&after.encode()).unwrap(), after);
        assert_eq!(
            Cursor::decode(&Cursor::Offset(100).encode()).unwrap(),
            Cursor::Offset(100)
        );
        for junk in ["", "!!!", "dDo", "eDox", "' OR 1=1 --", "o:1"] {
            assert!(Cursor::decode(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
