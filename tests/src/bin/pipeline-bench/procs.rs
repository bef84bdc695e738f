//! The services as child processes, and their memory and CPU read from /proc.

use super::*;

/// A service binary running as a child process, output in a log file; killed on drop.
pub(crate) struct Proc {
    pub(crate) name: String,
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
    pub(crate) _dir: TempDir,
}

/// The NATS identity of the service binary `name`.
pub(crate) fn identity_of(name: &str) -> testkit::Identity {
    match name {
        "fetcher" => testkit::Identity::Fetcher,
        "parser" => testkit::Identity::Parser,
        "sink" => testkit::Identity::Sink,
        _ => testkit::Identity::Subscriber,
    }
}

impl Proc {
    pub(crate) fn spawn(
        bin_dir: &Path,
        name: &str,
        args: &[String],
        nats: &NatsServer,
    ) -> Result<Proc> {
        let bin = bin_dir.join(name);
        if !bin.is_file() {
            bail!(
                "no `{name}` binary at {}: build the release binaries first (cargo build --release --workspace --bins) or pass --bin-dir",
                bin.display()
            );
        }
        let dir = TempDir::new(&format!("bench-{name}"));
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone().context("cannot share the log file")?;
        let child = Command::new(&bin)
            .args(args)
            .env("NATS_URL", nats.url())
            .envs(nats.env(identity_of(name)))
            .env("LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log,
            _dir: dir,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        testkit::pipeline::tail(&text, 40)
    }

    /// Waits for it to exit; fails (with its log) when it fails or outlives `timeout`.
    pub(crate) async fn wait_success(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!(
                    "{} exited with {status}; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not finish within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then SIGKILL after 15 s.
    pub(crate) async fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Memory and CPU of one process at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcStat {
    pub(crate) rss_kb: u64,
    pub(crate) hwm_kb: u64,
    pub(crate) cpu_secs: f64,
}

pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces): state is field 3.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ProcStat {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
        cpu_secs: ticks / 100.0,
    })
}

/// Machine-wide CPU jiffies (busy, total) from /proc/stat.
pub(crate) fn machine_cpu() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Busy share of all cores between two [`machine_cpu`] readings.
pub(crate) fn busy_share(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> f64 {
    match (a, b) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) as f64 / (t1 - t0) as f64,
        _ => f64::NAN,
    }
}

/// Children of this process whose command is `name` (the private nats-server).
pub(crate) fn child_pids_named(name: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let (head, rest) = s.rsplit_once(')')?;
                    let comm = head.split_once('(')?.1;
                    let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
                    Some(comm == name && ppid == me)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// One sample of the three services (and the stored count at that time).
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) stored: u64,
    pub(crate) stats: [Option<ProcStat>; 3],
}

/// Pids watched by the sampler (fetcher, parser, sink); 0 = none.
#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) pids: Mutex<[u32; 3]>,
    pub(crate) samples: Mutex<Vec<Sample>>,
    /// Last seen figures per pid (so that a process that exited keeps its totals).
    pub(crate) last: Mutex<BTreeMap<u32, ProcStat>>,
    pub(crate) stored: AtomicU64,
    pub(crate) stop: AtomicBool,
}

impl Watch {
    pub(crate) fn set_pid(&self, slot: usize, pid: u32) {
        if let Ok(mut pids) = self.pids.lock() {
            pids[slot] = pid;
        }
    }

    pub(crate) fn sample(&self) {
        let pids = self.pids.lock().map(|p| *p).unwrap_or_default();
        let stats = pids.map(|pid| if pid == 0 { None } else { proc_stat(pid) });
        if let Ok(mut last) = self.last.lock() {
            for (pid, stat) in pids.iter().zip(stats.iter()) {
                if let Some(stat) = stat {
                    last.insert(*pid, *stat);
                }
            }
        }
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(Sample {
                stored: self.stored.load(Ordering::Relaxed),
                stats,
            });
        }
    }

    pub(crate) fn last_of(&self, pid: u32) -> Option<ProcStat> {
        self.last.lock().ok()?.get(&pid).copied()
    }
}
