//! `fixture-site`: serves the fixture corpus (a local copy of mid.ru) for demo runs.
//!
//! `fixture-site --listen 127.0.0.1:8700 [--corpus DIR] [--synthetic N] [--release-after 30s]`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use shared::config::{LogFormat, parse_duration};
use testkit::{Corpus, FixtureSite};

/// Serves a local copy of the ministry's site (listings, article pages, rss.php, robots.txt).
#[derive(Debug, Parser)]
#[command(name = "fixture-site", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FIXTURE_SITE_LISTEN", default_value = "127.0.0.1:8700")]
    listen: SocketAddr,

    /// Corpus directory (layout of tests/fixtures/site); defaults to the bundled corpus
    /// unless --synthetic is given alone.
    #[arg(long, env = "FIXTURE_SITE_CORPUS")]
    corpus: Option<PathBuf>,

    /// Also serve this many generated statements (ids 3000000 and up, dated 2022).
    #[arg(long)]
    synthetic: Option<usize>,

    /// Release the held-back statements after this delay ("a new statement appears").
    #[arg(long, value_parser = parse_duration)]
    release_after: Option<Duration>,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    shared::telemetry::init(args.log_format);

    let mut corpus = Corpus::default();
    let dir = match (&args.corpus, args.synthetic) {
        (Some(dir), _) => Some(dir.clone()),
        (None, None) => Some(FixtureSite::corpus_dir()),
        (None, Some(_)) => None,
    };
    if let Some(dir) = &dir {
        let loaded = Corpus::load(dir)
            .with_context(|| format!("cannot load the corpus in {}", dir.display()))?;
        corpus.extend(loaded);
    }
    if let Some(n) = args.synthetic {
        corpus.extend(Corpus::synthetic(n));
    }
    let count = corpus.len();
    let site = FixtureSite::serve(args.listen, corpus, true)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; pick a free address with --listen",
                args.listen
            )
        })?;
    let held = site.held_back();
    tracing::info!(
        base_url = %site.base_url(),
        statements = count,
        held_back = held.len(),
        "fixture site serving"
    );

    let shutdown = shared::shutdown::on_signals();
    if let Some(delay) = args.release_after
        && !held.is_empty()
    {
        tracing::info!(ids = ?held, after = ?delay, "held-back statements will be released");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {
                let released = site.release_all();
                tracing::info!(ids = ?released, "released held-back statements: a new statement appears");
            }
            _ = shutdown.cancelled() => {}
        }
    }
    shutdown.cancelled().await;
    tracing::info!("fixture site stopping");
    Ok(())
}
