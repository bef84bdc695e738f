//! The figures of a run and the Markdown report.

use super::*;

#[derive(Debug, Default)]
pub(crate) struct Backfill {
    pub(crate) pages: u64,
    pub(crate) backfill_secs: f64,
    pub(crate) wall_secs: f64,
    pub(crate) sql_span_secs: f64,
    pub(crate) sustained_pps: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) requests: BTreeMap<(String, u16), usize>,
    pub(crate) max_day_items: usize,
    pub(crate) machine_busy: f64,
    pub(crate) days: i64,
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
}

/// One service's memory row: name, peak VmHWM, RSS at 10 %, 25 %, 50 % and 75 % of the pages
/// stored, RSS at the end (kB), CPU seconds.
type MemoryRow = (String, u64, Vec<Option<u64>>, Option<u64>, f64);

#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// Per service: peak VmHWM, RSS along the run, RSS at the end, CPU seconds.
    pub(crate) rows: Vec<MemoryRow>,
    pub(crate) nats_cpu: Option<f64>,
    pub(crate) nats_hwm: Option<u64>,
    pub(crate) bench_cpu: Option<f64>,
}

pub(crate) fn kind_of(path: &str) -> &'static str {
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

pub(crate) fn count_requests(requests: &[LoggedRequest]) -> BTreeMap<(String, u16), usize> {
    let mut counts = BTreeMap::new();
    for r in requests {
        *counts
            .entry((kind_of(&r.path).to_string(), r.status))
            .or_insert(0) += 1;
    }
    counts
}

pub(crate) fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

pub(crate) fn machine() -> String {
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

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

pub(crate) fn render(
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
