//! `soak`: the whole deployment under random faults for many minutes, then an independent
//! check that every statement and edit published was stored exactly once.
//!
//! `soak [--minutes N] [--seed S] [--sabotage duplicate-version|drop-record]`
//! (`scripts/soak` builds and runs it). Exits 0 when the checker passes, 1 when it fails.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use shared::config::parse_duration;
use testkit::soak::observe::Sabotage;
use testkit::soak::{Options, run};

/// Runs a fault soak of the whole pipeline and checks the end state.
#[derive(Debug, Parser)]
#[command(name = "soak", version)]
struct Args {
    /// Minutes of faults and publishing (then the faults heal and the pipeline drains).
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Seed of the fault schedule and the publications (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Break idempotency on purpose (from outside, in the database) to see the checker fail.
    #[arg(long, value_enum)]
    sabotage: Option<Sabotage>,
    /// Directory for summary.txt, events.log, publications.jsonl (and logs on failure).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Largest resident memory allowed per service, MiB.
    #[arg(long, default_value_t = 512)]
    max_rss_mib: u64,
    /// Most open file descriptors allowed per service.
    #[arg(long, default_value_t = 1024)]
    max_fds: usize,
    /// How long the pipeline may take to drain once the faults heal.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    drain_timeout: Duration,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.minutes > 0.0 && args.minutes.is_finite(),
        "--minutes must be a positive number of minutes (e.g. 2.5 or 30)"
    );
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() % 1_000_000)
            .unwrap_or(1)
    });
    let out = args.out.unwrap_or_else(|| {
        testkit::workspace_root()
            .join("target/soak")
            .join(format!("seed-{seed}-{}", std::process::id()))
    });
    let options = Options {
        minutes: args.minutes,
        seed,
        sabotage: args.sabotage,
        out,
        max_rss_mib: args.max_rss_mib,
        max_fds: args.max_fds,
        drain_timeout: args.drain_timeout,
    };
    testkit::install_crypto();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let passed = runtime.block_on(run(&options))?;
    // The deployment's processes are killed as their handles drop with the runtime's tasks.
    drop(runtime);
    std::process::exit(if passed { 0 } else { 1 });
}
