//! The sink's batch handler for [`shared::consumer::run`]: decode, store (every version of an
//! id in one transaction), and report `Done` only after the commits.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use shared::SpeechRecord;
use shared::backoff::Backoff;
use shared::consumer::{BatchHandler, Delivery, Outcome};
use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError, StoreOutcome};

/// Counters of what storing did, registered as `sink_records_{inserted,new_version,unchanged}`.
#[derive(Debug, Clone, Default)]
pub struct SinkMetrics {
    /// Records stored for the first time.
    pub inserted: Counter,
    /// Records stored as a new version of a known id.
    pub new_version: Counter,
    /// Redeliveries of content already stored.
    pub unchanged: Counter,
}

impl SinkMetrics {
    /// Creates the counters and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = SinkMetrics::default();
        let sub = registry.sub_registry_with_prefix("sink_records");
        sub.register(
            "inserted",
            "Records stored for the first time",
            metrics.inserted.clone(),
        );
        sub.register(
            "new_version",
            "Records stored as a new version of a known id",
            metrics.new_version.clone(),
        );
        sub.register(
            "unchanged",
            "Records already stored with the same content",
            metrics.unchanged.clone(),
        );
        metrics
    }

    fn count(&self, outcomes: &[StoreOutcome]) {
        for outcome in outcomes {
            match outcome {
                StoreOutcome::Inserted => self.inserted.inc(),
                StoreOutcome::NewVersion => self.new_version.inc(),
                StoreOutcome::Unchanged => self.unchanged.inc(),
            };
        }
    }
}

/// Stores batches of speech records.
pub struct SinkHandler<S> {
    store: S,
    metrics: SinkMetrics,
    shutdown: CancellationToken,
}

impl<S: Store> SinkHandler<S> {
    /// A handler writing to `store`; `shutdown` ends its waits for the database.
    pub fn new(store: S, metrics: SinkMetrics, shutdown: CancellationToken) -> Self {
        SinkHandler {
            store,
            metrics,
            shutdown,
        }
    }

    /// Stores `records` ([`Store::store_batch`]). While the database is unreachable it waits and
    /// retries (logging "waiting for the database"); `None` when shutdown came first.
    /// Errors the same input would meet again are returned.
    async fn store_patiently(
        &self,
        records: &[SpeechRecord],
    ) -> Option<Result<Vec<StoreOutcome>, StoreError>> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        loop {
            match self.store.store_batch(records).await {
                Ok(outcomes) => return Some(Ok(outcomes)),
                Err(err) if err.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %err, records = records.len(), retry_in = ?delay, "waiting for the database: cannot store the batch yet");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

fn retry(reason: impl Into<String>) -> Outcome {
    Outcome::Retry {
        reason: reason.into(),
        delay: Duration::from_secs(5),
    }
}

impl<S: Store> BatchHandler for SinkHandler<S> {
    async fn handle(&self, batch: Vec<Delivery>) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let mut records = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (i, delivery) in batch.iter().enumerate() {
            match SpeechRecord::from_json(&delivery.payload) {
                Ok(record) => {
                    records.push(record);
                    positions.push(i);
                }
                Err(err) => {
                    outcomes[i] = Some(Outcome::Reject {
                        reason: err.to_string(),
                    })
                }
            }
        }
        if !records.is_empty() {
            match self.store_patiently(&records).await {
                Some(Ok(stored)) => {
                    self.metrics.count(&stored);
                    for &i in &positions {
                        outcomes[i] = Some(Outcome::Done);
                    }
                }
                None => {
                    for &i in &positions {
                        outcomes[i] = Some(retry("shutdown while waiting for the database"));
                    }
                }
                Some(Err(err)) => {
                    // One record may be at fault: store them one by one to find it.
                    tracing::warn!(error = %err, "batch not stored; storing its records one by one");
                    for (record, &i) in records.iter().zip(&positions) {
                        outcomes[i] = Some(
                            match self.store_patiently(std::slice::from_ref(record)).await {
                                Some(Ok(stored)) => {
                                    self.metrics.count(&stored);
                                    Outcome::Done
                                }
                                None => retry("shutdown while waiting for the database"),
                                Some(Err(err)) => {
                                    tracing::error!(id = %record.id, error = %err, "record not stored");
                                    retry(format!("record {} cannot be stored: {err}", record.id))
                                }
                            },
                        );
                    }
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| retry("not handled")))
            .collect()
    }
}
