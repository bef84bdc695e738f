//! Waiting for the services, sampling them, and the drain run (each stage's capacity).

use super::*;

pub(crate) async fn wait_ready(url: &str, proc: &mut Proc) -> Result<()> {
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
pub(crate) fn start_watch(
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
pub(crate) async fn wait_stored(
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
pub(crate) struct Drain {
    pub(crate) fetch_secs: f64,
    pub(crate) fetcher_cpu: f64,
    pub(crate) fetcher_hwm: u64,
    pub(crate) pages: u64,
    pub(crate) drain_wall_secs: f64,
    pub(crate) commit_span_secs: f64,
    pub(crate) parser_cpu: f64,
    pub(crate) sink_cpu: f64,
    pub(crate) parser_hwm: u64,
    pub(crate) sink_hwm: u64,
    pub(crate) parser_end: Option<u64>,
    pub(crate) sink_end: Option<u64>,
    pub(crate) fetch_machine_busy: f64,
    pub(crate) drain_machine_busy: f64,
}

/// The downstream capacity: a backfill into JetStream with no parser or sink running (the
/// fetcher alone), then the parser and sink started on the full stream.
pub(crate) async fn drain(
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

pub(crate) async fn drain_inner(
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

pub(crate) fn render_drain(d: &Drain) -> String {
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
