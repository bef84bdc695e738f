//! The service: consume raw pages, extract records off the async threads, publish them.
//!
//! * Consumer `parser` on `RAW_PAGES` through [`shared::consumer::run`].
//! * Each page: [`RawPage::from_json`], body via [`shared::nats::raw_page_body`],
//!   [`crate::extract::extract`] in `spawn_blocking`, then [`publish_durable`] on
//!   `speeches.{source}.{lang}.{kind}` with the record's de-duplication id. `Done` only after
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
use shared::messages::{RawPage, SOURCE_MID_RU};
use shared::nats::{self, NatsError, publish_durable};
use shared::ops::{self, StageMetrics};
use shared::subjects::{self, speech_subject};
use tokio_util::sync::CancellationToken;

use crate::extract::{ExtractError, Extractor, PageInput};

/// Stage name in subjects, metrics and logs.
pub const STAGE: &str = "parser";

/// Labels of `parser_rejected_pages`.
pub type ReasonLabels = Vec<(String, String)>;

/// The parser's batch handler.
#[derive(Clone)]
pub struct Handler {
    js: jetstream::Context,
    extractor: Arc<Extractor>,
    rejected: Family<ReasonLabels, Counter>,
}

impl Handler {
    /// A handler publishing through `js`.
    pub fn new(
        js: jetstream::Context,
        extractor: Arc<Extractor>,
        rejected: Family<ReasonLabels, Counter>,
    ) -> Self {
        Handler {
            js,
            extractor,
            rejected,
        }
    }

    fn reject(&self, label: &str, reason: String) -> Outcome {
        self.rejected
            .get_or_create(&vec![("reason".to_string(), label.to_string())])
            .inc();
        Outcome::Reject { reason }
    }

    async fn handle_one(&self, delivery: Delivery) -> Outcome {
        let page = match RawPage::from_json(&delivery.payload) {
            Ok(page) => page,
            Err(e) => return self.reject("bad_payload", format!("bad raw page payload: {e}")),
        };
        let body = match nats::raw_page_body(&self.js, &page).await {
            Ok(body) => body,
            Err(NatsError::Message(e)) => {
                return self.reject(
                    "bad_body",
                    format!("raw page {} body unreadable: {e}", page.url),
                );
            }
            Err(e) => {
                return Outcome::Retry {
                    reason: format!("cannot read the body of {}: {e}", page.url),
                    delay: Duration::from_secs(2),
                };
            }
        };
        let extractor = Arc::clone(&self.extractor);
        let url = page.url.clone();
        let extracted = tokio::task::spawn_blocking(move || {
            let content_type = page.headers.get("content-type").map(String::as_str);
            extractor.extract(&PageInput {
                bytes: &body,
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
            Ok(Err(e)) => return self.reject(e.reason_label(), format!("{url}: {e}")),
            Err(join) => {
                // A panic in extraction is a bug; keep the page for a fixed parser.
                return self.reject("panic", format!("{url}: extraction failed: {join}"));
            }
        };
        let json = match serde_json::to_vec(&record) {
            Ok(json) => Bytes::from(json),
            Err(e) => return self.reject("encode", format!("{url}: cannot encode record: {e}")),
        };
        let subject = speech_subject(&record.source, record.lang, record.kind);
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

/// Runs the service until `shutdown` fires, then drains the connection.
pub async fn run(
    common: &CommonArgs,
    extractor: Arc<Extractor>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let client = nats::connect(&common.nats_url, "parser", &shutdown).await?;
    let js = jetstream::new(client.clone());
    nats::ensure_streams(&js, common.stream_replicas, &shutdown).await?;
    let consumer = nats::ensure_consumer(&js, &subjects::PARSER, &shutdown).await?;

    let mut registry = MetricsRegistry::default();
    let metrics = StageMetrics::register(&mut registry, STAGE);
    let rejected = Family::<ReasonLabels, Counter>::default();
    registry.register(
        "parser_rejected_pages",
        "Pages that gave no record, by reason",
        rejected.clone(),
    );
    let registry = Arc::new(registry);

    let mut ops_task = None;
    if let Some(addr) = common.metrics_listen {
        let (ready_client, ready_js) = (client.clone(), js.clone());
        let readiness: ops::ReadinessCheck = Arc::new(move || {
            let (client, js) = (ready_client.clone(), ready_js.clone());
            Box::pin(async move { nats::streams_reachable(&client, &js).await })
        });
        let app = ops::router(Arc::clone(&registry), readiness);
        ops_task = Some(tokio::spawn(ops::serve(addr, app, shutdown.clone())));
    }

    let stage = Stage {
        js: js.clone(),
        consumer,
        spec: subjects::PARSER,
        name: STAGE,
        source: SOURCE_MID_RU.to_string(),
        metrics,
    };
    let handler = Handler::new(js, extractor, rejected);
    tracing::info!(nats_url = %common.nats_url, "parser running");
    consumer::run(&stage, &handler, &shutdown).await;
    if let Err(e) = client.drain().await {
        tracing::warn!(error = %e, "draining the NATS connection failed");
    }
    if let Some(task) = ops_task {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) => tracing::warn!(error = %e, "ops server task failed"),
        }
    }
    Ok(())
}
