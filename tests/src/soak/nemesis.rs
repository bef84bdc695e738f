//! The nemesis: a schedule of overlapping faults derived from the seed, applied to the
//! running deployment, and the event log of everything it did.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::deployment::{Deployment, node};
use crate::rng::Rng;
use crate::site::Fault;

/// Kinds of faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// SIGKILL of a service process, restarted after the fault's duration.
    KillService,
    /// SIGSTOP of a service process, SIGCONT after the duration.
    PauseService,
    /// SIGKILL of a NATS node, restarted on its store after the duration (one at a time).
    KillNatsNode,
    /// Every database connection closed and new ones refused for the duration.
    CutDatabase,
    /// Database traffic delayed for the duration.
    SlowDatabase,
    /// A burst of 429 with Retry-After from a site.
    Site429,
    /// A burst of 503 with Retry-After from a site.
    Site503,
    /// A burst of connection resets from a site.
    SiteReset,
    /// A burst of anti-bot challenge pages from a site.
    SiteChallenge,
    /// A site answering slowly.
    SiteSlow,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::KillService,
        Kind::PauseService,
        Kind::KillNatsNode,
        Kind::CutDatabase,
        Kind::SlowDatabase,
        Kind::Site429,
        Kind::Site503,
        Kind::SiteReset,
        Kind::SiteChallenge,
        Kind::SiteSlow,
    ];

    /// Its name in the event log and summary.
    pub fn name(self) -> &'static str {
        match self {
            Kind::KillService => "service SIGKILL",
            Kind::PauseService => "service SIGSTOP/SIGCONT",
            Kind::KillNatsNode => "NATS node killed",
            Kind::CutDatabase => "database cut",
            Kind::SlowDatabase => "database slowed",
            Kind::Site429 => "site 429 burst",
            Kind::Site503 => "site 503 burst",
            Kind::SiteReset => "site connection resets",
            Kind::SiteChallenge => "site anti-bot challenges",
            Kind::SiteSlow => "site slow",
        }
    }
}

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Seconds after the start of the fault window.
    pub at: f64,
    /// What.
    pub kind: Kind,
    /// Index of the slot, NATS node or site it hits.
    pub target: usize,
    /// How long it lasts (seconds), or the burst size for site faults.
    pub size: u64,
}

/// The faults of a window of `window` seconds: one every 2 to 9 s (so they overlap), at
/// most one NATS node down at a time (never the majority), each process and each site host
/// (`sites`: the number of hosts of every source) hit by one fault at a time. The same seed
/// gives the same schedule.
pub fn schedule(seed: u64, window: f64, slots: usize, nodes: usize, sites: usize) -> Vec<Planned> {
    let mut rng = Rng::new(seed);
    let mut busy: BTreeMap<(u8, usize), f64> = BTreeMap::new();
    let mut plan = Vec::new();
    let mut t = 0.0;
    loop {
        t += rng.range(2000, 9000) as f64 / 1000.0;
        if t >= window {
            return plan;
        }
        let kind = Kind::ALL[rng.next(Kind::ALL.len())];
        let (group, count, size) = match kind {
            Kind::KillService => (0, slots, rng.range(1, 8)),
            Kind::PauseService => (0, slots, rng.range(1, 12)),
            // One group for all nodes: never two down at once.
            Kind::KillNatsNode => (1, 1, rng.range(3, 20)),
            Kind::CutDatabase => (2, 1, rng.range(2, 15)),
            Kind::SlowDatabase => (2, 1, rng.range(5, 30)),
            // Site faults: bursts of 3 to 30 requests, within 2 to 12 s (then the site
            // answers normally again), one burst at a time per site.
            Kind::SiteSlow => (3, sites, rng.range(5, 25)),
            _ => (3, sites, rng.range(3, 30)),
        };
        let target = rng.next(count.max(1));
        let key = (group, target);
        if busy.get(&key).is_some_and(|&until| until > t) {
            continue;
        }
        let lasts = if group == 3 {
            site_burst_secs(size) as f64
        } else {
            size as f64
        };
        // Faults end within the window, so the system heals before the drain.
        if t + lasts >= window {
            continue;
        }
        busy.insert(key, t + lasts + 1.0);
        let target = if kind == Kind::KillNatsNode {
            rng.next(nodes.max(1))
        } else {
            target
        };
        plan.push(Planned {
            at: t,
            kind,
            target,
            size,
        });
    }
}

/// The event log: every fault and every notable thing, with its time.
#[derive(Clone)]
pub struct Events {
    started: Instant,
    lines: Arc<Mutex<Vec<String>>>,
    counts: Arc<Mutex<BTreeMap<&'static str, usize>>>,
}

impl Events {
    /// An empty log whose times count from `started`.
    pub fn new(started: Instant) -> Events {
        Events {
            started,
            lines: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// Logs `what` (and prints it on stderr).
    pub fn log(&self, what: impl AsRef<str>) {
        let line = format!(
            "[{:>8.2}s] {}",
            self.started.elapsed().as_secs_f64(),
            what.as_ref()
        );
        eprintln!("soak: {line}");
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    /// Counts one fault of `kind` injected.
    pub fn count(&self, kind: Kind) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(kind.name())
            .or_insert(0) += 1;
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Faults injected, by kind.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The sources whose real sites answer with an anti-bot challenge page (mid.ru's F5 page; the
/// profiles of the others name no challenge markers, so their fetchers would pass it on).
const CHALLENGING_SOURCES: [&str; 1] = ["mid.ru"];

/// How long a site burst of `size` requests lasts at most: a count-based burst that outlived
/// it would keep a fetcher that backs off (its circuit breaker lets one request through per
/// cool-down) failing for minutes.
fn site_burst_secs(size: u64) -> u64 {
    2 + size % 11
}

/// Applies `fault` and heals it after its duration.
pub async fn apply(deployment: Arc<Deployment>, fault: Planned, events: Events) {
    let lasts = Duration::from_secs(fault.size);
    let name = fault.kind.name();
    match fault.kind {
        Kind::KillService | Kind::PauseService => {
            let Some(slot) = deployment.slots.get(fault.target) else {
                return;
            };
            let mut s = slot.lock().await;
            if s.down || s.paused {
                return;
            }
            let pid = s.pid().unwrap_or_default();
            events.count(fault.kind);
            if fault.kind == Kind::KillService {
                s.kill();
            } else {
                s.pause();
            }
            events.log(format!(
                "{name}: {} (pid {pid}) for {}s",
                s.name, fault.size
            ));
            drop(s);
            tokio::time::sleep(lasts).await;
            let mut s = slot.lock().await;
            if fault.kind == Kind::KillService {
                if s.down {
                    s.start();
                    events.log(format!(
                        "restarted {} (pid {})",
                        s.name,
                        s.pid().unwrap_or_default()
                    ));
                }
            } else if s.paused {
                s.resume();
                events.log(format!("SIGCONT {} (pid {pid})", s.name));
            }
        }
        Kind::KillNatsNode => {
            let Some(nats) = deployment.nats.get(fault.target).cloned() else {
                return;
            };
            events.count(fault.kind);
            let port = {
                let mut n = node(&nats);
                n.kill();
                n.port()
            };
            events.log(format!(
                "{name}: node{} (port {port}) for {}s",
                fault.target, fault.size
            ));
            tokio::time::sleep(lasts).await;
            restart_node(&nats, fault.target, &events).await;
        }
        Kind::CutDatabase => {
            events.count(fault.kind);
            deployment.proxy.cut();
            events.log(format!("{name} for {}s", fault.size));
            tokio::time::sleep(lasts).await;
            deployment.proxy.restore();
            events.log("database reachable again");
        }
        Kind::SlowDatabase => {
            let latency = Duration::from_millis(50 + 50 * (fault.size % 8));
            events.count(fault.kind);
            deployment.proxy.set_latency(latency);
            events.log(format!(
                "{name}: +{latency:?} per packet for {}s",
                fault.size
            ));
            tokio::time::sleep(lasts).await;
            deployment.proxy.set_latency(Duration::ZERO);
            events.log("database at full speed again");
        }
        _ => {
            let hosts = deployment.hosts();
            let Some((host, site)) = hosts.get(fault.target) else {
                return;
            };
            let retry_after_secs = 1 + fault.size % 2;
            // A challenge only where the real site serves one (its profile knows the page);
            // any other site gets a 503 burst instead.
            let kind = if fault.kind == Kind::SiteChallenge
                && !CHALLENGING_SOURCES.iter().any(|s| host == s)
            {
                Kind::Site503
            } else {
                fault.kind
            };
            let name = kind.name();
            let (injected, times) = match kind {
                Kind::Site429 => (Fault::TooManyRequests { retry_after_secs }, fault.size),
                Kind::Site503 => (Fault::Unavailable { retry_after_secs }, fault.size),
                Kind::SiteReset => (Fault::Reset, fault.size),
                Kind::SiteChallenge => (Fault::Challenge, fault.size),
                _ => (
                    Fault::Slow(Duration::from_millis(500 + 100 * (fault.size % 20))),
                    fault.size,
                ),
            };
            let within = site_burst_secs(fault.size);
            events.count(kind);
            events.log(format!(
                "{name} on {host}: the next {times} requests within {within}s get {injected:?}"
            ));
            site.inject("/", injected, times as usize);
            tokio::time::sleep(Duration::from_secs(within)).await;
            if site.pending_faults() > 0 {
                site.clear_faults();
            }
            events.log(format!("{name} on {host}: over, the site answers normally"));
        }
    }
}

/// Restarts a NATS node on its store, trying again if it does not come up.
pub async fn restart_node(nats: &Arc<Mutex<crate::NatsServer>>, index: usize, events: &Events) {
    for attempt in 1..=5 {
        let nats = nats.clone();
        let restarted = tokio::task::spawn_blocking(move || node(&nats).restart()).await;
        match restarted {
            Ok(()) => {
                events.log(format!("node{index} restarted on its store"));
                return;
            }
            Err(e) => {
                events.log(format!(
                    "node{index} did not restart (attempt {attempt}): {e}"
                ));
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Ends every fault still in force: processes continued or restarted, NATS nodes up, the
/// database reachable at full speed, no site faults pending.
pub async fn heal(deployment: &Deployment, events: &Events) {
    deployment.proxy.restore();
    deployment.proxy.set_latency(Duration::ZERO);
    for (_, site) in deployment.hosts() {
        site.clear_faults();
    }
    for slot in &deployment.slots {
        let mut s = slot.lock().await;
        if s.paused {
            s.resume();
            events.log(format!("heal: SIGCONT {}", s.name));
        }
        if s.down {
            s.start();
            events.log(format!("heal: restarted {}", s.name));
        }
    }
    for (i, nats) in deployment.nats.iter().enumerate() {
        let running = node(nats).is_running();
        if !running {
            restart_node(nats, i, events).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_reproducible_overlapping_and_never_take_two_nodes() {
        let a = schedule(7, 600.0, 8, 3, 1);
        assert_eq!(a, schedule(7, 600.0, 8, 3, 1));
        assert_ne!(a, schedule(8, 600.0, 8, 3, 1));
        assert!(a.len() > 60, "{}", a.len());
        let kinds: std::collections::BTreeSet<Kind> = a.iter().map(|p| p.kind).collect();
        assert_eq!(kinds.len(), Kind::ALL.len());
        let nodes: Vec<&Planned> = a.iter().filter(|p| p.kind == Kind::KillNatsNode).collect();
        for pair in nodes.windows(2) {
            assert!(pair[1].at > pair[0].at + pair[0].size as f64, "{pair:?}");
        }
        // Faults of different kinds are in force at the same time.
        let overlapping = a
            .windows(2)
            .filter(|w| w[0].kind != w[1].kind && w[1].at < w[0].at + w[0].size as f64);
        assert!(overlapping.count() > 5);
        assert!(a.iter().all(|p| p.at < 600.0));
    }
}
