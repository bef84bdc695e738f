//! The service: consume raw pages, extract records off the async threads, publish them.
//!
//! * Consumer `parser` on `RAW_PAGES` through [`shared::consumer::run`].
//! * Each page: [`RawPage::from_json`], body via [`shared::nats::raw_page_body`],
//!   [`crate::extract::extract`] in `spawn_blocking`, then [`publish_durable`] on
//!   `speeches.{token}.{lang}.{kind}` (the token of the page's source profile) with the
//!   record's de-duplication id. `Done` only after
//!   the publish is acknowledged.
//! * Bad payloads, challenge pages and non-statements are rejected (dead letter with the
//!   reason, counted in `parser_dead_lettered` and `parser_rejected_pages{reason}`); NATS
//!   failures are retried.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry as MetricsRegistry;
use shared::config::CommonArgs;
use shared::consumer::{self, BatchHandler, Delivery, Outcome, Stage};
use shared::messages::{Body, Compression, MAX_DECODED_BODY, RawPage};
use shared::nats::{self, NatsError, publish_durable};
use shared::ops::{self, StageMetrics};
use shared::subjects::{self, speech_subject};
use tokio_util::sync::CancellationToken;

use crate::extract::{ExtractError, Extractor, PageInput};

/// Stage name in subjects, metrics and logs.
pub const STAGE: &str = "parser";

/// Labels of `parser_rejected_pages`.
pub type ReasonLabels = Vec<(String, String)>;

/// Default cap on the size of a page body the parser accepts (`--max-page-bytes`): 16 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// Why a raw page gave no publishable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageFailure {
    /// It can never succeed: dead-letter it now.
    Permanent {
        /// Short label for `parser_rejected_pages{reason}`.
        label: String,
        /// Why, for the dead letter and the operator.
        reason: String,
    },
    /// A transient failure (NATS): try again later.
    Transient {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for PageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageFailure::Permanent { reason, .. } | PageFailure::Transient { reason } => {
                f.write_str(reason)
            }
        }
    }
}

/// A record ready to publish: its subject, de-duplication id and encoded JSON.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The record.
    pub record: shared::SpeechRecord,
    /// `speeches.{source}.{lang}.{kind}`.
    pub subject: String,
    /// The record's JSON.
    pub json: Bytes,
}

/// Refuses a page body larger than `max_page_bytes` (pure).
pub fn check_page_size(len: usize, max_page_bytes: usize) -> Result<(), PageFailure> {
    if len > max_page_bytes {
        return Err(PageFailure::Permanent {
            label: "too_large".into(),
            reason: format!(
                "page is {len} bytes, over --max-page-bytes {max_page_bytes}; raise --max-page-bytes and replay the dead letter if the page is genuine"
            ),
        });
    }
    Ok(())
}

/// Refuses a record larger than the server's maximum payload (pure): republishing cannot
/// make it fit, so it is permanent.
pub fn check_record_size(len: usize, max_payload: usize) -> Result<(), PageFailure> {
    if max_payload > 0 && len > max_payload {
        return Err(PageFailure::Permanent {
            label: "record_too_large".into(),
            reason: format!(
                "record is {len} bytes, over the NATS max payload {max_payload}; raise max_payload in the nats-server configuration and replay the dead letter"
            ),
        });
    }
    Ok(())
}

/// Decodes an inline body, reading at most `max_page_bytes + 1` decompressed bytes so a
/// compression bomb or a huge page never costs more memory than the cap (pure).
pub fn decode_inline_capped(
    compression: Compression,
    data: &str,
    max_page_bytes: usize,
) -> Result<Vec<u8>, PageFailure> {
    use base64::Engine as _;
    use std::io::Read as _;
    let bad_body = |what: String| PageFailure::Permanent {
        label: "bad_body".into(),
        reason: format!("raw page body unreadable: {what}"),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| bad_body(format!("invalid base64: {e}")))?;
    match compression {
        Compression::None => {
            check_page_size(bytes.len(), max_page_bytes)?;
            Ok(bytes)
        }
        Compression::Zstd => {
            // The frame header usually declares the size: refuse before decompressing.
            if let Ok(Some(declared)) = zstd::zstd_safe::get_frame_content_size(&bytes) {
                check_page_size(
                    usize::try_from(declared).unwrap_or(usize::MAX),
                    max_page_bytes,
                )?;
            }
            let decoder = zstd::stream::read::Decoder::new(bytes.as_slice())
                .map_err(|e| bad_body(format!("zstd: {e}")))?;
            let limit = max_page_bytes.min(MAX_DECODED_BODY);
            let mut out = Vec::new();
            decoder
                .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| bad_body(format!("zstd: {e}")))?;
            if out.len() > limit {
                return Err(PageFailure::Permanent {
                    label: "too_large".into(),
                    reason: format!(
                        "page is more than {limit} bytes, over --max-page-bytes {max_page_bytes}; raise --max-page-bytes and replay the dead letter if the page is genuine"
                    ),
                });
            }
            Ok(out)
        }
    }
}

/// Turns one raw-page message into an encoded record: decode, read the body (inline or
/// object store), check its size, extract off the async threads, encode, check the size.
pub async fn process_page(
    js: &jetstream::Context,
    extractor: &Arc<Extractor>,
    payload: &[u8],
    max_page_bytes: usize,
    max_payload: usize,
) -> Result<Encoded, PageFailure> {
    let page = RawPage::from_json(payload).map_err(|e| PageFailure::Permanent {
        label: "bad_payload".into(),
        reason: format!("bad raw page payload: {e}"),
    })?;
    let body = match &page.body {
        Body::Inline { compression, data } => {
            decode_inline_capped(*compression, data, max_page_bytes)
        }
        Body::ObjectStore { .. } => match nats::raw_page_body(js, &page).await {
            Ok(body) => Ok(body),
            Err(NatsError::Message(e)) => Err(PageFailure::Permanent {
                label: "bad_body".into(),
                reason: format!("raw page body unreadable: {e}"),
            }),
            Err(e) => {
                return Err(PageFailure::Transient {
                    reason: format!("cannot read the body of {}: {e}", page.url),
                });
            }
        },
    };
    let body = body
        .and_then(|body| check_page_size(body.len(), max_page_bytes).map(|()| body))
        .map_err(|failure| match failure {
            PageFailure::Permanent { label, reason } => PageFailure::Permanent {
                label,
                reason: format!("{}: {reason}", page.url),
            },
            other => other,
        })?;
    let shared_extractor = Arc::clone(extractor);
    let url = page.url.clone();
    let extracted = tokio::task::spawn_blocking(move || {
        let extractor = shared_extractor;
        let content_type = page.headers.get("content-type").map(String::as_str);
        extractor.extract(&PageInput {
            bytes: &body,
            source: Some(&page.source),
            url: None,
            fetch_url: Some(&page.url),
            content_type,
            fetched_at: page.fetched_at,
            listing: page.listing.as_ref(),
            lang: Some(page.lang),
        })
    })
    .await;
    let record = match extracted {
        Ok(Ok(record)) => record,
        Ok(Err(e)) => {
            return Err(PageFailure::Permanent {
                label: e.reason_label().to_string(),
                reason: format!("{url}: {e}"),
            });
        }
        Err(join) => {
            // A panic in extraction is a bug; keep the page for a fixed parser.
            return Err(PageFailure::Permanent {
                label: "panic".into(),
                reason: format!("{url}: extraction failed: {join}"),
            });
        }
    };
    let json = serde_json::to_vec(&record).map_err(|e| PageFailure::Permanent {
        label: "encode".into(),
        reason: format!("{url}: cannot encode record: {e}"),
    })?;
    check_record_size(json.len(), max_payload).map_err(|failure| match failure {
        PageFailure::Permanent { label, reason } => PageFailure::Permanent {
            label,
            reason: format!("{url}: {reason}"),
        },
        other => other,
    })?;
    // The subject token is the profile's (`mid_ru`).
    let subject = match extractor.source(&record.source) {
        Some(source) => source.profile().speech_subject(record.lang, record.kind),
        None => speech_subject(&record.source, record.lang, record.kind),
    };
    Ok(Encoded {
        record,
        subject,
        json: Bytes::from(json),
    })
}

/// The parser's batch handler.
#[derive(Clone)]
pub struct Handler {
    js: jetstream::Context,
    extractor: Arc<Extractor>,
    rejected: Family<ReasonLabels, Counter>,
    max_page_bytes: usize,
    max_payload: usize,
}

impl Handler {
    /// A handler publishing through `js`, with [`DEFAULT_MAX_PAGE_BYTES`] and no record
    /// size check (see [`Handler::with_limits`]).
    pub fn new(
        js: jetstream::Context,
        extractor: Arc<Extractor>,
        rejected: Family<ReasonLabels, Counter>,
    ) -> Self {
        Handler {
            js,
            extractor,
            rejected,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            max_payload: 0,
        }
    }

    /// Sets the page size cap and the server's maximum payload (0: unchecked).
    pub fn with_limits(mut self, max_page_bytes: usize, max_payload: usize) -> Self {
        self.max_page_bytes = max_page_bytes;
        self.max_payload = max_payload;
        self
    }

    fn reject(&self, label: &str, reason: String) -> Outcome {
        self.rejected
            .get_or_create(&vec![("reason".to_string(), label.to_string())])
            .inc();
        Outcome::Reject { reason }
    }

    async fn handle_one(&self, delivery: Delivery) -> Outcome {
        let encoded = match process_page(
            &self.js,
            &self.extractor,
            &delivery.payload,
            self.max_page_bytes,
            self.max_payload,
        )
        .await
        {
            Ok(encoded) => encoded,
            Err(PageFailure::Permanent { label, reason }) => return self.reject(&label, reason),
            Err(PageFailure::Transient { reason }) => {
                return Outcome::Retry {
                    reason,
                    delay: Duration::from_secs(2),
                };
            }
        };
        let Encoded {
            record,
            subject,
            json,
        } = encoded;
        match publish_durable(&self.js, &subject, &record.msg_id(), json, 3).await {
            Ok(duplicate) => {
                tracing::debug!(id = %record.id, %subject, duplicate, "record published");
                Outcome::Done
            }
            Err(e) => Outcome::Retry {
                reason: e.to_string(),
                delay: Duration::from_secs(2),
            },
        }
    }
}

impl BatchHandler for Handler {
    async fn handle(&self, batch: Vec<Delivery>) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for delivery in batch {
            outcomes.push(self.handle_one(delivery).await);
        }
        outcomes
    }
}

/// Whether an error is an [`ExtractError`] a retry cannot fix (all of them).
pub fn is_permanent(_: &ExtractError) -> bool {
    true
}

/// Runs the service until `shutdown` fires, then drains the connection
/// (with [`DEFAULT_MAX_PAGE_BYTES`]; see [`run_with_limits`]).
pub async fn run(
    common: &CommonArgs,
    extractor: Arc<Extractor>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with_limits(common, extractor, DEFAULT_MAX_PAGE_BYTES, shutdown).await
}

/// Runs the service until `shutdown` fires, refusing page bodies over `max_page_bytes` and
/// records over the server's maximum payload; then drains the connection.
pub async fn run_with_limits(
    common: &CommonArgs,
    extractor: Arc<Extractor>,
    max_page_bytes: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut registry = MetricsRegistry::default();
    let metrics = StageMetrics::register(&mut registry, STAGE);
    let rejected = Family::<ReasonLabels, Counter>::default();
    registry.register(
        "parser_rejected_pages",
        "Pages that gave no record, by reason",
        rejected.clone(),
    );
    // Health first: /healthz answers while NATS is still awaited.
    let handle = nats::NatsHandle::new();
    let readiness = ops::readiness(vec![("nats", handle.readiness())]);
    let ops_task = ops::spawn(
        common.metrics_listen,
        Arc::new(registry),
        readiness,
        shutdown.clone(),
    );

    let set_up = async {
        let client =
            nats::connect(&common.nats_url, &common.nats_auth, "parser", &shutdown).await?;
        let js = jetstream::new(client.clone());
        nats::ensure_streams(&js, common.stream_replicas, &shutdown).await?;
        let consumer = nats::ensure_consumer(&js, &subjects::PARSER, &shutdown).await?;
        Ok::<_, nats::NatsError>((client, js, consumer))
    };
    let (client, js, consumer) = match set_up.await {
        Ok(set_up) => set_up,
        // Stopped before it could start: nothing taken, nothing to finish.
        Err(nats::NatsError::Cancelled) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    handle.set(client.clone());

    let stage = Stage {
        js: js.clone(),
        consumer,
        spec: subjects::PARSER,
        name: STAGE,
        metrics,
    };
    let max_payload = client.server_info().max_payload;
    let handler = Handler::new(js, extractor, rejected).with_limits(max_page_bytes, max_payload);
    tracing::info!(nats_url = %shared::config::redact_url(&common.nats_url), max_page_bytes, max_payload, "parser running");
    consumer::run(&stage, &handler, &shutdown).await;
    if let Err(e) = client.drain().await {
        tracing::warn!(error = %e, "draining the NATS connection failed");
    }
    if let Some(task) = ops_task
        && let Err(e) = task.await
    {
        tracing::warn!(error = %e, "ops server task failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_bodies_decode_within_the_cap() {
        let page = "<p>statement</p>".repeat(1000);
        let Body::Inline { compression, data } = Body::inline_zstd(page.as_bytes()) else {
            panic!("inline body expected");
        };
        assert_eq!(compression, Compression::Zstd);
        assert_eq!(
            decode_inline_capped(compression, &data, page.len()),
            Ok(page.clone().into_bytes())
        );
        // The declared frame size refuses it before decompressing.
        let refused = decode_inline_capped(compression, &data, 100).expect_err("over the cap");
        assert!(
            refused.to_string().starts_with(&format!(
                "page is {} bytes, over --max-page-bytes 100",
                page.len()
            )),
            "{refused}"
        );
        // A frame without a declared size is cut at the cap while decompressing.
        let mut streamed = Vec::new();
        {
            use std::io::Write as _;
            let mut encoder = zstd::stream::write::Encoder::new(&mut streamed, 3).expect("encoder");
            encoder.write_all(page.as_bytes()).expect("compress");
            encoder.finish().expect("finish");
        }
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(&streamed);
        let refused = decode_inline_capped(Compression::Zstd, &data, 100).expect_err("cut");
        assert!(
            refused
                .to_string()
                .starts_with("page is more than 100 bytes"),
            "{refused}"
        );
        let plain = base64::engine::general_purpose::STANDARD.encode("abc");
        assert!(decode_inline_capped(Compression::None, &plain, 2).is_err());
        assert_eq!(
            decode_inline_capped(Compression::None, &plain, 3),
            Ok(b"abc".to_vec())
        );
        let junk = decode_inline_capped(Compression::None, "!!", 3).expect_err("junk");
        assert!(matches!(junk, PageFailure::Permanent { ref label, .. } if label == "bad_body"));
    }

    #[test]
    fn oversize_pages_and_records_are_permanent_failures() {
        assert_eq!(check_page_size(16, 16), Ok(()));
        match check_page_size(17, 16) {
            Err(PageFailure::Permanent { label, reason }) => {
                assert_eq!(label, "too_large");
                assert!(
                    reason.starts_with("page is 17 bytes, over --max-page-bytes 16"),
                    "{reason}"
                );
            }
            other => panic!("expected a permanent failure, got {other:?}"),
        }
        assert_eq!(check_record_size(1 << 30, 0), Ok(()), "0: unchecked");
        assert_eq!(check_record_size(1024, 1024), Ok(()));
        let failure = check_record_size(2048, 1024).expect_err("too large");
        assert!(matches!(failure, PageFailure::Permanent { .. }));
        assert!(
            failure
                .to_string()
                .starts_with("record is 2048 bytes, over the NATS max payload 1024"),
            "{failure}"
        );
    }
}
