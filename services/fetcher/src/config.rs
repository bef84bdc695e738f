//! The command line: `fetcher`, `fetcher backfill`, `fetcher healthcheck`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use shared::config::{CommonArgs, parse_duration};
use shared::messages::Lang;

use crate::source::{Source, SourceError};

/// `--request-interval` when neither the flag nor the source's profile sets it.
pub const DEFAULT_REQUEST_INTERVAL: Duration = Duration::from_secs(2);
/// `--poll-interval` when the flag is not given.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(600);

/// The default User-Agent: the project and a contact URL.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "ministry-feed/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/ministry-feed/ministry-feed)"
);

/// Finds new statements on one source (mid.ru by default) and publishes the raw pages to NATS
/// JetStream.
#[derive(Debug, Clone, Parser)]
#[command(name = "fetcher", version, about)]
pub struct Cli {
    /// What to do (default: poll continuously).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How to fetch.
    #[command(flatten)]
    pub fetch: FetchArgs,
    /// NATS, logs, metrics.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Walks the date-filtered listings day by day (resumable) and publishes what is missing.
    Backfill {
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: NaiveDate,
        /// Last day, inclusive (YYYY-MM-DD).
        #[arg(long)]
        to: NaiveDate,
    },
    /// Probes /healthz of a running fetcher on --metrics-listen (for container health checks).
    Healthcheck,
}

/// Fetching flags.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// The built-in source to fetch: mid.ru, kremlin.ru or fmprc.gov.cn.
    #[arg(long, env = "SOURCE", default_value = "mid.ru", global = true)]
    pub source: String,
    /// A user's source profile (TOML, see the README's "Adding a source"), instead of a
    /// built-in one.
    #[arg(long, env = "SOURCE_FILE", global = true)]
    pub source_file: Option<PathBuf>,
    /// Where to fetch the site from (a mirror, the fixture site): one URL for every
    /// language, or LANG=URL,LANG=URL. Scheme, host and port replace those of the profile's
    /// base URLs; the paths stay. Default: the profile's base URLs.
    #[arg(long, env = "BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Languages, comma-separated (default: the profile's `fetch.langs`, else all its
    /// languages; mid.ru: en,ru).
    #[arg(long, env = "LANGS", value_delimiter = ',', global = true)]
    pub langs: Option<Vec<Lang>>,
    /// Time between polls (default 10m).
    #[arg(long, env = "POLL_INTERVAL", value_parser = parse_duration, global = true)]
    pub poll_interval: Option<Duration>,
    /// Pause between two requests to one host (0s allowed; default: the profile's, else 2s).
    #[arg(long, env = "REQUEST_INTERVAL", value_parser = parse_duration, global = true)]
    pub request_interval: Option<Duration>,
    /// Poll once, publish, exit 0 when everything is acknowledged.
    #[arg(long, global = true)]
    pub once: bool,
    /// Section paths, comma-separated (default: the profile's sections). A path naming a
    /// section of the profile takes that section's path in each language (mid.ru's comments
    /// are `kommentarii` in Russian).
    #[arg(long, env = "SECTIONS", value_delimiter = ',', global = true)]
    pub sections: Option<Vec<String>>,
    /// Statements published this recently are re-checked for edits at every poll.
    #[arg(long, env = "RECHECK_WINDOW", default_value = "7d", value_parser = parse_duration, global = true)]
    pub recheck_window: Duration,
    /// Spacing of re-checks as a fraction of a statement's age: one is re-checked when the
    /// time since its last check reaches this fraction of its age (0.25: an hour-old statement
    /// every 15 minutes, a day-old one every 6 hours). 0 re-checks at every poll.
    #[arg(long, env = "RECHECK_SPACING", default_value_t = 0.25, value_parser = parse_fraction, global = true)]
    pub recheck_spacing: f64,
    /// User-Agent of every request.
    #[arg(long, env = "USER_AGENT", default_value = DEFAULT_USER_AGENT, global = true)]
    pub user_agent: String,
    /// PEM bundle of extra root certificates (e.g. the Russian national root CA). TLS
    /// verification itself cannot be turned off.
    #[arg(long, env = "EXTRA_CA_FILE", global = true)]
    pub extra_ca_file: Option<PathBuf>,
    /// Largest response body read, in bytes.
    #[arg(long, env = "MAX_RESPONSE_BYTES", default_value_t = 10 * 1024 * 1024, global = true)]
    pub max_response_bytes: u64,
    /// Connect timeout.
    #[arg(long, env = "CONNECT_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub connect_timeout: Duration,
    /// Total timeout of one request.
    #[arg(long, env = "TIMEOUT", default_value = "60s", value_parser = parse_duration, global = true)]
    pub timeout: Duration,
    /// Attempts per request (first included) on 429/503, challenges, resets and timeouts.
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 6, global = true)]
    pub max_attempts: u32,
    /// First retry delay (grows exponentially, with jitter).
    #[arg(long, env = "RETRY_BASE", default_value = "5s", value_parser = parse_duration, global = true)]
    pub retry_base: Duration,
    /// Longest retry delay, and the cap on Retry-After.
    #[arg(long, env = "RETRY_MAX", default_value = "10m", value_parser = parse_duration, global = true)]
    pub retry_max: Duration,
    /// Consecutive failed requests that pause the host.
    #[arg(long, env = "CIRCUIT_THRESHOLD", default_value_t = 5, global = true)]
    pub circuit_threshold: u32,
    /// How long the host is paused.
    #[arg(long, env = "CIRCUIT_COOLDOWN", default_value = "5m", value_parser = parse_duration, global = true)]
    pub circuit_cooldown: Duration,
    /// How long the leader lease lasts unless renewed: a standby takes over at most this
    /// long (plus --lease-renew) after the active replica dies.
    #[arg(long, env = "LEASE_TTL", default_value = "15s", value_parser = parse_duration, global = true)]
    pub lease_ttl: Duration,
    /// How often the active replica renews the lease (and a standby reads it).
    #[arg(long, env = "LEASE_RENEW", default_value = "5s", value_parser = parse_duration, global = true)]
    pub lease_renew: Duration,
    /// How long `--once` and `backfill` wait for a lease another replica holds before failing.
    #[arg(long, env = "LEASE_WAIT", default_value = "60s", value_parser = parse_duration, global = true)]
    pub lease_wait: Duration,
    /// Statement pages (and re-checks, and a backfill day's listings) fetched and published
    /// at once. With --request-interval above 0 requests still go out one at a time, spaced
    /// by the interval; concurrency then only overlaps the key-value reads, the publishes
    /// and their acknowledgements with the requests.
    #[arg(long, env = "FETCH_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub fetch_concurrency: u32,
}

impl FetchArgs {
    /// The source these flags name, compiled for fetching: `--source-file` or `--source`,
    /// moved onto `--base-url`, limited to `--langs` and `--sections`.
    pub fn source(&self) -> Result<Source, SourceError> {
        Source::load(
            &self.source,
            self.source_file.as_deref(),
            self.base_url.as_deref(),
            self.langs.as_deref(),
            self.sections.as_deref(),
        )
    }
}

/// A number from 0 to 1.
fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "{text:?} is not a fraction from 0 to 1 (e.g. 0.25; 0 re-checks at every poll)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["fetcher"]).unwrap();
        assert!(cli.command.is_none());
        let f = cli.fetch;
        assert_eq!(f.source, "mid.ru");
        assert!(f.base_url.is_none() && f.langs.is_none() && f.sections.is_none());
        assert!(f.poll_interval.is_none() && f.request_interval.is_none());
        // mid.ru's profile gives the documented defaults.
        let source = f.source().unwrap();
        assert_eq!(source.name(), "mid.ru");
        assert_eq!(source.langs, vec![Lang::En, Lang::Ru]);
        assert_eq!(source.sections.len(), 6);
        assert_eq!(
            source.site.base(Lang::En).unwrap().as_str(),
            "https://mid.ru/en/"
        );
        assert_eq!(
            source.profile.fetch.politeness.request_interval(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(f.recheck_window, Duration::from_secs(7 * 86400));
        assert_eq!(f.recheck_spacing, 0.25);
        assert_eq!(f.max_response_bytes, 10 * 1024 * 1024);
        assert!(f.user_agent.starts_with("ministry-feed/"));
        assert!(f.user_agent.contains("(+https://"));
        assert_eq!(f.lease_ttl, Duration::from_secs(15));
        assert_eq!(f.lease_renew, Duration::from_secs(5));
        assert_eq!(f.lease_wait, Duration::from_secs(60));
        assert_eq!(f.fetch_concurrency, 4);
    }

    #[test]
    fn backfill_and_flags() {
        let cli = Cli::try_parse_from([
            "fetcher",
            "backfill",
            "--from",
            "2022-01-01",
            "--to",
            "2022-12-31",
            "--request-interval",
            "0s",
            "--langs",
            "ru",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Backfill { .. })));
        assert_eq!(cli.fetch.request_interval, Some(Duration::ZERO));
        assert_eq!(cli.fetch.langs, Some(vec![Lang::Ru]));
        assert!(Cli::try_parse_from(["fetcher", "--langs", "xx"]).is_err());
        assert!(Cli::try_parse_from(["fetcher", "--poll-interval", "soon"]).is_err());
        assert!(Cli::try_parse_from(["fetcher", "--recheck-spacing", "2"]).is_err());
        assert!(Cli::try_parse_from(["fetcher", "--recheck-spacing", "NaN"]).is_err());
        assert!(Cli::try_parse_from(["fetcher", "--recheck-spacing", "0"]).is_ok());
        assert!(Cli::try_parse_from(["fetcher", "healthcheck"]).is_ok());
        assert!(Cli::try_parse_from(["fetcher", "--fetch-concurrency", "0"]).is_err());
        assert!(Cli::try_parse_from(["fetcher", "--fetch-concurrency", "65"]).is_err());
        let one = Cli::try_parse_from(["fetcher", "--fetch-concurrency", "1"]).unwrap();
        assert_eq!(one.fetch.fetch_concurrency, 1);
    }
}
