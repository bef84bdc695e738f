//! Keeps the leader lease ([`crate::lease`]) in the key-value bucket: a background task that
//! takes, renews or watches the lease every `--lease-renew`, and tells the poller through a
//! [`LeaseHandle`] whether this replica is the active one.

use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::lease::{Current, Decision, Lease, decide, still_valid};

/// This replica's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The lease has not been read yet.
    Unknown,
    /// This replica holds the lease.
    Leading,
    /// Another replica holds it.
    Standby {
        /// Who.
        holder: String,
        /// Until when, unless renewed.
        until: DateTime<Utc>,
    },
    /// The lease cannot be read (NATS unreachable).
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// How the lease is kept.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// The key (`lease.mid_ru`).
    pub key: String,
    /// What the lease is for, in log lines (`mid.ru`, `the mid.ru backfill`).
    pub what: String,
    /// This replica's id.
    pub holder: String,
    /// How long a lease lasts unless renewed.
    pub ttl: Duration,
    /// How often it is renewed (or, standing by, read).
    pub renew: Duration,
}

/// Takes and renews the lease.
struct Keeper {
    kv: kv::Store,
    settings: LeaseSettings,
    gauge: Gauge,
    tx: watch::Sender<Standing>,
    /// The revision of our lease as last written.
    held: Option<u64>,
    /// When we last wrote our lease.
    renewed_at: Option<Instant>,
}

impl Keeper {
    fn set(&mut self, standing: Standing) {
        let before = self.tx.borrow().clone();
        if before == standing {
            return;
        }
        let what = &self.settings.what;
        match (&before, &standing) {
            (_, Standing::Leading) => tracing::info!(
                holder = %self.settings.holder,
                key = %self.settings.key,
                "this replica is now the active poller for {what}"
            ),
            (Standing::Leading, Standing::Standby { holder, until }) => tracing::warn!(
                "lost the lease for {what}: replica {holder} holds it until {until}; stopping at once"
            ),
            (Standing::Leading, Standing::Unreachable { reason }) => tracing::warn!(
                "cannot renew the lease for {what} ({reason}): standing down before it lapses"
            ),
            (Standing::Standby { holder: a, .. }, Standing::Standby { holder: b, until })
                if a == b =>
            {
                // Only the expiry moved: not worth a log line.
                let _ = until;
            }
            (_, Standing::Standby { holder, until }) => {
                tracing::info!(
                    "standing by: replica {holder} holds the lease for {what} until {until}"
                )
            }
            (_, Standing::Unreachable { reason }) => {
                tracing::warn!("cannot read the lease for {what}: {reason}; trying again")
            }
            (_, Standing::Unknown) => {}
        }
        self.gauge
            .set(i64::from(matches!(standing, Standing::Leading)));
        self.tx.send_replace(standing);
    }

    fn won(&mut self, revision: u64) {
        self.held = Some(revision);
        self.renewed_at = Some(Instant::now());
        self.set(Standing::Leading);
    }

    fn value(&self, lease: &Lease) -> Bytes {
        Bytes::from(serde_json::to_vec(lease).unwrap_or_default())
    }

    /// One round: renew with the revision held, else read, decide and write.
    async fn step(&mut self) {
        let key = self.settings.key.clone();
        let lease = Lease::new(&self.settings.holder, Utc::now(), self.settings.ttl);
        if let Some(revision) = self.held.take()
            && let Ok(next) = self.kv.update(&key, self.value(&lease), revision).await
        {
            self.won(next);
            return;
        }
        let current = match self.kv.entry(&key).await {
            Ok(None) => Current::Absent,
            Ok(Some(entry)) => {
                let value = (entry.operation == kv::Operation::Put).then_some(&entry.value[..]);
                Current::from_entry(value, entry.revision)
            }
            Err(err) => {
                self.unreachable(err.to_string());
                return;
            }
        };
        let written = match decide(&current, &self.settings.holder, Utc::now()) {
            Decision::Create => self
                .kv
                .create(&key, self.value(&lease))
                .await
                .map_err(|e| e.to_string()),
            Decision::TakeOver { revision } | Decision::Renew { revision } => self
                .kv
                .update(&key, self.value(&lease), revision)
                .await
                .map_err(|e| e.to_string()),
            Decision::Standby { holder, until } => {
                self.renewed_at = None;
                self.set(Standing::Standby { holder, until });
                return;
            }
        };
        match written {
            Ok(revision) => self.won(revision),
            Err(reason) => {
                // Another replica wrote first, or NATS failed: find out at the next round.
                tracing::debug!(key, reason, "lease write refused");
                self.unreachable(reason);
            }
        }
    }

    /// A failed read or write: a leader keeps acting only while its lease surely holds.
    fn unreachable(&mut self, reason: String) {
        let leading = matches!(*self.tx.borrow(), Standing::Leading);
        let valid = self
            .renewed_at
            .is_some_and(|at| still_valid(at.elapsed(), self.settings.ttl));
        if leading && valid {
            return;
        }
        self.renewed_at = None;
        self.set(Standing::Unreachable { reason });
    }

    /// Lets go of our lease (expires it now), so that a standby takes over at once.
    async fn release(&mut self) {
        let standing = self.tx.borrow().clone();
        if standing != Standing::Leading {
            return;
        }
        let key = self.settings.key.clone();
        let revision = match self.held {
            Some(r) => Some(r),
            None => match self.kv.entry(&key).await {
                Ok(Some(e)) => Some(e.revision),
                _ => None,
            },
        };
        let released = Lease::released(&self.settings.holder, Utc::now());
        if let Some(revision) = revision {
            match self.kv.update(&key, self.value(&released), revision).await {
                Ok(_) => tracing::info!("released the lease for {}", self.settings.what),
                Err(err) => {
                    tracing::debug!(error = %err, "cannot release the lease; it lapses by itself")
                }
            }
        }
        self.held = None;
        self.gauge.set(0);
        self.tx.send_replace(Standing::Unknown);
    }
}

/// The running lease keeper. Dropping it stops the keeper without releasing the lease (as a
/// crash would); [`LeaseHandle::release`] lets go properly.
pub struct LeaseHandle {
    rx: watch::Receiver<Standing>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl LeaseHandle {
    /// Starts keeping the lease in `kv`; `gauge` is set to 1 while leading.
    pub fn start(kv: kv::Store, settings: LeaseSettings, gauge: Gauge) -> Self {
        let (tx, rx) = watch::channel(Standing::Unknown);
        let stop = CancellationToken::new();
        let renew = settings.renew.max(Duration::from_millis(100));
        let mut keeper = Keeper {
            kv,
            settings,
            gauge,
            tx,
            held: None,
            renewed_at: None,
        };
        let token = stop.clone();
        let task = tokio::spawn(async move {
            loop {
                // A hung NATS call must not keep a leader acting past its lease.
                if tokio::time::timeout(renew, keeper.step()).await.is_err() {
                    keeper.unreachable(format!(
                        "no answer from NATS within {}",
                        crate::http::human(renew)
                    ));
                }
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(renew) => {}
                }
            }
            keeper.release().await;
        });
        LeaseHandle {
            rx,
            stop,
            task: Some(task),
        }
    }

    /// The current standing.
    pub fn standing(&self) -> Standing {
        self.rx.borrow().clone()
    }

    /// Whether this replica holds the lease.
    pub fn is_leading(&self) -> bool {
        matches!(*self.rx.borrow(), Standing::Leading)
    }

    /// Waits until this replica leads: `Ok` then; `Err(standing)` when `shutdown` fires or
    /// `limit` passes first.
    pub async fn wait_leading(
        &mut self,
        shutdown: &CancellationToken,
        limit: Option<Duration>,
    ) -> Result<(), Standing> {
        let deadline = limit.map(|l| tokio::time::Instant::now() + l);
        let rx = &mut self.rx;
        let wait = rx.wait_for(|s| matches!(s, Standing::Leading));
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            r = wait => r.map(|_| ()).map_err(|_| ()),
            _ = shutdown.cancelled() => Err(()),
            _ = timeout => Err(()),
        };
        outcome.map_err(|()| self.standing())
    }

    /// Resolves when this replica stops leading (at once if it does not lead).
    pub async fn lost(&mut self) {
        let _ = self.rx.wait_for(|s| !matches!(s, Standing::Leading)).await;
    }

    /// Stops the keeper and releases the lease if held.
    pub async fn release(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LeaseHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
