//! The fetcher itself: polls (feed + listings → new statements → raw pages), re-checks
//! recent statements for edits, and backfills date ranges.

mod backfill;
mod poll;
mod recheck;

use poll::log_poll;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use chrono::NaiveDate;
use shared::nats::NatsError;
use shared::subjects;
use tokio_util::sync::CancellationToken;

use crate::config::FetchArgs;
use crate::http::{Http, HttpError, HttpSettings, human};
use crate::leader::{LeaseHandle, LeaseSettings, Standing};
use crate::lease::holder_id;
use crate::metrics::Metrics;
use crate::politeness::RetryPolicy;
use crate::publish::{PublishError, Publisher};
use crate::source::{Source, SourceError};
use crate::state::{State, StateError};

/// Errors of the fetcher.
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    /// The source's profile, `--base-url`, `--langs`.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The source has no date-filtered listing.
    #[error(
        "{0} has no date-filtered listing (its profile has no fetch.backfill), so it cannot be backfilled day by day; its polls read the newest listing pages"
    )]
    NoBackfill(String),
    /// HTTP client set-up.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// NATS.
    #[error(transparent)]
    Nats(#[from] NatsError),
    /// Key-value state.
    #[error(transparent)]
    State(#[from] StateError),
    /// Publishing.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Some pages or listings failed.
    #[error(
        "{what} could not finish: {count} listing(s) or page(s) failed (first: {first}); see the log, then run it again: what was published is kept and will not be repeated"
    )]
    Incomplete {
        /// `the poll` or `the backfill`.
        what: &'static str,
        /// How many failed.
        count: usize,
        /// The first failure.
        first: String,
    },
    /// Shutdown was requested before the work finished.
    #[error("shutdown requested before {0} finished; run it again to continue")]
    Cancelled(&'static str),
    /// Another replica holds the lease and did not let go in time.
    #[error(
        "could not become the active fetcher for {what} within {waited} (--lease-wait): {standing}. Another fetcher replica is running: wait for it to finish or stop it, then run again (the lease of a crashed replica lapses by itself after --lease-ttl)"
    )]
    LeaseHeld {
        /// `the poll` or `the backfill`.
        what: &'static str,
        /// How long this replica waited.
        waited: String,
        /// Who holds the lease, or why it could not be read.
        standing: String,
    },
    /// The lease was lost while working.
    #[error(
        "{0} stopped: this replica lost the lease (another replica took over, or NATS could not be reached to renew it); what was published is kept: run it again"
    )]
    LostLease(&'static str),
    /// Bad backfill range.
    #[error("backfill range {from} to {to} is empty: --from must not be after --to")]
    EmptyRange {
        /// From.
        from: NaiveDate,
        /// To.
        to: NaiveDate,
    },
}

/// What a poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Statement pages published for the first time.
    pub new: usize,
    /// Edited statements published again.
    pub edited: usize,
    /// Listings and feeds that answered 304.
    pub not_modified: usize,
    /// Failures (URL: reason).
    pub failed: Vec<String>,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Days walked by this run.
    pub days: u64,
    /// Pages published by this run.
    pub pages: u64,
    /// Days of the range in total.
    pub total_days: u64,
}

/// Everything the fetcher needs, built once.
pub struct Fetcher {
    http: Arc<Http>,
    state: State,
    kv: async_nats::jetstream::kv::Store,
    source: Source,
    poll_interval: Duration,
    holder: String,
    lease_ttl: Duration,
    lease_renew: Duration,
    lease_wait: Duration,
    publisher: Publisher,
    recheck_window: Duration,
    recheck_spacing: f64,
    concurrency: usize,
    metrics: Metrics,
    shutdown: CancellationToken,
}

impl Fetcher {
    /// Builds the fetcher on an open JetStream context (streams and bucket are created if
    /// missing).
    pub async fn new(
        args: &FetchArgs,
        client: &async_nats::Client,
        replicas: usize,
        metrics: Metrics,
        shutdown: CancellationToken,
    ) -> Result<Self, FetcherError> {
        let source = args.source()?;
        let politeness = &source.profile.fetch.politeness;
        let settings = HttpSettings {
            user_agent: args.user_agent.clone(),
            request_interval: args
                .request_interval
                .or(politeness.request_interval())
                .unwrap_or(crate::config::DEFAULT_REQUEST_INTERVAL),
            max_response_bytes: args.max_response_bytes,
            connect_timeout: args.connect_timeout,
            timeout: args.timeout,
            retry: RetryPolicy {
                max_attempts: args.max_attempts.max(1),
                base: args.retry_base,
                max: args.retry_max.max(args.retry_base),
            },
            circuit_threshold: args.circuit_threshold,
            circuit_cooldown: args.circuit_cooldown,
            extra_ca_file: args.extra_ca_file.clone(),
            anti_bot: source.profile.fetch.anti_bot.clone(),
            soft_404: source.profile.fetch.soft_404.clone(),
            robots_txt: politeness.robots_txt,
        };
        let http = Http::new(
            source.site.clone(),
            settings,
            metrics.clone(),
            shutdown.clone(),
        )?;
        let js = jetstream::new(client.clone());
        shared::nats::ensure_streams(&js, replicas, &shutdown).await?;
        let kv =
            shared::nats::ensure_kv(&js, subjects::FETCHER_BUCKET, 1, replicas, &shutdown).await?;
        let state = State::new(kv.clone(), subjects::FETCHER_BUCKET, source.token());
        let max_payload = match client.server_info().max_payload {
            0 => 1024 * 1024,
            n => n,
        };
        let publisher = Publisher::new(js, max_payload, replicas);
        let lease_ttl = args.lease_ttl.max(Duration::from_secs(1));
        Ok(Fetcher {
            http: Arc::new(http),
            state,
            kv,
            poll_interval: args
                .poll_interval
                .unwrap_or(crate::config::DEFAULT_POLL_INTERVAL),
            source,
            holder: replica_id(),
            lease_ttl,
            lease_renew: args
                .lease_renew
                .max(Duration::from_millis(100))
                .min(lease_ttl / 2),
            lease_wait: args.lease_wait,
            publisher,
            recheck_window: args.recheck_window,
            recheck_spacing: args.recheck_spacing,
            concurrency: args.fetch_concurrency.max(1) as usize,
            metrics,
            shutdown,
        })
    }

    /// Polls continuously every `interval` until shutdown, without the leader lease (see
    /// [`Fetcher::run_with_lease`], which the binary uses). Failed polls are logged and
    /// retried at the next interval.
    pub async fn run(&self, interval: Duration) -> Result<(), FetcherError> {
        loop {
            match self.poll().await {
                Ok(report) => log_poll(&report),
                Err(FetcherError::Cancelled(_)) => return Ok(()),
                Err(err) => {
                    tracing::error!(error = %err, "poll failed; trying again at the next poll")
                }
            }
            tracing::info!("next poll in {}", human(interval));
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// This replica's id in the lease (`host-pid-random`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The source fetched.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Time between polls: `--poll-interval`, else the profile's, else 10 minutes.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Starts keeping the lease of the source: `lease.{token}` for polls (`lease.mid_ru`),
    /// `lease.{token}.backfill` for backfills (one backfill at a time, independent of the
    /// poller). Fetchers of different sources hold different leases.
    pub fn lease(&self, backfill: bool) -> LeaseHandle {
        let token = self.source.token();
        let name = self.source.name();
        let (key, what) = if backfill {
            (
                format!("lease.{token}.backfill"),
                format!("the {name} backfill"),
            )
        } else {
            (format!("lease.{token}"), name.to_string())
        };
        LeaseHandle::start(
            self.kv.clone(),
            LeaseSettings {
                key,
                what,
                holder: self.holder.clone(),
                ttl: self.lease_ttl,
                renew: self.lease_renew,
            },
            self.metrics.leader.clone(),
        )
    }

    /// Waits (up to `--lease-wait`) until this replica holds `lease`, then runs `work`,
    /// stopping it at once if the lease is lost. For `--once` and `backfill`.
    pub async fn with_lease<T>(
        &self,
        lease: &mut LeaseHandle,
        what: &'static str,
        work: impl Future<Output = Result<T, FetcherError>>,
    ) -> Result<T, FetcherError> {
        if let Err(standing) = lease
            .wait_leading(&self.shutdown, Some(self.lease_wait))
            .await
        {
            if self.shutdown.is_cancelled() {
                return Err(FetcherError::Cancelled(what));
            }
            return Err(FetcherError::LeaseHeld {
                what,
                waited: human(self.lease_wait),
                standing: describe(&standing),
            });
        }
        self.state.clear_cache().await;
        tokio::select! {
            result = work => result,
            _ = lease.lost() => Err(FetcherError::LostLease(what)),
        }
    }

    /// Polls every `interval` while this replica holds `lease`, standing by otherwise, until
    /// shutdown. A poll stops at once when the lease is lost; a replica that becomes the
    /// active one polls at once.
    pub async fn run_with_lease(
        &self,
        interval: Duration,
        lease: &mut LeaseHandle,
    ) -> Result<(), FetcherError> {
        loop {
            if lease.wait_leading(&self.shutdown, None).await.is_err() {
                return Ok(());
            }
            // Another replica may have changed the listings' validators meanwhile.
            self.state.clear_cache().await;
            let outcome = tokio::select! {
                result = self.poll() => Some(result),
                _ = lease.lost() => None,
            };
            match outcome {
                None => {
                    tracing::warn!("poll stopped: this replica is no longer the active poller");
                    continue;
                }
                Some(Ok(report)) => log_poll(&report),
                Some(Err(FetcherError::Cancelled(_))) => return Ok(()),
                Some(Err(err)) => {
                    tracing::error!(error = %err, "poll failed; trying again at the next poll")
                }
            }
            tracing::info!("next poll in {}", human(interval));
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

/// A standing, for error messages.
fn describe(standing: &Standing) -> String {
    match standing {
        Standing::Standby { holder, until } => {
            format!("replica {holder} holds the lease until {until} and keeps renewing it")
        }
        Standing::Unreachable { reason } => {
            format!("the lease cannot be read or written ({reason})")
        }
        Standing::Unknown | Standing::Leading => "the lease could not be read yet".to_string(),
    }
}

/// `host-pid-random`: the host name from `HOSTNAME` or the kernel.
fn replica_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default();
    holder_id(&host, std::process::id(), fastrand::u32(..))
}
