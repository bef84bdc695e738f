//! Raw pages onto JetStream: `RawPage` built from a response, published with de-duplication;
//! pages too large for one message go through the object store.

use async_nats::jetstream;
use async_nats::jetstream::object_store::ObjectStore;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use shared::messages::{
    Body, Compression, Lang, ListingHint, RAW_PAGE_SCHEMA_VERSION, RawPage, hex_digest,
};
use shared::nats::{NatsError, publish_durable};
use shared::subjects::{self, LARGE_PAGE_BUCKET};
use tokio::sync::OnceCell;

use crate::http::Page;

/// Publish attempts (same message id) before a page is given up for this poll.
pub const PUBLISH_ATTEMPTS: u32 = 5;
/// Room left for headers and framing under the server's max payload.
const PAYLOAD_MARGIN: usize = 1024;
/// Largest object-store chunk (the client's default).
const MAX_CHUNK: usize = 128 * 1024;

/// Builds the raw page of a statement of `source` (the profile's name, `mid.ru`).
pub fn raw_page(
    source: &str,
    doc_id: &str,
    lang: Lang,
    page: &Page,
    listing: Option<ListingHint>,
    fetched_at: DateTime<Utc>,
) -> RawPage {
    RawPage {
        schema_version: RAW_PAGE_SCHEMA_VERSION,
        source: source.to_string(),
        doc_id: doc_id.to_string(),
        lang,
        url: page.url.to_string(),
        http_status: page.status,
        headers: page.headers.clone(),
        fetched_at,
        listing,
        body_sha256: hex_digest(&page.body),
        body: Body::inline_zstd(&page.body),
    }
}

/// Errors while publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The publish itself.
    #[error(transparent)]
    Nats(#[from] NatsError),
    /// The object store for large pages.
    #[error(
        "cannot store the large page {object} in object store {LARGE_PAGE_BUCKET}: {reason}; check that NATS (JetStream) is reachable and has room"
    )]
    ObjectStore {
        /// Object name.
        object: String,
        /// Why.
        reason: String,
    },
    /// Serialization (never expected).
    #[error("cannot serialize the raw page: {0}")]
    Json(#[from] serde_json::Error),
}

/// Publishes raw pages.
pub struct Publisher {
    js: jetstream::Context,
    max_payload: usize,
    replicas: usize,
    store: OnceCell<ObjectStore>,
}

impl Publisher {
    /// A publisher on `js`; `max_payload` is the server's limit.
    pub fn new(js: jetstream::Context, max_payload: usize, replicas: usize) -> Self {
        Publisher {
            js,
            max_payload,
            replicas,
            store: OnceCell::new(),
        }
    }

    /// Publishes `page` (with the raw `body` for the object-store case) and waits for the
    /// stream's acknowledgement. Returns whether JetStream saw it as a duplicate.
    pub async fn publish(&self, mut page: RawPage, body: &[u8]) -> Result<bool, PublishError> {
        let subject = subjects::raw_subject(&page.source, page.lang);
        let mut json = serde_json::to_vec(&page)?;
        if json.len() + PAYLOAD_MARGIN > self.max_payload {
            let object = format!(
                "{}.{}.{}.{}",
                subjects::source_token(&page.source),
                page.lang,
                page.doc_id,
                &page.body_sha256[..16]
            );
            let compressed =
                zstd::bulk::compress(body, 3).map_err(|e| PublishError::ObjectStore {
                    object: object.clone(),
                    reason: format!("compression failed: {e}"),
                })?;
            let store = self.object_store().await?;
            let mut reader: &[u8] = &compressed;
            let meta = jetstream::object_store::ObjectMetadata {
                name: object.clone(),
                chunk_size: Some(MAX_CHUNK.min(self.max_payload / 2).max(1024)),
                ..Default::default()
            };
            store
                .put(meta, &mut reader)
                .await
                .map_err(|e| PublishError::ObjectStore {
                    object: object.clone(),
                    reason: e.to_string(),
                })?;
            tracing::info!(doc_id = %page.doc_id, lang = %page.lang, bytes = body.len(), "page too large for one message: stored in the object store");
            page.body = Body::ObjectStore {
                bucket: LARGE_PAGE_BUCKET.to_string(),
                object,
                compression: Compression::Zstd,
            };
            json = serde_json::to_vec(&page)?;
        }
        Ok(publish_durable(
            &self.js,
            &subject,
            &page.msg_id(),
            Bytes::from(json),
            PUBLISH_ATTEMPTS,
        )
        .await?)
    }

    async fn object_store(&self) -> Result<&ObjectStore, PublishError> {
        self.store
            .get_or_try_init(|| async {
                match self.js.get_object_store(LARGE_PAGE_BUCKET).await {
                    Ok(store) => Ok(store),
                    Err(_) => self
                        .js
                        .create_object_store(jetstream::object_store::Config {
                            bucket: LARGE_PAGE_BUCKET.to_string(),
                            description: Some("Raw pages too large for one message".into()),
                            num_replicas: self.replicas.max(1),
                            ..Default::default()
                        })
                        .await
                        .map_err(|e| PublishError::ObjectStore {
                            object: String::new(),
                            reason: e.to_string(),
                        }),
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn raw_page_carries_hash_headers_and_hint() {
        let page = Page {
            url: url::Url::parse("http://127.0.0.1:1/en/foreign_policy/news/1950001/").unwrap(),
            status: 200,
            headers: BTreeMap::from([("etag".to_string(), "\"a\"".to_string())]),
            body: Bytes::from_static(b"<html>hello</html>"),
        };
        let hint = ListingHint {
            section: Some("rss".into()),
            ..Default::default()
        };
        let raw = raw_page(
            "mid.ru",
            "1950001",
            Lang::En,
            &page,
            Some(hint.clone()),
            Utc::now(),
        );
        assert_eq!(raw.body_sha256, hex_digest(b"<html>hello</html>"));
        assert_eq!(raw.body.decode_inline().unwrap(), b"<html>hello</html>");
        assert_eq!(raw.headers["etag"], "\"a\"");
        assert_eq!(raw.listing, Some(hint));
        assert_eq!(raw.source, "mid.ru");
        assert!(raw.msg_id().starts_with("raw:mid.ru:1950001:en:"));
    }
}
