//! The fetcher service: finds new statements of one source (feeds and section listings, in
//! every configured language, as the source's profile describes them), fetches each
//! statement page politely, and publishes it as a [`shared::RawPage`] on JetStream for the
//! parser.
//!
//! * [`config`]: the command line; [`source`]: the source's profile, compiled.
//! * [`listing`], [`robots`], [`politeness`], [`safety`]: pure logic (parsing, decisions).
//! * [`lease`] (pure) and [`leader`]: one active poller among replicas, through a lease in
//!   the key-value bucket.
//! * [`http`]: the one polite HTTP client; [`state`]: the key-value seen-state;
//!   [`publish`]: raw pages onto JetStream; [`service`]: polls, edits and backfills;
//!   [`ordered`]: the one bounded-concurrency helper they share.

pub mod config;
pub mod http;
pub mod leader;
pub mod lease;
pub mod listing;
pub mod metrics;
pub mod ordered;
pub mod politeness;
pub mod publish;
pub mod robots;
pub mod safety;
pub mod service;
pub mod source;
pub mod state;

use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

pub use config::{Cli, Command, FetchArgs};
pub use service::{BackfillReport, Fetcher, FetcherError, PollReport};

/// Runs the fetcher as the command line asks (everything but `healthcheck`, which the
/// binary handles): continuous polling, `--once`, or `backfill`.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> Result<(), FetcherError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut registry = Registry::default();
    let metrics = metrics::Metrics::register(&mut registry);
    // Health first: /healthz answers while NATS is still awaited.
    let nats = shared::nats::NatsHandle::new();
    let readiness = shared::ops::readiness(vec![("nats", nats.readiness())]);
    let server = shared::ops::spawn(
        cli.common.metrics_listen,
        Arc::new(registry),
        readiness,
        shutdown.clone(),
    );
    let set_up = async {
        let client = shared::nats::connect(
            &cli.common.nats_url,
            &cli.common.nats_auth,
            "fetcher",
            &shutdown,
        )
        .await?;
        let fetcher = Fetcher::new(
            &cli.fetch,
            &client,
            cli.common.stream_replicas,
            metrics,
            shutdown.clone(),
        )
        .await?;
        Ok::<_, FetcherError>((client, fetcher))
    };
    let (client, fetcher) = match set_up.await {
        Ok(set_up) => set_up,
        // Stopped before it could start: nothing fetched. Continuous polling has nothing to
        // finish; a one-shot job did not run, and says so.
        Err(FetcherError::Nats(shared::nats::NatsError::Cancelled)) => {
            if let Some(server) = server {
                let _ = server.await;
            }
            return match &cli.command {
                Some(Command::Backfill { .. }) => Err(FetcherError::Cancelled("the backfill")),
                None if cli.fetch.once => Err(FetcherError::Cancelled("the poll")),
                _ => Ok(()),
            };
        }
        Err(err) => return Err(err),
    };
    nats.set(client.clone());
    let backfill = matches!(cli.command, Some(Command::Backfill { .. }));
    let mut lease = fetcher.lease(backfill);
    let result = match &cli.command {
        Some(Command::Backfill { from, to }) => fetcher
            .with_lease(&mut lease, "the backfill", fetcher.backfill(*from, *to))
            .await
            .map(|report| {
                tracing::info!(
                    days = report.days,
                    pages = report.pages,
                    total_days = report.total_days,
                    "backfill complete"
                );
            }),
        Some(Command::Healthcheck) => Ok(()),
        None if cli.fetch.once => fetcher
            .with_lease(&mut lease, "the poll", fetcher.poll_once())
            .await
            .map(|_| ()),
        None => {
            fetcher
                .run_with_lease(fetcher.poll_interval(), &mut lease)
                .await
        }
    };
    // Let go of the lease so that a standby takes over at once.
    lease.release().await;
    // Drain: whatever was published is acknowledged already; flush the connection.
    if let Err(err) = client.flush().await {
        tracing::warn!(error = %err, "cannot flush the NATS connection");
    }
    shutdown.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    result
}
