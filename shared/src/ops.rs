//! Operations endpoints (`/healthz`, `/readyz`, `/metrics`) and the metrics every stage has.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// A readiness check: `Ok` when the service can do its work, else what is missing.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// How long one dependency may take to answer a readiness check before it counts as down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// One readiness check made of named dependency checks (`nats`, `database`): all of them run
/// at once, each within [`CHECK_TIMEOUT`], and the answer names every dependency that is down
/// (`nats: not connected; database: ...`). Messages must carry no secret: they are served.
pub fn readiness(dependencies: Vec<(&'static str, ReadinessCheck)>) -> ReadinessCheck {
    let dependencies = Arc::new(dependencies);
    Arc::new(move || {
        let dependencies = Arc::clone(&dependencies);
        Box::pin(async move {
            let checks = dependencies.iter().map(|(name, check)| async move {
                match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                    Ok(Ok(())) => None,
                    Ok(Err(why)) => Some(format!("{name}: {why}")),
                    Err(_) => Some(format!(
                        "{name}: no answer within {} s",
                        CHECK_TIMEOUT.as_secs()
                    )),
                }
            });
            let down: Vec<String> = futures_util::future::join_all(checks)
                .await
                .into_iter()
                .flatten()
                .collect();
            if down.is_empty() {
                Ok(())
            } else {
                Err(down.join("; "))
            }
        })
    })
}

/// Counters and histograms of one pipeline stage, registered under `{stage}_...`.
#[derive(Clone, Debug)]
pub struct StageMetrics {
    /// Messages whose effect became durable.
    pub processed: Counter,
    /// Messages that failed (retried or dead-lettered).
    pub failed: Counter,
    /// Messages sent to the dead-letter stream.
    pub dead_lettered: Counter,
    /// Messages waiting in the stage's consumer.
    pub consumer_pending: Gauge,
    /// Seconds per handled batch.
    pub batch_seconds: Histogram,
    /// Messages per handled batch.
    pub batch_size: Histogram,
}

impl StageMetrics {
    /// Creates the metrics and registers them in `registry` with the prefix `stage`.
    pub fn register(registry: &mut Registry, stage: &str) -> Self {
        let metrics = StageMetrics {
            processed: Counter::default(),
            failed: Counter::default(),
            dead_lettered: Counter::default(),
            consumer_pending: Gauge::default(),
            batch_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
        };
        let sub = registry.sub_registry_with_prefix(stage);
        sub.register(
            "processed",
            "Messages whose effect is durable",
            metrics.processed.clone(),
        );
        sub.register(
            "failed",
            "Messages that failed (retried or dead-lettered)",
            metrics.failed.clone(),
        );
        sub.register(
            "dead_lettered",
            "Messages sent to the dead-letter stream",
            metrics.dead_lettered.clone(),
        );
        sub.register(
            "consumer_pending",
            "Messages waiting in the consumer",
            metrics.consumer_pending.clone(),
        );
        sub.register(
            "batch_seconds",
            "Time to handle one batch",
            metrics.batch_seconds.clone(),
        );
        sub.register(
            "batch_size",
            "Messages per batch",
            metrics.batch_size.clone(),
        );
        metrics
    }

    /// Records one handled batch.
    pub fn observe_batch(&self, elapsed: Duration, size: usize) {
        self.batch_seconds.observe(elapsed.as_secs_f64());
        self.batch_size.observe(size as f64);
    }
}

#[derive(Clone)]
struct OpsState {
    registry: Arc<Registry>,
    readiness: ReadinessCheck,
}

/// The `/healthz`, `/readyz` and `/metrics` routes, to serve alone or merge into an API.
///
/// `/healthz` answers 200 as long as the process serves HTTP: it never looks at NATS or the
/// database, so an orchestrator does not restart every service during an outage of either.
/// `/readyz` answers 200 when `readiness` passes, else 503 naming what is down.
pub fn router(registry: Arc<Registry>, readiness: ReadinessCheck) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(OpsState {
            registry,
            readiness,
        })
}

async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    match (state.readiness)().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let mut body = String::new();
    match encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        ),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("cannot encode metrics: {err}"),
        ),
    }
}

/// Serves the operations routes on `addr` (when set) in a task, until `shutdown` fires. Call
/// it before connecting to NATS or the database, so `/healthz` answers from the start; a
/// failure to listen is logged and ends only this task.
pub fn spawn(
    addr: Option<SocketAddr>,
    registry: Arc<Registry>,
    readiness: ReadinessCheck,
    shutdown: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let addr = addr?;
    let app = router(registry, readiness);
    Some(tokio::spawn(async move {
        if let Err(err) = serve(addr, app, shutdown).await {
            tracing::error!(error = %err, "the /healthz, /readyz and /metrics endpoint stopped");
        }
    }))
}

/// Binds `addr` and serves `app` until `shutdown` fires.
pub async fn serve(
    addr: SocketAddr,
    app: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {addr}: {e}; choose another address or stop what uses it")
    })?;
    tracing::info!(%addr, "serving HTTP");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// The `healthcheck` subcommand of every binary: GETs `http://{addr}/healthz` and succeeds
/// on 200. Works in images without a shell or curl (Docker HEALTHCHECK, Kubernetes exec).
pub async fn healthcheck(addr: SocketAddr) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = tokio::time::timeout(Duration::from_secs(5), probe)
        .await
        .map_err(|_| anyhow::anyhow!("no answer from http://{addr}/healthz within 5 s"))?
        .map_err(|e| anyhow::anyhow!("cannot reach http://{addr}/healthz: {e}"))?;
    if head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200") {
        Ok(())
    } else {
        anyhow::bail!(
            "http://{addr}/healthz answered {:?}",
            String::from_utf8_lossy(&head)
        )
    }
}
