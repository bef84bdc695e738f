//! `pipeline-bench`: the end-to-end benchmark of ministry-feed (issues 7 and 8).
//!
//! Starts a private nats-server, a synthetic fixture site (5,000 statements x 2 languages =
//! 10,000 pages by default), a fresh PostgreSQL database and the release binaries of the
//! fetcher, parser and sink, then measures:
//! * throughput and latency of a `fetcher backfill` (request interval 0) through JetStream and
//!   the parser into PostgreSQL (latency = the record's `stored_at` - its `fetched_at`);
//! * each service's RSS (VmRSS/VmHWM sampled every 250 ms) and CPU time;
//! * the politeness cost of ten steady-state polls (requests counted in the site's log);
//! * freshness: time from a statement appearing on the site to `GET /v1/speeches/{id}`.
//!
//! Prints a Markdown report and writes it to `target/bench/report.md` (`--out`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::Parser;
use testkit::{Corpus, FixtureSite, LoggedRequest, NatsServer, TempDir, free_port, http_get};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    about = "End-to-end benchmark: fixture site -> fetcher -> JetStream -> parser -> sink (PostgreSQL)"
)]
struct Args {
    /// Directory of the fetcher, parser and sink binaries (default: next to this binary,
    /// i.e. target/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Synthetic statements (each has an English and a Russian page).
    #[arg(long, default_value_t = 5000)]
    statements: usize,
    /// PostgreSQL server; a unique database is created on it and dropped at the end.
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Where the Markdown report goes (default: target/bench/report.md of the workspace).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Steady-state polls counted for the politeness cost.
    #[arg(long, default_value_t = 10)]
    polls: usize,
    /// Statements released one by one for the freshness measurement.
    #[arg(long, default_value_t = 5)]
    freshness_rounds: usize,
    /// Poll interval of the fetcher during the freshness measurement (seconds).
    #[arg(long, default_value_t = 5)]
    poll_interval_secs: u64,
    /// Also measure each stage's capacity: the fetcher alone into JetStream, then the parser
    /// and sink draining the full stream (a second run on a fresh nats-server and database).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    drain: bool,
    /// Longest wait for the backfill to be stored (seconds).
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
}

/// The three services, in report order.
const SERVICES: [&str; 3] = ["fetcher", "parser", "sink"];

fn main() -> Result<()> {
    let args = Args::parse();
    testkit::install_crypto();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let report = runtime.block_on(run(&args))?;
    print!("{report}");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| testkit::workspace_root().join("target/bench/report.md"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {} for the report", dir.display()))?;
    }
    std::fs::write(&out, &report)
        .with_context(|| format!("cannot write the report to {}", out.display()))?;
    eprintln!("pipeline-bench: report written to {}", out.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A service binary running as a child process, output in a log file; killed on drop.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

/// The NATS identity of the service binary `name`.
fn identity_of(name: &str) -> testkit::Identity {
    match name {
        "fetcher" => testkit::Identity::Fetcher,
        "parser" => testkit::Identity::Parser,
        "sink" => testkit::Identity::Sink,
        _ => testkit::Identity::Subscriber,
    }
}

impl Proc {
    fn spawn(bin_dir: &Path, name: &str, args: &[String], nats: &NatsServer) -> Result<Proc> {
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        testkit::pipeline::tail(&text, 40)
    }

    /// Waits for it to exit; fails (with its log) when it fails or outlives `timeout`.
    async fn wait_success(&mut self, timeout: Duration) -> Result<()> {
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
    async fn stop(&mut self) {
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

// ---------------------------------------------------------------------------------------------
// /proc sampling

/// Memory and CPU of one process at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct ProcStat {
    rss_kb: u64,
    hwm_kb: u64,
    cpu_secs: f64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
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
fn machine_cpu() -> Option<(u64, u64)> {
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
fn busy_share(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> f64 {
    match (a, b) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) as f64 / (t1 - t0) as f64,
        _ => f64::NAN,
    }
}

/// Children of this process whose command is `name` (the private nats-server).
fn child_pids_named(name: &str) -> Vec<u32> {
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
struct Sample {
    stored: u64,
    stats: [Option<ProcStat>; 3],
}

/// Pids watched by the sampler (fetcher, parser, sink); 0 = none.
#[derive(Default)]
struct Watch {
    pids: Mutex<[u32; 3]>,
    samples: Mutex<Vec<Sample>>,
    /// Last seen figures per pid (so that a process that exited keeps its totals).
    last: Mutex<BTreeMap<u32, ProcStat>>,
    stored: AtomicU64,
    stop: AtomicBool,
}

impl Watch {
    fn set_pid(&self, slot: usize, pid: u32) {
        if let Ok(mut pids) = self.pids.lock() {
            pids[slot] = pid;
        }
    }

    fn sample(&self) {
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

    fn last_of(&self, pid: u32) -> Option<ProcStat> {
        self.last.lock().ok()?.get(&pid).copied()
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL through psql (no client library needed)

fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-AtqX", "-F", "\t", "-c", sql])
        .output()
        .context("cannot run psql: install the PostgreSQL client (scripts/ensure-postgres does)")?;
    if !out.status.success() {
        bail!(
            "psql on {url} failed for `{sql}`: {} (is PostgreSQL running? run scripts/ensure-postgres)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn psql_async(url: &str, sql: &str) -> Result<String> {
    let out = tokio::process::Command::new("psql")
        .args([url, "-AtqX", "-c", sql])
        .output()
        .await
        .context("cannot run psql")?;
    if !out.status.success() {
        bail!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let mut out = match base[after_scheme..].find('/') {
        Some(i) => format!("{}/{db}", &base[..after_scheme + i]),
        None => format!("{base}/{db}"),
    };
    if !out.contains("://") {
        bail!("--database-url {url:?} is not a postgres:// URL");
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A database created for this run, dropped on [`TempDb::drop_now`].
struct TempDb {
    admin: String,
    name: String,
    url: String,
}

impl TempDb {
    fn create(admin: &str) -> Result<TempDb> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!("bench_{}_{stamp}", std::process::id());
        psql(admin, &format!("CREATE DATABASE {name}"))?;
        Ok(TempDb {
            admin: admin.to_string(),
            url: with_database(admin, &name)?,
            name,
        })
    }

    fn drop_now(&self) {
        if let Err(e) = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            eprintln!("pipeline-bench: could not drop database {}: {e}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

#[derive(Debug, Default)]
struct Backfill {
    pages: u64,
    backfill_secs: f64,
    wall_secs: f64,
    sql_span_secs: f64,
    sustained_pps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    requests: BTreeMap<(String, u16), usize>,
    max_day_items: usize,
    machine_busy: f64,
    days: i64,
    from: NaiveDate,
    to: NaiveDate,
}

/// One service's memory row: name, peak VmHWM, RSS at 10 %, 25 %, 50 % and 75 % of the pages
/// stored, RSS at the end (kB), CPU seconds.
type MemoryRow = (String, u64, Vec<Option<u64>>, Option<u64>, f64);

#[derive(Debug, Default)]
struct Memory {
    /// Per service: peak VmHWM, RSS along the run, RSS at the end, CPU seconds.
    rows: Vec<MemoryRow>,
    nats_cpu: Option<f64>,
    nats_hwm: Option<u64>,
    bench_cpu: Option<f64>,
}

fn kind_of(path: &str) -> &'static str {
    let p = path.split('?').next().unwrap_or(path);
    if p == "/robots.txt" {
        "robots.txt"
    } else if p.ends_with("/rss.php") {
        "feed"
    } else if p
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
    {
        "statement page"
    } else if path.contains("activeFrom=") {
        "dated listing"
    } else {
        "listing"
    }
}

fn count_requests(requests: &[LoggedRequest]) -> BTreeMap<(String, u16), usize> {
    let mut counts = BTreeMap::new();
    for r in requests {
        *counts
            .entry((kind_of(&r.path).to_string(), r.status))
            .or_insert(0) += 1;
    }
    counts
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// The run

async fn wait_ready(url: &str, proc: &mut Proc) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if matches!(http_get(url).await, Ok((200, _))) {
            return Ok(());
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            bail!(
                "{} exited with {status} before it was ready; its log:\n{}",
                proc.name,
                proc.log_tail()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{} not ready at {url} within 120 s; its log:\n{}",
                proc.name,
                proc.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts sampling the watched pids every 250 ms and the stored count every 500 ms, until
/// `watch.stop`.
fn start_watch(
    watch: &Arc<Watch>,
    db_url: &str,
) -> (tokio::task::JoinHandle<()>, tokio::task::JoinHandle<()>) {
    let sampler = {
        let watch = watch.clone();
        tokio::spawn(async move {
            while !watch.stop.load(Ordering::Relaxed) {
                watch.sample();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let progress = {
        let watch = watch.clone();
        let url = db_url.to_string();
        tokio::spawn(async move {
            while !watch.stop.load(Ordering::Relaxed) {
                if let Ok(text) = psql_async(&url, "SELECT count(*) FROM speeches").await
                    && let Ok(count) = text.parse()
                {
                    watch.stored.store(count, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    (sampler, progress)
}

/// Waits until `expected` speeches are stored; fails with the logs after `timeout`.
async fn wait_stored(
    db_url: &str,
    expected: u64,
    timeout: Duration,
    watch: &Watch,
    logs: &[&Proc],
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        // Until the sink has run its migrations the table does not exist: count 0.
        let count: u64 = psql_async(db_url, "SELECT count(*) FROM speeches")
            .await
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        watch.stored.store(count, Ordering::Relaxed);
        if count >= expected {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mut text = format!("only {count} of {expected} records stored after {timeout:?}");
            for p in logs {
                text.push_str(&format!("\n{} log:\n{}", p.name, p.log_tail()));
            }
            bail!(text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Figures of the drain run: the fetcher alone, then the parser and sink on a full stream.
#[derive(Debug, Default)]
struct Drain {
    fetch_secs: f64,
    fetcher_cpu: f64,
    fetcher_hwm: u64,
    pages: u64,
    drain_wall_secs: f64,
    commit_span_secs: f64,
    parser_cpu: f64,
    sink_cpu: f64,
    parser_hwm: u64,
    sink_hwm: u64,
    parser_end: Option<u64>,
    sink_end: Option<u64>,
    fetch_machine_busy: f64,
    drain_machine_busy: f64,
}

/// The downstream capacity: a backfill into JetStream with no parser or sink running (the
/// fetcher alone), then the parser and sink started on the full stream.
async fn drain(
    args: &Args,
    bin_dir: &Path,
    base_url: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Drain> {
    let nats = NatsServer::start();
    let db = TempDb::create(&args.database_url)?;
    let result = drain_inner(args, bin_dir, &nats, base_url, &db, from, to).await;
    db.drop_now();
    drop(nats);
    result
}

async fn drain_inner(
    args: &Args,
    bin_dir: &Path,
    nats: &NatsServer,
    base_url: &str,
    db: &TempDb,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Drain> {
    let s = |x: &str| x.to_string();
    let metrics = || format!("127.0.0.1:{}", free_port());
    let expected = 2 * args.statements as u64;
    let watch = Arc::new(Watch::default());
    let (sampler, progress) = start_watch(&watch, &db.url);
    let cpu_at_start = machine_cpu();
    let started = Instant::now();
    let mut backfill = Proc::spawn(
        bin_dir,
        "fetcher",
        &[
            s("--base-url"),
            base_url.to_string(),
            s("--langs"),
            s("en,ru"),
            s("--request-interval"),
            s("0s"),
            s("--metrics-listen"),
            metrics(),
            s("backfill"),
            s("--from"),
            from.to_string(),
            s("--to"),
            to.to_string(),
        ],
        nats,
    )?;
    let fetcher_pid = backfill.pid();
    watch.set_pid(0, fetcher_pid);
    backfill
        .wait_success(Duration::from_secs(args.timeout_secs))
        .await?;
    let fetch_secs = started.elapsed().as_secs_f64();
    let cpu_after_fetch = machine_cpu();
    let fetch_machine_busy = busy_share(cpu_at_start, cpu_after_fetch);
    watch.set_pid(0, 0);
    eprintln!("pipeline-bench: drain run: the fetcher alone published in {fetch_secs:.1} s");

    let api_addr = format!("127.0.0.1:{}", free_port());
    let drain_started = Instant::now();
    let parser = Proc::spawn(bin_dir, "parser", &[s("--metrics-listen"), metrics()], nats)?;
    let mut sink = Proc::spawn(
        bin_dir,
        "sink",
        &[
            s("--database-url"),
            db.url.clone(),
            s("--listen"),
            api_addr.clone(),
            s("--metrics-listen"),
            metrics(),
        ],
        nats,
    )?;
    watch.set_pid(1, parser.pid());
    watch.set_pid(2, sink.pid());
    wait_ready(&format!("http://{api_addr}/readyz"), &mut sink).await?;
    wait_stored(
        &db.url,
        expected,
        Duration::from_secs(args.timeout_secs),
        &watch,
        &[&parser, &sink],
    )
    .await?;
    let drain_wall_secs = drain_started.elapsed().as_secs_f64();
    let drain_machine_busy = busy_share(cpu_after_fetch, machine_cpu());
    watch.sample();
    watch.stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let _ = progress.await;
    let span: f64 = psql(
        &db.url,
        "SELECT extract(epoch FROM max(stored_at) - min(stored_at))::float8 FROM speech_versions",
    )?
    .parse()
    .unwrap_or(f64::NAN);
    let fetcher = watch.last_of(fetcher_pid).unwrap_or_default();
    let p = watch.last_of(parser.pid()).unwrap_or_default();
    let k = watch.last_of(sink.pid()).unwrap_or_default();
    let samples = watch.samples.lock().map(|s| s.clone()).unwrap_or_default();
    let end_rss = |slot: usize| {
        samples
            .iter()
            .rev()
            .find_map(|smp| smp.stats[slot].map(|st| st.rss_kb))
    };
    Ok(Drain {
        fetch_secs,
        fetcher_cpu: fetcher.cpu_secs,
        fetcher_hwm: fetcher.hwm_kb,
        pages: expected,
        drain_wall_secs,
        commit_span_secs: span,
        parser_cpu: p.cpu_secs,
        sink_cpu: k.cpu_secs,
        parser_hwm: p.hwm_kb,
        sink_hwm: k.hwm_kb,
        parser_end: end_rss(1),
        sink_end: end_rss(2),
        fetch_machine_busy,
        drain_machine_busy,
    })
}

fn render_drain(d: &Drain) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "## Capacity of each stage (drain run: fresh nats-server and database)\n\n\
         The same backfill with no parser or sink running (the fetcher alone into JetStream), then the parser and \
         sink started on the full stream of {} raw pages.\n",
        d.pages
    );
    let _ = writeln!(
        r,
        "| stage | time | pages/s | CPU s | CPU % of its time | peak RSS MB | RSS at the end MB |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    let _ = writeln!(
        r,
        "| fetcher alone (site -> JetStream) | {:.1} s | {:.0} | {:.1} | {:.0} % | {} | |",
        d.fetch_secs,
        d.pages as f64 / d.fetch_secs,
        d.fetcher_cpu,
        100.0 * d.fetcher_cpu / d.fetch_secs,
        mb(d.fetcher_hwm)
    );
    let _ = writeln!(
        r,
        "| parser + sink draining (start -> last commit) | {:.1} s | {:.0} | parser {:.1}, sink {:.1} | parser {:.0} %, sink {:.0} % | parser {}, sink {} | parser {}, sink {} |",
        d.drain_wall_secs,
        d.pages as f64 / d.drain_wall_secs,
        d.parser_cpu,
        d.sink_cpu,
        100.0 * d.parser_cpu / d.drain_wall_secs,
        100.0 * d.sink_cpu / d.drain_wall_secs,
        mb(d.parser_hwm),
        mb(d.sink_hwm),
        d.parser_end.map(mb).unwrap_or_default(),
        d.sink_end.map(mb).unwrap_or_default(),
    );
    let _ = writeln!(
        r,
        "| parser + sink, first to last commit | {:.1} s | {:.0} | | | | |\n",
        d.commit_span_secs,
        d.pages as f64 / d.commit_span_secs
    );
    let _ = writeln!(
        r,
        "Whole machine busy (all cores, everything running on it): {:.0} % while the fetcher ran alone, {:.0} % while the parser and sink drained.\n",
        100.0 * d.fetch_machine_busy,
        100.0 * d.drain_machine_busy
    );
    r
}

async fn run(args: &Args) -> Result<String> {
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .context("cannot find this binary's directory: pass --bin-dir")?
            .parent()
            .map(Path::to_path_buf)
            .context("cannot find this binary's directory: pass --bin-dir")?,
    };
    for name in SERVICES {
        if !bin_dir.join(name).is_file() {
            bail!(
                "no `{name}` binary in {}: run cargo build --release --workspace --bins first (or pass --bin-dir)",
                bin_dir.display()
            );
        }
    }
    let n = args.statements;
    let held = args.freshness_rounds;

    // The synthetic site and its date range (visible statements only).
    let corpus = Corpus::synthetic_with_held_back(n, held);
    let mut per_day: BTreeMap<(NaiveDate, String), usize> = BTreeMap::new();
    let mut from = NaiveDate::MAX;
    let mut to = NaiveDate::MIN;
    let mut held_ids = Vec::new();
    for s in corpus.statements() {
        let meta = s.meta();
        if meta.held_back {
            held_ids.push(meta.doc_id.clone());
            continue;
        }
        let day = meta
            .published_local()
            .map(|t| t.date())
            .context("a synthetic statement has no date")?;
        from = from.min(day);
        to = to.max(day);
        for section in &meta.sections {
            *per_day.entry((day, section.clone())).or_insert(0) += 1;
        }
    }
    let max_day_items = per_day.values().copied().max().unwrap_or(0);
    if max_day_items > 20 {
        bail!(
            "the synthetic corpus has {max_day_items} items on one day listing (more than a page of 20)"
        );
    }
    eprintln!(
        "pipeline-bench: {n} statements ({} pages) from {from} to {to}, at most {max_day_items} per day listing",
        2 * n
    );

    let nats = NatsServer::start();
    let site = FixtureSite::start_corpus(corpus).await;
    let base_url = site.base_url();
    let db = TempDb::create(&args.database_url)?;
    eprintln!("pipeline-bench: database {}", db.name);
    let result = measure(
        args,
        &bin_dir,
        &nats,
        &site,
        &base_url,
        &db,
        &held_ids,
        from,
        to,
        max_day_items,
    )
    .await;
    db.drop_now();
    drop(nats);
    let mut report = result?;
    if args.drain {
        let d = drain(args, &bin_dir, &base_url, from, to).await?;
        report.push_str(&render_drain(&d));
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    bin_dir: &Path,
    nats: &NatsServer,
    site: &FixtureSite,
    base_url: &str,
    db: &TempDb,
    held_ids: &[String],
    from: NaiveDate,
    to: NaiveDate,
    max_day_items: usize,
) -> Result<String> {
    let n = args.statements as u64;
    let expected = 2 * n;
    let s = |x: &str| x.to_string();
    let metrics = || format!("127.0.0.1:{}", free_port());
    let api_addr = format!("127.0.0.1:{}", free_port());
    let api = format!("http://{api_addr}");

    let mut parser = Proc::spawn(bin_dir, "parser", &[s("--metrics-listen"), metrics()], nats)?;
    let mut sink = Proc::spawn(
        bin_dir,
        "sink",
        &[
            s("--database-url"),
            db.url.clone(),
            s("--listen"),
            api_addr.clone(),
            s("--metrics-listen"),
            metrics(),
        ],
        nats,
    )?;
    wait_ready(&format!("{api}/readyz"), &mut sink).await?;

    let watch = Arc::new(Watch::default());
    watch.set_pid(1, parser.pid());
    watch.set_pid(2, sink.pid());
    let (sampler, progress) = start_watch(&watch, &db.url);

    // --- Backfill (issue 7 load, issue 8 budget 2 and 3).
    let fetch_args = |extra: &[String]| {
        let mut a = vec![
            s("--base-url"),
            base_url.to_string(),
            s("--langs"),
            s("en,ru"),
            s("--request-interval"),
            s("0s"),
            s("--metrics-listen"),
            metrics(),
        ];
        a.extend(extra.iter().cloned());
        a
    };
    site.clear_requests();
    let cpu_at_start = machine_cpu();
    let started = Instant::now();
    let mut backfill = Proc::spawn(
        bin_dir,
        "fetcher",
        &fetch_args(&[
            s("backfill"),
            s("--from"),
            from.to_string(),
            s("--to"),
            to.to_string(),
        ]),
        nats,
    )?;
    let backfill_pid = backfill.pid();
    watch.set_pid(0, backfill_pid);
    let timeout = Duration::from_secs(args.timeout_secs);
    backfill.wait_success(timeout).await?;
    let backfill_secs = started.elapsed().as_secs_f64();
    eprintln!("pipeline-bench: backfill fetched in {backfill_secs:.1} s");
    let mut once = Proc::spawn(bin_dir, "fetcher", &fetch_args(&[s("--once")]), nats)?;
    watch.set_pid(0, once.pid());
    once.wait_success(Duration::from_secs(300)).await?;
    watch.set_pid(0, 0);
    wait_stored(&db.url, expected, timeout, &watch, &[&parser, &sink]).await?;
    let wall_secs = started.elapsed().as_secs_f64();
    let machine_busy = busy_share(cpu_at_start, machine_cpu());
    watch.sample();
    watch.stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let _ = progress.await;
    let backfill_requests = count_requests(&site.requests());

    let figures = psql(
        &db.url,
        "WITH r AS (SELECT stored_at, (record::jsonb->>'fetched_at')::timestamptz AS fetched_at FROM speech_versions), \
         l AS (SELECT extract(epoch FROM stored_at - fetched_at)::float8 AS lat FROM r) \
         SELECT (SELECT count(*) FROM r), \
                (SELECT extract(epoch FROM max(stored_at) - min(fetched_at))::float8 FROM r), \
                (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lat) FROM l), \
                (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY lat) FROM l), \
                (SELECT max(lat) FROM l), \
                (SELECT extract(epoch FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY stored_at) - percentile_disc(0.1) WITHIN GROUP (ORDER BY stored_at))::float8 FROM r)",
    )?;
    let f: Vec<f64> = figures
        .split('\t')
        .map(|x| x.trim().parse::<f64>().unwrap_or(f64::NAN))
        .collect();
    if f.len() != 6 {
        bail!("unexpected figures from PostgreSQL: {figures:?}");
    }
    let stored = f[0] as u64;
    let bf = Backfill {
        pages: stored,
        backfill_secs,
        wall_secs,
        sql_span_secs: f[1],
        p50: f[2],
        p99: f[3],
        max: f[4],
        sustained_pps: if f[5] > 0.0 {
            0.8 * stored as f64 / f[5]
        } else {
            f64::NAN
        },
        requests: backfill_requests,
        max_day_items,
        machine_busy,
        days: (to - from).num_days() + 1,
        from,
        to,
    };

    // Memory and CPU.
    let samples = watch.samples.lock().map(|s| s.clone()).unwrap_or_default();
    let mut memory = Memory::default();
    let end_pids = [backfill_pid, parser.pid(), sink.pid()];
    for (slot, name) in SERVICES.iter().enumerate() {
        let alive: Vec<(u64, ProcStat)> = samples
            .iter()
            .filter_map(|smp| smp.stats[slot].map(|st| (smp.stored, st)))
            .collect();
        let along: Vec<Option<u64>> = [expected / 10, expected / 4, expected / 2, expected * 3 / 4]
            .iter()
            .map(|k| {
                alive
                    .iter()
                    .find(|(stored, _)| *stored >= *k)
                    .map(|(_, st)| st.rss_kb)
            })
            .collect();
        let end = if slot == 0 {
            watch.last_of(backfill_pid).map(|st| st.rss_kb)
        } else {
            alive.last().map(|(_, st)| st.rss_kb)
        };
        let peak = alive.iter().map(|(_, st)| st.hwm_kb).max().unwrap_or(0);
        let cpu = watch
            .last_of(end_pids[slot])
            .map(|st| st.cpu_secs)
            .unwrap_or(0.0);
        memory.rows.push((name.to_string(), peak, along, end, cpu));
    }
    let nats_pids = child_pids_named("nats-server");
    if let Some(pid) = nats_pids.first()
        && let Some(st) = proc_stat(*pid)
    {
        memory.nats_cpu = Some(st.cpu_secs);
        memory.nats_hwm = Some(st.hwm_kb);
    }
    memory.bench_cpu = proc_stat(std::process::id()).map(|st| st.cpu_secs);
    eprintln!(
        "pipeline-bench: {stored} records stored; {:.0} pages/s",
        stored as f64 / bf.sql_span_secs
    );

    // --- Politeness: ten steady-state polls of a continuous fetcher.
    site.clear_requests();
    let mut poller = Proc::spawn(
        bin_dir,
        "fetcher",
        &fetch_args(&[s("--poll-interval"), s("1s")]),
        nats,
    )?;
    let polls = args.polls;
    let feed_count = |reqs: &[LoggedRequest]| {
        reqs.iter()
            .filter(|r| r.path.starts_with("/en/rss.php"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(120 + 2 * polls as u64);
    while feed_count(&site.requests()) < polls + 1 {
        if Instant::now() >= deadline {
            bail!(
                "the fetcher did not poll {polls} times within the time limit; its log:\n{}",
                poller.log_tail()
            );
        }
        if let Ok(Some(status)) = poller.child.try_wait() {
            bail!(
                "the polling fetcher exited with {status}; its log:\n{}",
                poller.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    poller.stop().await;
    // The requests of the first `polls` polls: everything before the (polls+1)-th English feed request.
    let all = site.requests();
    let mut seen_feeds = 0;
    let ten: Vec<LoggedRequest> = all
        .into_iter()
        .take_while(|r| {
            if r.path.starts_with("/en/rss.php") {
                seen_feeds += 1;
            }
            seen_feeds <= polls
        })
        .collect();
    let politeness = count_requests(&ten);

    // --- Freshness: a fetcher polling every --poll-interval-secs; statements appear one by one.
    let interval = args.poll_interval_secs;
    let mut fresh_fetcher = Proc::spawn(
        bin_dir,
        "fetcher",
        &fetch_args(&[s("--poll-interval"), format!("{interval}s")]),
        nats,
    )?;
    site.clear_requests();
    let deadline = Instant::now() + Duration::from_secs(120);
    while feed_count(&site.requests()) < 1 {
        if Instant::now() >= deadline {
            bail!(
                "the fetcher did not poll within 120 s; its log:\n{}",
                fresh_fetcher.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut freshness = Vec::new();
    for (k, id) in held_ids.iter().enumerate() {
        // Release at different phases of the poll cycle.
        let offset = Duration::from_millis((k as u64 * 1700 + 300) % (interval * 1000).max(1));
        tokio::time::sleep(offset).await;
        site.release(id);
        let t = Instant::now();
        let deadline = t + Duration::from_secs(interval * 4 + 30);
        let urls = [
            format!("{api}/v1/speeches/mid.ru:{id}:en"),
            format!("{api}/v1/speeches/mid.ru:{id}:ru"),
        ];
        let mut done = [false, false];
        while !done.iter().all(|d| *d) {
            for (i, url) in urls.iter().enumerate() {
                if !done[i] && matches!(http_get(url).await, Ok((200, _))) {
                    done[i] = true;
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "statement {id} was not stored within {:?}; fetcher log:\n{}",
                    deadline - t,
                    fresh_fetcher.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        freshness.push((id.clone(), offset, t.elapsed().as_secs_f64()));
    }
    fresh_fetcher.stop().await;
    parser.stop().await;
    sink.stop().await;

    Ok(render(
        args,
        &bf,
        &memory,
        &politeness,
        polls,
        &freshness,
        interval,
    ))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(testkit::workspace_root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), commit {commit}, {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn render(
    args: &Args,
    bf: &Backfill,
    memory: &Memory,
    politeness: &BTreeMap<(String, u16), usize>,
    polls: usize,
    freshness: &[(String, Duration, f64)],
    interval: u64,
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# ministry-feed pipeline benchmark\n");
    let _ = writeln!(r, "Machine: {}.\n", machine());
    let _ = writeln!(
        r,
        "Fixture site: {} synthetic statements x 2 languages, {} to {} ({} days, at most {} items per day listing); \
         private nats-server (file store, 1 replica); PostgreSQL; release binaries; `--request-interval 0s`.\n",
        args.statements, bf.from, bf.to, bf.days, bf.max_day_items
    );
    let pps = bf.pages as f64 / bf.sql_span_secs;
    let _ = writeln!(
        r,
        "## Backfill end to end (fixture site -> fetcher -> JetStream -> parser -> sink -> PostgreSQL)\n"
    );
    let _ = writeln!(r, "| figure | value |\n| --- | --- |");
    let _ = writeln!(r, "| pages stored | {} |", bf.pages);
    let _ = writeln!(
        r,
        "| first fetch -> last commit (SQL: max(stored_at) - min(fetched_at)) | {:.1} s |",
        bf.sql_span_secs
    );
    let _ = writeln!(r, "| **pages/s end to end** | **{pps:.0}** |");
    let _ = writeln!(
        r,
        "| pages/s sustained (10th to 90th percentile of commits) | {:.0} |",
        bf.sustained_pps
    );
    let _ = writeln!(
        r,
        "| fetcher backfill process (all pages published) | {:.1} s ({:.0} pages/s) |",
        bf.backfill_secs,
        bf.pages as f64 / bf.backfill_secs
    );
    let _ = writeln!(
        r,
        "| bench wall time (backfill start -> all {} stored, incl. `--once`) | {:.1} s |",
        bf.pages, bf.wall_secs
    );
    let _ = writeln!(r, "| latency fetch -> commit p50 | {:.2} s |", bf.p50);
    let _ = writeln!(r, "| latency fetch -> commit p99 | {:.2} s |", bf.p99);
    let _ = writeln!(r, "| latency fetch -> commit max | {:.2} s |", bf.max);
    let _ = writeln!(
        r,
        "| budget: >= 500 pages/s sustained | {} |\n",
        verdict(bf.sustained_pps >= 500.0)
    );
    let _ = writeln!(
        r,
        "Latency is `speech_versions.stored_at` (`now()` of the sink's transaction) minus the record's `fetched_at` \
        (set by the fetcher just before it publishes the raw page), so it includes time queued in JetStream.\n"
    );
    let _ = writeln!(r, "Requests served during the backfill:\n");
    let _ = writeln!(r, "| kind | status | requests |\n| --- | --- | --- |");
    for ((kind, status), count) in &bf.requests {
        let _ = writeln!(r, "| {kind} | {status} | {count} |");
    }
    let _ = writeln!(r, "\n## Memory and CPU during the backfill\n");
    let _ = writeln!(
        r,
        "| service | peak RSS (VmHWM) MB | RSS MB at 10 % / 25 % / 50 % / 75 % of the pages stored | RSS at the end MB | CPU s | CPU % of wall |\n| --- | --- | --- | --- | --- | --- |"
    );
    let mut all_small = true;
    let mut flat = true;
    let mut flat_after_half = true;
    // Flat: the end within 10 % (or 2 MB) of the earlier value.
    let within =
        |early: u64, end: u64| (end as f64) <= (early as f64 * 1.10).max(early as f64 + 2048.0);
    for (name, peak, along, end, cpu) in &memory.rows {
        all_small &= *peak <= 30 * 1024;
        if let (Some(Some(a)), Some(e)) = (along.first(), end) {
            flat &= within(*a, *e);
        }
        if let (Some(Some(a)), Some(e)) = (along.get(2), end) {
            flat_after_half &= within(*a, *e);
        }
        let trajectory: Vec<String> = along
            .iter()
            .map(|x| x.map(mb).unwrap_or_else(|| "-".into()))
            .collect();
        let _ = writeln!(
            r,
            "| {name} | {} | {} | {} | {cpu:.1} | {:.0} % |",
            mb(*peak),
            trajectory.join(" / "),
            end.map(mb).unwrap_or_else(|| "-".into()),
            100.0 * cpu / bf.wall_secs
        );
    }
    if let (Some(cpu), Some(hwm)) = (memory.nats_cpu, memory.nats_hwm) {
        let _ = writeln!(
            r,
            "| (nats-server) | {} | | | {cpu:.1} | {:.0} % |",
            mb(hwm),
            100.0 * cpu / bf.wall_secs
        );
    }
    let _ = writeln!(
        r,
        "| (whole machine, everything running on it) | | | | | {:.0} % of {} cores |",
        100.0 * bf.machine_busy,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    if let Some(cpu) = memory.bench_cpu {
        let _ = writeln!(
            r,
            "| (bench + fixture site, one process) | | | | {cpu:.1} | {:.0} % |",
            100.0 * cpu / bf.wall_secs
        );
    }
    let _ = writeln!(
        r,
        "\nSampled from /proc/PID/status every 250 ms; the fetcher row is the `backfill` process (the end = its last sample before it exited). \
        CPU % is of one core over the bench wall time ({:.1} s); the machine has {} cores.\n",
        bf.wall_secs,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let _ = writeln!(r, "| budget | verdict |\n| --- | --- |");
    let _ = writeln!(r, "| each service <= 30 MB RSS | {} |", verdict(all_small));
    let _ = writeln!(
        r,
        "| RSS flat from 10 % of the pages ({} pages) to the end (within 10 % or 2 MB) | {} |",
        bf.pages / 10,
        verdict(flat)
    );
    let _ = writeln!(
        r,
        "| RSS flat from half-way to the end (within 10 % or 2 MB) | {} |\n",
        verdict(flat_after_half)
    );

    let _ = writeln!(
        r,
        "## Politeness cost in steady state ({polls} polls, `--poll-interval 1s`)\n"
    );
    let _ = writeln!(
        r,
        "| kind | status | requests | per poll |\n| --- | --- | --- | --- |"
    );
    let mut conditional = 0;
    let mut unconditional_pages = 0;
    for ((kind, status), count) in politeness {
        let _ = writeln!(
            r,
            "| {kind} | {status} | {count} | {:.1} |",
            *count as f64 / polls as f64
        );
        if (kind == "feed" || kind == "listing") && *status == 304 {
            conditional += count;
        }
        if kind == "statement page" {
            unconditional_pages += count;
        }
    }
    let listing_total: usize = politeness
        .iter()
        .filter(|((k, _), _)| k == "feed" || k == "listing")
        .map(|(_, c)| c)
        .sum();
    let _ = writeln!(
        r,
        "\n{listing_total} feed/listing requests = {:.1} per poll (2 languages x (feed + 6 sections) = 14 expected), {conditional} of them answered 304; \
         {unconditional_pages} statement pages fetched.\n",
        listing_total as f64 / polls as f64
    );
    let _ = writeln!(
        r,
        "| budget | verdict |\n| --- | --- |\n| one conditional request per listing/feed per poll, no statement page refetched | {} |\n",
        verdict(
            listing_total == 14 * polls && conditional == listing_total && unconditional_pages == 0
        )
    );

    let _ = writeln!(r, "## Freshness (`--poll-interval {interval}s`)\n");
    let _ = writeln!(
        r,
        "| statement | released after (s into the wait) | stored and served after (s) |\n| --- | --- | --- |"
    );
    for (id, offset, secs) in freshness {
        let _ = writeln!(r, "| {id} | {:.1} | {secs:.2} |", offset.as_secs_f64());
    }
    let max = freshness.iter().map(|f| f.2).fold(0.0_f64, f64::max);
    let _ = writeln!(
        r,
        "\nMax {max:.2} s vs budget poll interval + 2 s = {} s: {}. Measured from `release` on the fixture site to both \
         `GET /v1/speeches/mid.ru:{{id}}:en` and `:ru` answering 200.\n",
        interval + 2,
        verdict(max <= (interval + 2) as f64)
    );
    r
}
