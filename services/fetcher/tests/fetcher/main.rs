//! Integration tests: the fetcher library (and binary) against the fixture site and a private
//! nats-server. They panic when nats-server is missing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use fetcher::{Cli, FetcherError};
use shared::messages::{RawPage, hex_digest};
use shared::subjects::RAW_STREAM;
use testkit::{Fault, FixtureSite, Identity, LoggedRequest, NatsServer};
use tokio_util::sync::CancellationToken;
use url::Url;

/// The fixture site, a private NATS, and a client to read what was published.
struct Harness {
    site: FixtureSite,
    nats: NatsServer,
}

impl Harness {
    async fn start() -> Harness {
        let nats = NatsServer::start();
        let site = FixtureSite::start().await;
        Harness { site, nats }
    }

    /// Fast, test-friendly flags plus `extra`.
    fn cli(&self, extra: &[&str]) -> Cli {
        let base = self.site.base_url();
        let nats = self.nats.url();
        let auth = self.nats.auth_args(Identity::Fetcher);
        let password_file = auth
            .nats_password_file
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let defaults: [(&str, &str); 8] = [
            ("--base-url", &base),
            ("--nats-url", &nats),
            ("--nats-user", "fetcher"),
            ("--nats-password-file", &password_file),
            ("--request-interval", "0s"),
            ("--retry-base", "50ms"),
            ("--retry-max", "3s"),
            ("--circuit-threshold", "100"),
        ];
        let mut args: Vec<&str> = vec!["fetcher"];
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend_from_slice(extra);
        Cli::try_parse_from(args).unwrap_or_else(|e| panic!("bad test flags: {e}"))
    }

    async fn run(&self, extra: &[&str]) -> Result<(), FetcherError> {
        fetcher::run(self.cli(extra), CancellationToken::new()).await
    }

    async fn once(&self, extra: &[&str]) {
        let mut args = vec!["--once"];
        args.extend_from_slice(extra);
        if let Err(err) = self.run(&args).await {
            panic!("fetcher --once failed: {err}");
        }
    }

    /// Every raw page on the stream, in order.
    async fn raw_pages(&self) -> Vec<RawPage> {
        let client = testkit::connect_nats(&self.nats.operator_url()).await;
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(RAW_STREAM).await.expect("RAW_PAGES exists");
        let info = stream.get_info().await.expect("stream info");
        let mut pages = Vec::new();
        for seq in info.state.first_sequence..=info.state.last_sequence {
            if info.state.messages == 0 {
                break;
            }
            let msg = stream.get_raw_message(seq).await.expect("read raw page");
            pages.push(RawPage::from_json(&msg.payload).expect("valid raw page"));
        }
        pages
    }

    /// (doc id, lang) of every visible statement.
    fn visible(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .site
            .statements()
            .into_iter()
            .flat_map(|(id, langs)| langs.into_iter().map(move |l| (id.clone(), l)))
            .filter(|(_, l)| l == "en" || l == "ru")
            .collect();
        all.sort();
        all
    }
}

/// The `n`-th visible statement (newest first) that has both an English and a Russian page.
fn bilingual(site: &FixtureSite, n: usize) -> String {
    site.statements()
        .into_iter()
        .filter(|(_, langs)| langs.iter().any(|l| l == "en") && langs.iter().any(|l| l == "ru"))
        .nth(n)
        .map(|(id, _)| id)
        .expect("enough bilingual statements in the corpus")
}

fn keys(pages: &[RawPage]) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = pages
        .iter()
        .map(|p| (p.doc_id.clone(), p.lang.to_string()))
        .collect();
    keys.sort();
    keys
}

/// Whether a request is for a statement page (a path ending in a numeric id).
fn is_statement(r: &LoggedRequest) -> bool {
    let path = r.path.split('?').next().unwrap_or("");
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|seg| seg.len() >= 5 && seg.bytes().all(|b| b.is_ascii_digit()))
}

fn statement_fetches(requests: &[LoggedRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in requests
        .iter()
        .filter(|r| is_statement(r) && r.status == 200)
    {
        *counts.entry(r.path.clone()).or_insert(0) += 1;
    }
    counts
}

mod backfill;
mod binary;
mod concurrency;
mod extra_ca;
mod large_pages;
mod leader;
mod politeness;
mod poll;
mod shutdown;
mod steady_state;

#[test]
fn statement_paths_are_recognised() {
    let r = |path: &str| LoggedRequest {
        method: "GET".into(),
        path: path.into(),
        status: 200,
        if_none_match: None,
        if_modified_since: None,
        user_agent: None,
    };
    assert!(is_statement(&r("/en/foreign_policy/news/1950001/")));
    assert!(!is_statement(&r(
        "/en/foreign_policy/news/?activeFrom=01.07.2024&activeTo=01.07.2024"
    )));
    assert!(!is_statement(&r("/en/rss.php")));
}
