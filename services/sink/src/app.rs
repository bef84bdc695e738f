//! Command line and the running service: database, HTTP API, NATS consumer, shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tower::ServiceExt as _;

use async_nats::jetstream;
use clap::{Args, Parser, Subcommand};
use prometheus_client::registry::Registry;
use shared::config::CommonArgs;
use shared::consumer::Stage;
use shared::nats::NatsHandle;
use shared::ops::{ReadinessCheck, StageMetrics};
use shared::subjects;
use tokio_util::sync::CancellationToken;

use crate::consumer::{SinkHandler, SinkMetrics};
use crate::store::{AnyStore, DEFAULT_DATABASE_URL, Store, redact_url};

/// `sink`: stores speech records and serves them over HTTP.
#[derive(Debug, Parser)]
#[command(name = "sink", version, about)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags every service shares.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The sink's own flags.
    #[command(flatten)]
    pub sink: SinkArgs,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Consume records from NATS, store them, serve the HTTP API (the default).
    Run,
    /// Exit 0 when the running sink answers GET /healthz on --listen.
    Healthcheck,
    /// Export the archive for research: Parquet, JSON Lines, TEI, language pairs, or a
    /// dataset release (reads the database of --database-url directly).
    Export(Box<crate::export::cli::ExportArgs>),
}

/// The sink's flags.
#[derive(Debug, Clone, Args)]
pub struct SinkArgs {
    /// The database: sqlite://PATH (created on first run) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// File holding the database URL (it carries the password): wins over --database-url.
    #[arg(long, env = "DATABASE_URL_FILE", value_name = "FILE", global = true)]
    pub database_url_file: Option<PathBuf>,
    /// Address of the HTTP API (and /healthz, /readyz, /metrics).
    #[arg(
        long,
        env = "SINK_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,
    /// The API's limits: timeout, concurrency, CORS.
    #[command(flatten)]
    pub limits: crate::limits::ApiLimits,
    /// What the API caches while nothing new is stored.
    #[command(flatten)]
    pub caches: crate::api::CacheSizes,
}

impl SinkArgs {
    /// The database URL: the contents of --database-url-file when given, else --database-url.
    /// An error names the file, never its contents.
    pub fn resolved_database_url(&self) -> Result<String, String> {
        match &self.database_url_file {
            Some(path) => shared::config::read_secret_file("--database-url-file", path),
            None => Ok(self.database_url.clone()),
        }
    }
}

type StoreSlot = Arc<OnceLock<AnyStore>>;

fn readiness(store: StoreSlot, nats: &NatsHandle) -> ReadinessCheck {
    let database: ReadinessCheck = Arc::new(move || {
        let store = store.get().cloned();
        Box::pin(async move {
            match store {
                Some(store) => store.ping().await.map_err(|e| e.to_string()),
                None => Err("not open yet".to_string()),
            }
        })
    });
    shared::ops::readiness(vec![("database", database), ("nats", nats.readiness())])
}

/// The sink's HTTP app from its first second: the operations routes answer at once, and the
/// API (`api`, set once the database is open) answers 503 until then.
fn http_app(api: Arc<OnceLock<Router>>, registry: Arc<Registry>, ready: ReadinessCheck) -> Router {
    shared::ops::router(registry, ready).fallback(move |request: Request| {
        let api = api.get().cloned();
        async move {
            match api {
                Some(app) => match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                None => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "5")],
                    axum::Json(serde_json::json!({
                        "error": "the database is not open yet; try again shortly"
                    })),
                )
                    .into_response(),
            }
        }
    })
}

/// Runs the sink until `shutdown` fires: opens (and migrates) the database, waiting for it
/// if needed; serves the API; consumes `SPEECHES` through the durable `sink` consumer.
pub async fn run(
    common: &CommonArgs,
    args: &SinkArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let stage_metrics = StageMetrics::register(&mut registry, "sink");
    let sink_metrics = SinkMetrics::register(&mut registry);
    let registry = Arc::new(registry);
    let nats = NatsHandle::new();
    let store_slot: StoreSlot = Arc::new(OnceLock::new());
    let ready = readiness(store_slot.clone(), &nats);

    // HTTP first, so health checks answer while the database and NATS are awaited.
    let api = Arc::new(OnceLock::new());
    let app = crate::limits::harden(
        http_app(api.clone(), registry.clone(), ready.clone()),
        &args.limits,
    )
    .map_err(anyhow::Error::msg)?;
    let http_shutdown = shutdown.clone();
    let listen = args.listen;
    let http = tokio::spawn(async move {
        let served = shared::ops::serve(listen, app, http_shutdown.clone()).await;
        if served.is_err() {
            // Without its API the sink is of no use: stop everything.
            http_shutdown.cancel();
        }
        served
    });

    let ops = shared::ops::spawn(
        common.metrics_listen,
        registry.clone(),
        ready.clone(),
        shutdown.clone(),
    );

    let database_url = match args.resolved_database_url() {
        Ok(url) => url,
        Err(err) => {
            shutdown.cancel();
            let _ = http.await;
            return Err(anyhow::anyhow!(err));
        }
    };
    tracing::info!(database = %redact_url(&database_url), "opening the database");
    let store = match AnyStore::open_with_retry(&database_url, &shutdown).await {
        Ok(Some(store)) => store,
        Ok(None) => return finish_http(http).await,
        Err(err) => {
            shutdown.cancel();
            let _ = http.await;
            return Err(err.into());
        }
    };
    tracing::info!(kind = store.kind(), "database ready (migrations applied)");
    let _ = store_slot.set(store.clone());
    let _ = api.set(
        crate::api::app(store.clone(), registry.clone(), ready.clone(), args.caches)
            .merge(crate::web::routes(store.clone(), shutdown.clone())),
    );

    let consumed = consume(
        common,
        &store,
        stage_metrics,
        sink_metrics,
        &nats,
        &shutdown,
    )
    .await;
    // The consumer has returned (shutdown, or a fatal NATS error): stop HTTP too.
    shutdown.cancel();
    let served = finish_http(http).await;
    if let Some(ops) = ops
        && let Err(err) = ops.await
    {
        tracing::warn!(error = %err, "metrics server task failed");
    }
    if let Some(client) = nats.get()
        && let Err(err) = client.drain().await
    {
        tracing::warn!(error = %err, "NATS drain failed");
    }
    store.close().await;
    tracing::info!("sink stopped");
    consumed.and(served)
}

/// Waits for the HTTP task after shutdown, with its result.
async fn finish_http(http: tokio::task::JoinHandle<anyhow::Result<()>>) -> anyhow::Result<()> {
    match http.await {
        Ok(result) => result,
        Err(join) => Err(anyhow::anyhow!("HTTP server task failed: {join}")),
    }
}

async fn consume(
    common: &CommonArgs,
    store: &AnyStore,
    stage_metrics: StageMetrics,
    sink_metrics: SinkMetrics,
    nats: &NatsHandle,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let client =
        match shared::nats::connect(&common.nats_url, &common.nats_auth, "sink", shutdown).await {
            Ok(client) => client,
            Err(shared::nats::NatsError::Cancelled) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
    let js = jetstream::new(client.clone());
    let prepared = async {
        shared::nats::ensure_streams(&js, common.stream_replicas, shutdown).await?;
        shared::nats::ensure_consumer(&js, &subjects::SINK, shutdown).await
    };
    let consumer = match prepared.await {
        Ok(consumer) => consumer,
        Err(shared::nats::NatsError::Cancelled) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    nats.set(client);
    let stage = Stage {
        js,
        consumer,
        spec: subjects::SINK,
        name: "sink",
        metrics: stage_metrics,
    };
    let handler = SinkHandler::new(store.clone(), sink_metrics, shutdown.clone());
    tracing::info!(
        stream = subjects::SPEECH_STREAM,
        consumer = subjects::SINK_CONSUMER,
        "consuming speech records"
    );
    shared::consumer::run(&stage, &handler, shutdown).await;
    Ok(())
}
