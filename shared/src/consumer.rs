//! The one pull-consumer loop: fetch a batch, let the service handle it, then ack, nak or
//! dead-letter each message. A message is acked only after the handler says its effect is
//! durable; on shutdown the loop stops fetching, finishes the batch in hand, and returns.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::messages::{DEAD_LETTER_SCHEMA_VERSION, DeadLetter};
use crate::nats::publish_durable;
use crate::ops::StageMetrics;
use crate::subjects::{ConsumerSpec, dead_letter_subject_for};

/// How often the consumer's pending count is refreshed for the `consumer_pending` gauge.
const PENDING_REFRESH: Duration = Duration::from_secs(2);

/// One delivered message, detached from the client so handlers can move it to threads.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Subject it was published on.
    pub subject: String,
    /// Payload bytes.
    pub payload: Bytes,
    /// Times delivered so far, this one included.
    pub delivered: i64,
    /// Sequence in the stream.
    pub stream_sequence: u64,
}

/// What the handler decided for one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its effect is durable: acknowledge it.
    Done,
    /// A transient failure: deliver it again after `delay` (dead-lettered once the
    /// consumer's maximum deliveries are used up).
    Retry {
        /// Why it failed.
        reason: String,
        /// Wait before redelivery.
        delay: Duration,
    },
    /// It can never succeed (malformed, not a statement): dead-letter it now.
    Reject {
        /// Why.
        reason: String,
    },
}

/// A service's batch handler. It returns one outcome per delivery, in order.
pub trait BatchHandler: Send + Sync {
    /// Handles a batch; must return exactly `batch.len()` outcomes.
    fn handle(&self, batch: Vec<Delivery>) -> impl Future<Output = Vec<Outcome>> + Send;
}

/// Where a stage consumes from and reports to.
#[derive(Clone)]
pub struct Stage {
    /// JetStream context (for dead letters).
    pub js: jetstream::Context,
    /// The durable consumer.
    pub consumer: PullConsumer,
    /// Its definition.
    pub spec: ConsumerSpec,
    /// Stage name, used in dead-letter subjects and logs (`parser`, `sink`).
    pub name: &'static str,
    /// The stage's metrics.
    pub metrics: StageMetrics,
}

/// Runs the consumer until `shutdown` fires. Fetch errors (NATS down) are retried with
/// backoff and logged; they never end the loop.
pub async fn run<H: BatchHandler>(stage_ctx: &Stage, handler: &H, shutdown: &CancellationToken) {
    let Stage {
        consumer,
        spec,
        name: stage,
        metrics,
        ..
    } = stage_ctx;
    let stage = *stage;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    let mut pending_checked: Option<Instant> = None;
    while !shutdown.is_cancelled() {
        if pending_checked.is_none_or(|at| at.elapsed() >= PENDING_REFRESH) {
            pending_checked = Some(Instant::now());
            if let Ok(info) = consumer.get_info().await {
                metrics
                    .consumer_pending
                    .set(i64::try_from(info.num_pending).unwrap_or(i64::MAX));
            }
        }
        let fetched = tokio::select! {
            _ = shutdown.cancelled() => break,
            fetched = fetch_batch(consumer, spec.batch) => fetched,
        };
        let messages = match fetched {
            Ok(messages) => {
                backoff.reset();
                messages
            }
            Err(err) => {
                let delay = backoff.next_delay();
                tracing::warn!(stage, error = %err, retry_in = ?delay, "waiting for NATS: cannot fetch from the {} consumer", spec.durable);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        if messages.is_empty() {
            continue;
        }
        let deliveries: Vec<Delivery> = messages
            .iter()
            .map(|m| {
                let info = m.info().ok();
                Delivery {
                    subject: m.subject.to_string(),
                    payload: m.payload.clone(),
                    delivered: info.as_ref().map_or(1, |i| i.delivered),
                    stream_sequence: info.as_ref().map_or(0, |i| i.stream_sequence),
                }
            })
            .collect();
        let started = Instant::now();
        let count = deliveries.len();
        let mut outcomes = handler.handle(deliveries.clone()).await;
        metrics.observe_batch(started.elapsed(), count);
        if outcomes.len() != count {
            tracing::error!(
                stage,
                "handler returned {} outcomes for {count} messages; redelivering the batch",
                outcomes.len()
            );
            outcomes = vec![
                Outcome::Retry {
                    reason: "handler outcome count mismatch".into(),
                    delay: Duration::from_secs(1),
                };
                count
            ];
        }
        for ((message, delivery), outcome) in messages.iter().zip(&deliveries).zip(outcomes) {
            settle(stage_ctx, message, delivery, outcome).await;
        }
    }
    tracing::info!(stage, "consumer stopped");
}

async fn fetch_batch(
    consumer: &PullConsumer,
    max: usize,
) -> Result<Vec<jetstream::Message>, Box<dyn std::error::Error + Send + Sync>> {
    let mut stream = consumer
        .fetch()
        .max_messages(max)
        .expires(Duration::from_secs(1))
        .messages()
        .await?;
    let mut out = Vec::with_capacity(max);
    while let Some(message) = stream.next().await {
        out.push(message?);
    }
    Ok(out)
}

async fn settle(
    stage_ctx: &Stage,
    message: &jetstream::Message,
    delivery: &Delivery,
    outcome: Outcome,
) {
    let Stage {
        js,
        spec,
        name: stage,
        metrics,
        ..
    } = stage_ctx;
    let stage = *stage;
    let reason = match outcome {
        Outcome::Done => {
            metrics.processed.inc();
            if let Err(err) = message.ack().await {
                tracing::warn!(stage, seq = delivery.stream_sequence, error = %err, "ack lost; the message will be redelivered and de-duplicated downstream");
            }
            return;
        }
        Outcome::Retry { reason, delay } if delivery.delivered < spec.max_deliver => {
            metrics.failed.inc();
            tracing::warn!(stage, seq = delivery.stream_sequence, delivered = delivery.delivered, %reason, retry_in = ?delay, "will retry");
            if let Err(err) = message.ack_with(AckKind::Nak(Some(delay))).await {
                tracing::warn!(stage, error = %err, "nak lost; redelivery after ack_wait");
            }
            return;
        }
        Outcome::Retry { reason, .. } => {
            format!("gave up after {} deliveries: {reason}", delivery.delivered)
        }
        Outcome::Reject { reason } => reason,
    };
    metrics.failed.inc();
    let letter = DeadLetter {
        schema_version: DEAD_LETTER_SCHEMA_VERSION,
        stage: stage.to_string(),
        reason: reason.clone(),
        subject: delivery.subject.clone(),
        stream_sequence: Some(delivery.stream_sequence),
        deliveries: delivery.delivered.max(0) as u64,
        failed_at: chrono::Utc::now(),
        payload: base64::engine::general_purpose::STANDARD.encode(&delivery.payload),
    };
    let payload = match serde_json::to_vec(&letter) {
        Ok(p) => Bytes::from(p),
        Err(err) => {
            tracing::error!(stage, error = %err, "cannot encode dead letter; leaving the message for redelivery");
            return;
        }
    };
    let msg_id = format!("dead:{stage}:{}:{}", spec.stream, delivery.stream_sequence);
    match publish_durable(
        js,
        &dead_letter_subject_for(stage, &delivery.subject),
        &msg_id,
        payload,
        5,
    )
    .await
    {
        Ok(_) => {
            metrics.dead_lettered.inc();
            tracing::warn!(stage, seq = delivery.stream_sequence, subject = %delivery.subject, %reason, "dead-lettered");
            if let Err(err) = message.ack_with(AckKind::Term).await {
                tracing::warn!(stage, error = %err, "term lost; the message will be redelivered and dead-lettered again (de-duplicated)");
            }
        }
        Err(err) => {
            tracing::error!(stage, error = %err, "dead letter not stored; the message stays for redelivery");
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                .await;
        }
    }
}
