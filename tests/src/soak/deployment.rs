//! The whole deployment of a soak, as real processes: a three-node JetStream cluster
//! (streams with three replicas), the fixture site of every source, PostgreSQL through a
//! [`TcpProxy`], two parsers, two sinks and two fetchers per source (one active through the
//! lease). Each service process sits in a [`Slot`] that can be killed, paused and restarted.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::services::{Service, http_get};
use crate::site::{FixtureSite, SourceSite};
use crate::{NatsServer, TcpProxy, TempDatabase, cluster_url, free_port};

/// What a slot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A fetcher of the source with this index in [`Deployment::sites`].
    Fetcher(usize),
    /// A parser.
    Parser,
    /// A sink.
    Sink,
}

/// One service process, restartable with the same flags (and so the same ports).
#[derive(Debug)]
pub struct Slot {
    /// `sink-1`, `fetcher-mid.ru-2`, …
    pub name: String,
    /// What it runs.
    pub role: Role,
    args: Vec<String>,
    env: Vec<(String, String)>,
    service: Option<Service>,
    /// Stopped on purpose (SIGKILL by the nemesis), not restarted yet.
    pub down: bool,
    /// Stopped with SIGSTOP, not continued yet.
    pub paused: bool,
    /// `http://ADDR` of its /healthz, /readyz and /metrics.
    pub ops: String,
    /// `http://ADDR` of its API (sinks).
    pub api: Option<String>,
    /// Processes started in this slot.
    pub starts: u32,
    /// Highest resident memory seen, KiB.
    pub peak_rss_kib: u64,
    /// Most open file descriptors seen.
    pub peak_fds: usize,
    /// Where the full log of every process of this slot is kept (`{dir}/{name}.log`).
    log_file: std::path::PathBuf,
}

impl Slot {
    fn new(
        name: String,
        role: Role,
        args: Vec<String>,
        env: Vec<(String, String)>,
        log_dir: &std::path::Path,
    ) -> Slot {
        let ops = args
            .iter()
            .position(|a| a == "--metrics-listen")
            .and_then(|i| args.get(i + 1))
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        let api = args
            .iter()
            .position(|a| a == "--listen")
            .and_then(|i| args.get(i + 1))
            .map(|a| format!("http://{a}"));
        Slot {
            role,
            args,
            env,
            service: None,
            down: true,
            paused: false,
            ops,
            api,
            starts: 0,
            peak_rss_kib: 0,
            peak_fds: 0,
            log_file: log_dir.join(format!("{name}.log")),
            name,
        }
    }

    fn binary(&self) -> &'static str {
        match self.role {
            Role::Fetcher(_) => "fetcher",
            Role::Parser => "parser",
            Role::Sink => "sink",
        }
    }

    /// Starts a process (the previous one, if any, is killed first).
    pub fn start(&mut self) {
        self.kill();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.service = Some(Service::spawn(self.binary(), &args, &env));
        self.down = false;
        self.paused = false;
        self.starts += 1;
    }

    /// SIGKILL (a paused process dies too); it stays down until [`Slot::start`].
    pub fn kill(&mut self) {
        if let Some(mut service) = self.service.take() {
            service.kill();
            self.keep_log(&service, "killed");
        }
        self.down = true;
        self.paused = false;
    }

    /// Appends the log of `service` to the slot's log file (the temporary one goes with it).
    fn keep_log(&self, service: &Service, how: &str) {
        use std::io::Write as _;
        let kept = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .and_then(|mut f| {
                f.write_all(service.log().as_bytes())?;
                writeln!(
                    f,
                    "----- soak: process {} {how} -----",
                    service.pid().unwrap_or_default()
                )
            });
        if let Err(e) = kept {
            eprintln!(
                "soak: cannot keep the log of {} in {}: {e}",
                self.name,
                self.log_file.display()
            );
        }
    }

    /// Appends the running process's log to the slot's log file (at the end of a soak).
    pub fn keep_current_log(&self) {
        if let Some(service) = &self.service {
            self.keep_log(service, "still running at the end");
        }
    }

    /// SIGSTOP.
    pub fn pause(&mut self) {
        if let Some(service) = self.service.as_mut() {
            service.signal("STOP");
            self.paused = true;
        }
    }

    /// SIGCONT.
    pub fn resume(&mut self) {
        if let Some(service) = self.service.as_mut() {
            service.signal("CONT");
        }
        self.paused = false;
    }

    /// Whether it exited although nobody stopped it; its exit status then.
    pub fn exited_by_itself(&mut self) -> Option<String> {
        if self.down {
            return None;
        }
        let service = self.service.as_mut()?;
        let status = service.try_status()?;
        Some(format!("{status}"))
    }

    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.service.as_ref().and_then(Service::pid)
    }

    /// The running process's log, last `lines` lines.
    pub fn log_tail(&self, lines: usize) -> String {
        self.service
            .as_ref()
            .map(|s| crate::pipeline::tail(&s.log(), lines))
            .unwrap_or_default()
    }

    /// Reads resident memory (KiB) and open descriptors of the process, keeping the peaks.
    pub fn sample(&mut self) -> Option<(u64, usize)> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())?;
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
        self.peak_rss_kib = self.peak_rss_kib.max(rss);
        self.peak_fds = self.peak_fds.max(fds);
        Some((rss, fds))
    }

    /// Whether /readyz (and the API's /readyz for a sink) answer 200.
    pub async fn ready(ops: &str, api: Option<&str>) -> Result<(), String> {
        for base in std::iter::once(ops).chain(api) {
            match http_get(&format!("{base}/readyz")).await {
                Ok((200, _)) => {}
                Ok((status, body)) => return Err(format!("{base}/readyz: {status} {body}")),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A slot shared between the nemesis, the watchdog and the checker.
pub type SharedSlot = Arc<tokio::sync::Mutex<Slot>>;

/// Everything a soak runs.
pub struct Deployment {
    /// The NATS nodes (restartable on their stores).
    pub nats: Vec<Arc<Mutex<NatsServer>>>,
    /// `NATS_URL` of the cluster.
    pub nats_url: String,
    /// The cluster's URL with the `operator` identity in it, for the checker.
    pub operator_url: String,
    /// The fixture site of every source (kremlin.ru: two hosts).
    pub sites: Vec<Arc<SourceSite>>,
    /// The database (reached by the sinks through `proxy`).
    pub database: TempDatabase,
    /// The proxy in front of PostgreSQL.
    pub proxy: Arc<TcpProxy>,
    /// Every service process.
    pub slots: Vec<SharedSlot>,
}

/// Fetcher flags of a soak: short polls, recent statements re-checked often (a ten-minute-old
/// one every minute), a quick lease hand-over and retries sized for bursts of faults rather
/// than politeness.
const FETCHER_FLAGS: [&str; 24] = [
    "--request-interval",
    "0s",
    "--poll-interval",
    "3s",
    "--recheck-spacing",
    "0.1",
    "--lease-ttl",
    "6s",
    "--lease-renew",
    "2s",
    "--max-attempts",
    "4",
    "--retry-base",
    "200ms",
    "--retry-max",
    "2s",
    "--circuit-threshold",
    "8",
    "--circuit-cooldown",
    "5s",
    "--timeout",
    "15s",
    "--connect-timeout",
    "3s",
];

/// Locks a NATS node (a panic elsewhere does not make it unusable).
pub fn node(nats: &Mutex<NatsServer>) -> MutexGuard<'_, NatsServer> {
    nats.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Deployment {
    /// Starts the cluster, the database proxy and every service; `sites` must be serving.
    pub async fn start(sites: Vec<Arc<SourceSite>>, log_dir: &std::path::Path) -> Deployment {
        let nats = NatsServer::start_cluster(3);
        let nats_url = cluster_url(&nats);
        let operator_url = crate::cluster_operator_url(&nats);
        // Every service runs with its own least-privilege identity.
        let identity = |base: &Vec<(String, String)>, who: crate::Identity| {
            let mut env = base.clone();
            env.extend(nats[0].env(who));
            env
        };
        let database = TempDatabase::create("soak");
        let proxy = Arc::new(TcpProxy::start(database.server()).await);
        let env = vec![
            ("NATS_URL".to_string(), nats_url.clone()),
            ("STREAM_REPLICAS".to_string(), "3".to_string()),
        ];
        let parser_env = identity(&env, crate::Identity::Parser);
        let sink_env = identity(&env, crate::Identity::Sink);
        let fetcher_env = identity(&env, crate::Identity::Fetcher);
        let nats: Vec<_> = nats.into_iter().map(|n| Arc::new(Mutex::new(n))).collect();
        let ops = || format!("127.0.0.1:{}", free_port());
        let mut slots = Vec::new();
        for i in 1..=2 {
            let args = vec!["--metrics-listen".to_string(), ops()];
            slots.push(Slot::new(
                format!("parser-{i}"),
                Role::Parser,
                args,
                parser_env.clone(),
                log_dir,
            ));
            let args = vec![
                "--database-url".to_string(),
                database.url_via(proxy.addr()),
                "--listen".to_string(),
                ops(),
                "--metrics-listen".to_string(),
                ops(),
            ];
            slots.push(Slot::new(
                format!("sink-{i}"),
                Role::Sink,
                args,
                sink_env.clone(),
                log_dir,
            ));
        }
        for (s, site) in sites.iter().enumerate() {
            for i in 1..=2 {
                let mut args = vec![
                    "--source".to_string(),
                    site.name.clone(),
                    "--base-url".to_string(),
                    site.base_url_flag(),
                ];
                // mid.ru in both languages; the others in their profile's languages.
                if site.name == "mid.ru" {
                    args.extend(["--langs".to_string(), "en,ru".to_string()]);
                }
                args.extend(FETCHER_FLAGS.iter().map(|f| f.to_string()));
                args.extend(["--metrics-listen".to_string(), ops()]);
                let name = format!("fetcher-{}-{i}", site.name);
                slots.push(Slot::new(
                    name,
                    Role::Fetcher(s),
                    args,
                    fetcher_env.clone(),
                    log_dir,
                ));
            }
        }
        for slot in &mut slots {
            slot.start();
        }
        Deployment {
            nats,
            nats_url,
            operator_url,
            sites,
            database,
            proxy,
            slots: slots
                .into_iter()
                .map(|s| Arc::new(tokio::sync::Mutex::new(s)))
                .collect(),
        }
    }

    /// Every host of every source's fixture site, named `{source}` or `{source}/{lang}`
    /// (the targets of site faults).
    pub fn hosts(&self) -> Vec<(String, &FixtureSite)> {
        self.sites
            .iter()
            .flat_map(|site| {
                site.hosts.iter().map(|(langs, host)| {
                    let name = if site.hosts.len() == 1 {
                        site.name.clone()
                    } else {
                        format!("{}/{}", site.name, langs.join("+"))
                    };
                    (name, host)
                })
            })
            .collect()
    }

    /// Waits until every service answers /readyz; the ones that do not after `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut not_ready = Vec::new();
            for slot in &self.slots {
                let (name, ops, api) = {
                    let s = slot.lock().await;
                    (s.name.clone(), s.ops.clone(), s.api.clone())
                };
                if let Err(why) = Slot::ready(&ops, api.as_deref()).await {
                    not_ready.push(format!("{name}: {why}"));
                }
            }
            if not_ready.is_empty() || Instant::now() >= deadline {
                return not_ready;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
