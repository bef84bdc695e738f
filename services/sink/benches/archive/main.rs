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
use sink::store::AnyStore;
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

/// Starts the release sink on `database_url` with a private nats-server; waits until the API
/// answers.
async fn serve(database_url: &str, nats: &NatsServer) -> Result<Served> {
    let port = testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env: Vec<(String, String)> = nats.env(Identity::Sink);
    env.push(("NATS_URL".into(), nats.url()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sink = Service::spawn(
        "sink",
        &["--database-url", database_url, "--listen", &listen],
        &env_refs,
    );
    let base = format!("http://{listen}");
    let client = queries::client();
    for _ in 0..600 {
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
        "the sink did not answer within 60 s; its log:\n{}",
        sink.log()
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    testkit::services::install_crypto();
    let archive = Archive::new(args.records);
    let nats = NatsServer::start();
    let mut report = report::Report::new(&args.records);
    for store in &args.stores {
        let dir = TempDir::new("archive-bench");
        let pg;
        let url = match store.as_str() {
            "postgres" => {
                pg = TempDatabase::create("archive_bench");
                pg.url()
            }
            "sqlite" => format!("sqlite://{}", dir.path().join("archive.db").display()),
            other => anyhow::bail!("unknown store {other:?}: give postgres or sqlite"),
        };
        eprintln!("==> {store}: writing {} records", args.records);
        let opened = AnyStore::open(&url)
            .await
            .with_context(|| format!("cannot open {store}"))?;
        let written = writes::write_archive(&opened, &archive).await?;
        eprintln!("    {}", written.summary());
        opened.close().await;
        let served = serve(&url, &nats).await?;
        eprintln!("==> {store}: query shapes ({} samples each)", args.samples);
        let shapes = queries::measure(&served.base, &archive, args.samples).await?;
        eprintln!("==> {store}: exports");
        let exports = exports::measure(&served, dir.path()).await?;
        let load = if store == "postgres" && args.load_seconds > 0 {
            eprintln!(
                "==> {store}: load run, {} clients for {} s",
                args.clients, args.load_seconds
            );
            Some(loadgen::run(&served, &archive, args.clients, args.load_seconds).await?)
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
