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

mod db;
mod drain;
mod procs;
mod report;

use db::*;
use drain::*;
use procs::*;
use report::*;

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
