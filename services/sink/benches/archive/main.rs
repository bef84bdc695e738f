//! The archive benchmark (issue 12): a generated archive of 300,000 records
//! (`testkit::archive`) written through the store's own write path into PostgreSQL and
//! SQLite, then the release `sink` binary serving it, measured over HTTP:
//! * the write rate, overall and into the full archive (its last tenth);
//! * every query shape of the API (searches, listings with each filter, deep cursor pages, a
//!   record, its versions, the Atom feed): p50/p95/p99 per shape and store;
//! * the exports: JSON Lines and Parquet over HTTP, `sink export --dataset` (speed, peak RSS);
//! * a load run of 64 clients for 60 s on a mix of list/get/search/feed, and an overload burst
//!   beyond the sink's concurrency limit (503 with Retry-After, and how fast).
//!
//! Run it through `scripts/bench archive` (it builds the release binaries, ensures
//! PostgreSQL and nats-server); the Markdown report goes to `target/bench/archive.md`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod exports;
mod loadgen;
mod queries;
mod report;
mod rss;
mod writes;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;
use sink::store::{AnyStore, Query, Store as _};
use testkit::archive::Archive;
use testkit::{Identity, NatsServer, Service, TempDatabase, TempDir};

/// Flags of the archive benchmark (after `cargo bench -p sink --bench archive --`).
#[derive(Debug, Parser)]
struct Args {
    /// Records in the archive.
    #[arg(long, default_value_t = 300_000)]
    records: u64,
    /// Stores to measure: postgres, sqlite (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
    stores: Vec<String>,
    /// Timed requests per query shape.
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Concurrent clients of the load run.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Length of the load run, seconds (0: no load run).
    #[arg(long, default_value_t = 60)]
    load_seconds: u64,
    /// The kinds of request the load run draws (list, get, search, feed; comma-separated):
    /// all four make the mix, fewer show what each kind costs alone.
    #[arg(long, value_delimiter = ',', default_value = "list,get,search,feed")]
    load_kinds: Vec<String>,
    /// A database to use instead of a temporary one (`postgres://…` or `sqlite://PATH`, one
    /// per store; repeatable). It is kept afterwards, and when it already holds the archive
    /// the writing step is skipped, so that query shapes can be measured again without
    /// reloading 300,000 records.
    #[arg(long = "database-url")]
    database_urls: Vec<String>,
    /// Measure only the query shapes (no exports, no load run).
    #[arg(long)]
    queries_only: bool,
    /// Measure only the query shapes whose name contains this text (e.g. `search`).
    #[arg(long)]
    shapes: Option<String>,
    /// Where the Markdown report goes.
    #[arg(long, default_value = "target/bench/archive.md")]
    out: PathBuf,
    /// `cargo bench` passes `--bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One store's archive, served by a running sink.
pub struct Served {
    /// The sink's API base URL.
    pub base: String,
    /// The database URL (for `sink export`).
    pub database_url: String,
    /// The sink process.
    pub sink: Service,
}

/// The sink's caches turned off: the query shapes measure what answering a query costs, not
/// what serving it again from a cache costs (the exports and the load run use the defaults).
const CACHES_OFF: [&str; 6] = [
    "--search-cache-pages",
    "0",
    "--listing-cache-mb",
    "0",
    "--record-cache-mb",
    "0",
];

/// Starts the release sink on `database_url` with a private nats-server and `extra` arguments;
/// waits until the API answers (after the migrations, which may rebuild indexes of a large
/// archive).
async fn serve(database_url: &str, nats: &NatsServer, extra: &[&str]) -> Result<Served> {
    let port = testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env: Vec<(String, String)> = nats.env(Identity::Sink);
    env.push(("NATS_URL".into(), nats.url()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut args = vec!["--database-url", database_url, "--listen", &listen];
    args.extend_from_slice(extra);
    let mut sink = Service::spawn("sink", &args, &env_refs);
    let base = format!("http://{listen}");
    let client = queries::client();
    // Migrations run before the API listens; rebuilding an index of a large archive takes
    // minutes, so wait as long as the sink runs (at most 30 min).
    for _ in 0..18_000 {
        if !sink.is_running() {
            break;
        }
        if let Ok(r) = client
            .get(format!("{base}/v1/speeches?limit=1"))
            .send()
            .await
            && r.status().is_success()
        {
            return Ok(Served {
                base,
                database_url: database_url.to_string(),
                sink,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "the sink stopped or did not answer within 30 min; its log:\n{}",
        sink.log()
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(kind) = args
        .load_kinds
        .iter()
        .find(|k| !loadgen::KINDS.contains(&k.as_str()))
    {
        anyhow::bail!(
            "unknown --load-kinds {kind:?}: give some of {}",
            loadgen::KINDS.join(",")
        );
    }
    testkit::services::install_crypto();
    let archive = Archive::new(args.records);
    let nats = NatsServer::start();
    let mut report = report::Report::new(&args.records);
    for store in &args.stores {
        let dir = TempDir::new("archive-bench");
        let pg;
        let scheme = match store.as_str() {
            "postgres" => "postgres",
            "sqlite" => "sqlite",
            other => anyhow::bail!("unknown store {other:?}: give postgres or sqlite"),
        };
        let given = args
            .database_urls
            .iter()
            .find(|u| u.starts_with(scheme))
            .cloned();
        let url = match (given.clone(), scheme) {
            (Some(url), _) => url,
            (None, "postgres") => {
                pg = TempDatabase::create("archive_bench");
                pg.url()
            }
            (None, _) => format!("sqlite://{}", dir.path().join("archive.db").display()),
        };
        let opened = AnyStore::open(&url)
            .await
            .with_context(|| format!("cannot open {store}"))?;
        let present = opened.count(&Query::default()).await?;
        let written = if given.is_some() && present > 0 {
            eprintln!("==> {store}: {present} records already in {url}: not writing");
            anyhow::ensure!(
                present == args.records,
                "{url} holds {present} records, not --records {}: give the matching --records",
                args.records
            );
            None
        } else {
            eprintln!("==> {store}: writing {} records", args.records);
            let written = writes::write_archive(&opened, &archive).await?;
            eprintln!("    {}", written.summary());
            Some(written)
        };
        opened.close().await;
        let mut uncached = serve(&url, &nats, &CACHES_OFF).await?;
        eprintln!(
            "==> {store}: query shapes ({} samples each, caches off)",
            args.samples
        );
        let shapes = queries::measure(
            &uncached.base,
            &archive,
            args.samples,
            args.shapes.as_deref(),
        )
        .await?;
        uncached.sink.terminate().await;
        if args.queries_only {
            report.add(store, written, shapes, Vec::new(), None);
            continue;
        }
        let served = serve(&url, &nats, &[]).await?;
        eprintln!("==> {store}: exports");
        let exports = exports::measure(&served, dir.path()).await?;
        let load = if store == "postgres" && args.load_seconds > 0 {
            eprintln!(
                "==> {store}: load run, {} clients for {} s",
                args.clients, args.load_seconds
            );
            Some(
                loadgen::run(
                    &served,
                    &archive,
                    args.clients,
                    args.load_seconds,
                    &args.load_kinds,
                )
                .await?,
            )
        } else {
            None
        };
        let mut sink = served.sink;
        sink.terminate().await;
        report.add(store, written, shapes, exports, load);
    }
    let text = report.render();
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, &text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{text}");
    eprintln!("report: {}", args.out.display());
    Ok(())
}
