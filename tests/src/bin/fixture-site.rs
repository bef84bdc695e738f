//! `fixture-site`: serves a fixture corpus (a local copy of mid.ru, or of another source) for
//! demo runs.
//!
//! `fixture-site --listen 127.0.0.1:8700 [--corpus DIR] [--synthetic N] [--release-after 30s]`
//! `fixture-site --source kremlin.ru --listen 127.0.0.1:8701 --listen-2 127.0.0.1:8702`
//! `fixture-site --source fmprc.gov.cn --listen 127.0.0.1:8703`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use shared::config::{LogFormat, parse_duration};
use testkit::{Corpus, FixtureSite, SourceSite};

/// Serves a local copy of a source's site (listings, article pages, feeds, robots.txt).
#[derive(Debug, Parser)]
#[command(name = "fixture-site", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FIXTURE_SITE_LISTEN", default_value = "127.0.0.1:8700")]
    listen: SocketAddr,

    /// The source to serve: mid.ru (default), kremlin.ru, fmprc.gov.cn, or the name of a
    /// folder in tests/fixtures/sources/ (a user's site with served/ files).
    #[arg(long, env = "FIXTURE_SITE_SOURCE", default_value = "mid.ru")]
    source: String,

    /// Second address, for a source with two hosts (kremlin.ru: en.kremlin.ru).
    #[arg(long = "listen-2", env = "FIXTURE_SITE_LISTEN_2")]
    listen_2: Option<SocketAddr>,

    /// Corpus directory (layout of tests/fixtures/site, or tests/fixtures/sources/NAME with
    /// --source); defaults to the bundled corpus of the source unless --synthetic is given
    /// alone.
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

    if args.source != "mid.ru" {
        let mut listen = vec![args.listen];
        listen.extend(args.listen_2);
        let dir = args
            .corpus
            .clone()
            .unwrap_or_else(|| SourceSite::corpus_dir(&args.source));
        let site = SourceSite::serve(&args.source, &dir, &listen, true)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot serve {}", args.source))?;
        tracing::info!(source = %args.source, base_url = %site.base_url_flag(), statements = site.visible().len(), "fixture site serving");
        shared::shutdown::on_signals().cancelled().await;
        tracing::info!("fixture site stopping");
        return Ok(());
    }

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
