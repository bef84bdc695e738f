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

mod poll {
    use super::*;

    #[tokio::test]
    async fn once_publishes_every_visible_statement_exactly_once() {
        let h = Harness::start().await;
        h.once(&[]).await;
        let pages = h.raw_pages().await;
        assert_eq!(
            keys(&pages),
            h.visible(),
            "every visible EN and RU statement, once"
        );
        for page in &pages {
            let served = h
                .site
                .page_bytes(&page.doc_id, page.lang.as_str())
                .expect("page exists");
            assert_eq!(
                page.body_sha256,
                hex_digest(&served),
                "{} {}",
                page.doc_id,
                page.lang
            );
            let body = page.body.decode_inline().expect("inline body");
            assert_eq!(body, served.to_vec());
            assert!(page.headers.contains_key("etag"), "{:?}", page.headers);
            assert!(page.headers["content-type"].starts_with("text/html"));
            let hint = page.listing.as_ref().expect("listing hint");
            assert!(
                hint.title.is_some() && hint.published_at.is_some(),
                "{hint:?}"
            );
            assert!(page.url.starts_with(&h.site.base_url()));
        }
        let requests = h.site.requests();
        assert!(requests.iter().all(|r| {
            r.user_agent
                .as_deref()
                .is_some_and(|ua| ua.starts_with("ministry-feed/"))
        }));
        assert!(requests.iter().any(|r| r.path == "/robots.txt"));
        assert!(
            !requests.iter().any(|r| r.path.contains("PAGEN")),
            "pagination is forbidden by robots.txt"
        );
        let fetched = statement_fetches(&requests);
        assert!(
            fetched.values().all(|&n| n == 1),
            "no page fetched twice: {fetched:?}"
        );

        // A second run: conditional requests, 304s, no statement refetched, nothing published.
        h.site.clear_requests();
        h.once(&[]).await;
        assert_eq!(h.raw_pages().await.len(), pages.len());
        let requests = h.site.requests();
        let listings: Vec<&LoggedRequest> = requests
            .iter()
            .filter(|r| {
                r.path.ends_with("rss.php") || (!is_statement(r) && r.path != "/robots.txt")
            })
            .collect();
        assert!(!listings.is_empty());
        for r in &listings {
            assert!(
                r.if_none_match.is_some() || r.if_modified_since.is_some(),
                "unconditional: {r:?}"
            );
            assert_eq!(r.status, 304, "{r:?}");
        }
        assert!(statement_fetches(&requests).is_empty(), "{requests:#?}");
    }

    #[tokio::test]
    async fn two_replicas_publish_each_statement_once() {
        let h = Harness::start().await;
        let (a, b) = tokio::join!(h.run(&["--once"]), h.run(&["--once"]));
        a.expect("first replica");
        b.expect("second replica");
        assert_eq!(keys(&h.raw_pages().await), h.visible());
        // Their shared state: a third run fetches no statement page.
        h.site.clear_requests();
        h.once(&[]).await;
        assert!(statement_fetches(&h.site.requests()).is_empty());
    }

    #[tokio::test]
    async fn a_released_statement_is_picked_up_by_the_next_poll() {
        let h = Harness::start().await;
        let held = h.site.held_back();
        assert!(!held.is_empty(), "the corpus holds a statement back");
        h.once(&[]).await;
        let before = h.raw_pages().await.len();
        h.site.release(&held[0]);
        h.site.clear_requests();
        h.once(&[]).await;
        let pages = h.raw_pages().await;
        let new: Vec<&RawPage> = pages[before..].iter().collect();
        let langs = h
            .site
            .statements()
            .into_iter()
            .find(|(id, _)| *id == held[0])
            .map(|(_, langs)| langs)
            .unwrap_or_default();
        assert_eq!(new.len(), langs.len(), "{new:?}");
        assert!(new.iter().all(|p| p.doc_id == held[0]));
        assert_eq!(keys(&pages), h.visible());
        // Only the new statement's pages were fetched.
        let fetched = statement_fetches(&h.site.requests());
        assert!(fetched.keys().all(|p| p.contains(&held[0])), "{fetched:?}");
    }

    #[tokio::test]
    async fn an_edited_page_is_republished_exactly_once() {
        let h = Harness::start().await;
        let window = ["--recheck-window", "100000d"];
        h.once(&window).await;
        let before = h.raw_pages().await;
        let doc = before[0].doc_id.clone();
        h.site.edit(&doc, "en", |html| {
            html.replacen("</body>", "<p>Corrected.</p></body>", 1)
        });
        h.once(&window).await;
        let after = h.raw_pages().await;
        assert_eq!(after.len(), before.len() + 1);
        let edited = &after[before.len()];
        assert_eq!(
            (edited.doc_id.as_str(), edited.lang.as_str()),
            (doc.as_str(), "en")
        );
        let served = h.site.page_bytes(&doc, "en").expect("page");
        assert_eq!(edited.body_sha256, hex_digest(&served));
        assert!(edited.listing.as_ref().is_some_and(|l| l.title.is_some()));
        // Re-checks are conditional: the next poll publishes nothing.
        h.site.clear_requests();
        h.once(&window).await;
        assert_eq!(h.raw_pages().await.len(), after.len());
        let rechecks: Vec<LoggedRequest> =
            h.site.requests().into_iter().filter(is_statement).collect();
        assert!(!rechecks.is_empty());
        assert!(
            rechecks
                .iter()
                .all(|r| r.status == 304 && r.if_none_match.is_some()),
            "{rechecks:#?}"
        );
    }
}

mod politeness {
    use super::*;

    #[tokio::test]
    async fn too_many_requests_with_retry_after_is_waited_out() {
        let h = Harness::start().await;
        h.site.inject(
            "/en/rss.php",
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
            1,
        );
        let started = Instant::now();
        h.once(&[]).await;
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After: 1 was not honoured"
        );
        let rss: Vec<u16> = h
            .site
            .requests()
            .iter()
            .filter(|r| r.path == "/en/rss.php")
            .map(|r| r.status)
            .collect();
        assert_eq!(rss, vec![429, 200]);
        assert_eq!(keys(&h.raw_pages().await), h.visible());
    }

    #[tokio::test]
    async fn unavailable_statement_page_is_retried() {
        let h = Harness::start().await;
        let doc = bilingual(&h.site, 0);
        let path = format!("/ru/foreign_policy/news/{doc}/");
        h.site.inject(
            &path,
            Fault::Unavailable {
                retry_after_secs: 0,
            },
            2,
        );
        h.once(&["--sections", "/foreign_policy/news/"]).await;
        let statuses: Vec<u16> = h
            .site
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(&format!("/{doc}/")) && r.path.starts_with("/ru/"))
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, vec![503, 503, 200]);
        assert_eq!(keys(&h.raw_pages().await), h.visible());
    }

    #[tokio::test]
    async fn connection_resets_are_retried() {
        let h = Harness::start().await;
        let doc = bilingual(&h.site, 1);
        let path = format!("/en/foreign_policy/news/{doc}/");
        h.site.inject(&path, Fault::Reset, 2);
        h.site.inject("/ru/rss.php", Fault::Reset, 1);
        h.once(&["--sections", "/foreign_policy/news/"]).await;
        let pages = h.raw_pages().await;
        assert_eq!(keys(&pages), h.visible());
        let resets = h.site.requests().iter().filter(|r| r.status == 0).count();
        assert_eq!(resets, 3);
    }

    #[tokio::test]
    async fn a_challenge_then_the_real_page_gives_one_raw_page() {
        let h = Harness::start().await;
        let doc = bilingual(&h.site, 2);
        let path = format!("/en/foreign_policy/news/{doc}/");
        h.site.inject(&path, Fault::Challenge, 2);
        h.site.inject("/en/rss.php", Fault::Challenge, 1);
        h.once(&["--sections", "/foreign_policy/news/"]).await;
        let pages = h.raw_pages().await;
        assert_eq!(
            keys(&pages),
            h.visible(),
            "one raw page each, the challenge never published"
        );
        let page = pages
            .iter()
            .find(|p| p.doc_id == doc && p.lang.as_str() == "en")
            .expect("published");
        let served = h.site.page_bytes(&doc, "en").expect("page");
        assert_eq!(page.body_sha256, hex_digest(&served));
        for p in &pages {
            let body =
                String::from_utf8_lossy(&p.body.decode_inline().expect("inline")).into_owned();
            assert!(
                !body.contains("bobcmn"),
                "a challenge page was published: {}",
                p.doc_id
            );
        }
        let fetches = h.site.requests().iter().filter(|r| r.path == path).count();
        assert_eq!(fetches, 3);
    }

    #[tokio::test]
    async fn the_circuit_breaker_pauses_the_site_after_consecutive_failures() {
        let h = Harness::start().await;
        h.site.inject("/en/rss.php", Fault::Reset, 3);
        let started = Instant::now();
        h.once(&[
            "--langs",
            "en",
            "--sections",
            "/foreign_policy/news/",
            "--circuit-threshold",
            "2",
            "--circuit-cooldown",
            "1s",
            "--max-attempts",
            "5",
        ])
        .await;
        // Two resets opened the circuit: the third attempt waited for the cooldown.
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "the circuit did not pause requests"
        );
        let statuses: Vec<u16> = h
            .site
            .requests()
            .iter()
            .filter(|r| r.path == "/en/rss.php")
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, vec![0, 0, 0, 200]);
        let en: Vec<(String, String)> =
            h.visible().into_iter().filter(|(_, l)| l == "en").collect();
        assert_eq!(keys(&h.raw_pages().await), en);
    }

    #[tokio::test]
    async fn requests_to_the_site_are_spaced_by_the_request_interval() {
        let h = Harness::start().await;
        let started = Instant::now();
        h.once(&[
            "--langs",
            "en",
            "--sections",
            "/foreign_policy/news/",
            "--request-interval",
            "50ms",
        ])
        .await;
        let requests = h.site.requests().len() as u32;
        assert!(requests > 10);
        // n requests need at least n - 1 intervals between them.
        assert!(started.elapsed() >= Duration::from_millis(50) * (requests - 1));
    }

    #[tokio::test]
    async fn a_robots_disallowed_url_is_never_requested() {
        let h = Harness::start().await;
        // The site redirects a listing to its (forbidden) second page.
        h.site.inject(
            "/en/foreign_policy/news/",
            Fault::Redirect("/en/foreign_policy/news/?PAGEN_1=2".into()),
            1,
        );
        let err = h
            .run(&[
                "--once",
                "--langs",
                "en",
                "--sections",
                "/foreign_policy/news/",
            ])
            .await
            .expect_err("the listing cannot be read");
        assert!(err.to_string().contains("robots.txt forbids"), "{err}");
        assert!(!h.site.requests().iter().any(|r| r.path.contains("PAGEN")));
        // The feed's statements were still published, and the next poll reads the listing.
        h.once(&["--langs", "en", "--sections", "/foreign_policy/news/"])
            .await;
        let en: Vec<(String, String)> =
            h.visible().into_iter().filter(|(_, l)| l == "en").collect();
        assert_eq!(keys(&h.raw_pages().await), en);
    }

    #[tokio::test]
    async fn a_missing_robots_txt_allows_everything() {
        let h = Harness::start().await;
        // robots.txt redirects (on the site) to a page that does not exist: 404.
        h.site.inject(
            "/robots.txt",
            Fault::Redirect("/no-robots-here.txt".into()),
            1,
        );
        h.once(&[
            "--langs",
            "en",
            "--sections",
            "/foreign_policy/news/",
            "--max-attempts",
            "1",
        ])
        .await;
        let robots: Vec<(String, u16)> = h
            .site
            .requests()
            .iter()
            .filter(|r| r.path.contains("robots"))
            .map(|r| (r.path.clone(), r.status))
            .collect();
        assert_eq!(
            robots,
            vec![
                ("/robots.txt".to_string(), 302),
                ("/no-robots-here.txt".to_string(), 404)
            ]
        );
        let en: Vec<(String, String)> =
            h.visible().into_iter().filter(|(_, l)| l == "en").collect();
        assert_eq!(keys(&h.raw_pages().await), en);
    }

    #[tokio::test]
    async fn redirects_to_other_hosts_are_refused() {
        let h = Harness::start().await;
        h.site.inject(
            "/en/rss.php",
            Fault::Redirect("http://example.com/en/rss.php".into()),
            1,
        );
        let err = h
            .run(&[
                "--once",
                "--langs",
                "en",
                "--sections",
                "/foreign_policy/news/",
            ])
            .await
            .expect_err("the feed redirects elsewhere");
        assert!(
            err.to_string().contains("not on the configured site"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn oversized_responses_are_refused() {
        let h = Harness::start().await;
        let err = h
            .run(&["--once", "--langs", "en", "--max-response-bytes", "2000"])
            .await
            .expect_err("every page is larger than 2000 bytes");
        assert!(err.to_string().contains("--max-response-bytes"), "{err}");
        assert!(h.raw_pages().await.is_empty());
    }
}

mod shutdown {
    use super::*;

    #[tokio::test]
    async fn shutdown_stops_between_requests_and_loses_nothing() {
        let h = Harness::start().await;
        let token = CancellationToken::new();
        let cli = h.cli(&["--request-interval", "100ms", "--poll-interval", "1h"]);
        let running = tokio::spawn(fetcher::run(cli, token.clone()));
        // Let it publish a few pages, then ask it to stop.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let fetched = h.site.requests().iter().filter(|r| is_statement(r)).count();
            if fetched >= 3 {
                break;
            }
            assert!(Instant::now() < deadline, "the fetcher fetched nothing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        token.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the fetcher stops promptly")
            .expect("join");
        assert!(result.is_ok(), "{result:?}");
        let partial = h.raw_pages().await;
        assert!(!partial.is_empty());
        assert!(
            partial.len() < h.visible().len(),
            "it stopped before the end"
        );
        // Every fetched page was published; a new run completes the rest without repeats.
        let fetched = h
            .site
            .requests()
            .iter()
            .filter(|r| is_statement(r) && r.status == 200)
            .count();
        assert_eq!(partial.len(), fetched);
        h.once(&[]).await;
        assert_eq!(keys(&h.raw_pages().await), h.visible());
    }
}

mod large_pages {
    use super::*;

    /// A nats-server whose max payload is `max_payload` bytes, killed on drop.
    struct SmallPayloadNats {
        child: std::process::Child,
        port: u16,
        _dir: testkit::TempDir,
    }

    impl SmallPayloadNats {
        fn start(max_payload: usize) -> Self {
            let dir = testkit::TempDir::new("nats-small");
            let port = testkit::free_port();
            let config = dir.path().join("nats.conf");
            std::fs::write(
                &config,
                format!(
                    "listen: 127.0.0.1:{port}\nmax_payload: {max_payload}\njetstream {{ store_dir: {:?} }}\n",
                    dir.path().join("js")
                ),
            )
            .expect("write nats.conf");
            let child = std::process::Command::new(testkit::nats::nats_server_bin())
                .arg("-c")
                .arg(&config)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start nats-server");
            let deadline = Instant::now() + Duration::from_secs(15);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nats-server with a small max_payload did not start"
                );
                std::thread::sleep(Duration::from_millis(25));
            }
            SmallPayloadNats {
                child,
                port,
                _dir: dir,
            }
        }

        fn url(&self) -> String {
            format!("nats://127.0.0.1:{}", self.port)
        }
    }

    impl Drop for SmallPayloadNats {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[tokio::test]
    async fn pages_over_the_max_payload_go_through_the_object_store() {
        let site = FixtureSite::start().await;
        let nats = SmallPayloadNats::start(6000);
        let base = site.base_url();
        let url = nats.url();
        let cli = Cli::try_parse_from([
            "fetcher",
            "--once",
            "--base-url",
            &base,
            "--nats-url",
            &url,
            "--request-interval",
            "0s",
            "--sections",
            "/foreign_policy/news/",
        ])
        .expect("flags");
        fetcher::run(cli, CancellationToken::new())
            .await
            .expect("poll");

        let client = async_nats::connect(url).await.expect("connect");
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(RAW_STREAM).await.expect("stream");
        let info = stream.get_info().await.expect("info");
        let (mut inline, mut stored) = (0, 0);
        let mut seen = Vec::new();
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let msg = stream.get_raw_message(seq).await.expect("message");
            assert!(msg.payload.len() <= 6000);
            let page = RawPage::from_json(&msg.payload).expect("raw page");
            match page.body {
                shared::messages::Body::Inline { .. } => inline += 1,
                shared::messages::Body::ObjectStore { .. } => stored += 1,
            }
            let body = shared::nats::raw_page_body(&js, &page).await.expect("body");
            let served = site
                .page_bytes(&page.doc_id, page.lang.as_str())
                .expect("page");
            assert_eq!(body, served.to_vec(), "{} {}", page.doc_id, page.lang);
            assert_eq!(page.body_sha256, hex_digest(&body));
            seen.push((page.doc_id.clone(), page.lang.to_string()));
        }
        seen.sort();
        let mut visible: Vec<(String, String)> = site
            .statements()
            .into_iter()
            .flat_map(|(id, langs)| langs.into_iter().map(move |l| (id.clone(), l)))
            .filter(|(_, l)| l == "en" || l == "ru")
            .collect();
        visible.sort();
        assert_eq!(seen, visible);
        assert!(
            stored > 0 && inline > 0,
            "inline {inline}, object store {stored}"
        );
    }
}

mod backfill {
    use super::*;

    #[tokio::test]
    async fn an_interrupted_backfill_resumes_without_refetching() {
        let h = Harness::start().await;
        let range = ["backfill", "--from", "2024-07-01", "--to", "2024-09-30"];
        let flags = [
            "--max-attempts",
            "2",
            "--sections",
            "/press_service/minister_speeches/,/foreign_policy/news/",
        ];
        // The first run dies on 2 September 2024: the listing resets every time.
        h.site.inject(
            "/en/press_service/minister_speeches/?activeFrom=02.09.2024",
            Fault::Reset,
            2,
        );
        let args: Vec<&str> = range.iter().chain(flags.iter()).copied().collect();
        let err = h
            .run(&args)
            .await
            .expect_err("the first run is interrupted");
        assert!(err.to_string().contains("2024-09-02"), "{err}");
        let first = h.site.requests();
        let first_pages = h.raw_pages().await;
        assert!(
            !first_pages.is_empty(),
            "July's statements were published before the failure"
        );

        h.site.clear_requests();
        h.run(&args).await.expect("the second run completes");
        let second = h.site.requests();
        // Resumed at the failed day: earlier days are not listed again.
        assert!(
            !second
                .iter()
                .any(|r| r.path.contains("activeFrom=01.07.2024"))
        );
        assert!(
            second
                .iter()
                .any(|r| r.path.contains("activeFrom=02.09.2024"))
        );
        assert!(
            second
                .iter()
                .any(|r| r.path.contains("activeFrom=30.09.2024"))
        );
        // No statement page fetched twice over both runs.
        let mut all = first.clone();
        all.extend(second.iter().cloned());
        let fetched = statement_fetches(&all);
        assert!(fetched.values().all(|&n| n == 1), "{fetched:?}");
        // Exactly the statements of the range, once each.
        let pages = h.raw_pages().await;
        let mut expected: Vec<(String, String)> = Vec::new();
        for (id, langs) in h.site.statements() {
            let meta = h.site.meta(&id).expect("meta");
            let in_sections = meta
                .sections
                .iter()
                .any(|s| s == "/press_service/minister_speeches/" || s == "/foreign_policy/news/");
            let day = &meta.published[..10];
            if in_sections && ("2024-07-01"..="2024-09-30").contains(&day) {
                for lang in langs.into_iter().filter(|l| l == "en" || l == "ru") {
                    expected.push((id.clone(), lang));
                }
            }
        }
        expected.sort();
        assert!(!expected.is_empty());
        assert_eq!(keys(&pages), expected);

        // A third run has nothing left to do.
        h.site.clear_requests();
        h.run(&args).await.expect("a finished backfill is a no-op");
        assert!(h.site.requests().is_empty());
    }
}

mod steady_state {
    use super::*;
    use fetcher::Fetcher;
    use fetcher::metrics::Metrics;
    use fetcher::state::SeenEntry;
    use futures_util::StreamExt as _;
    use prometheus_client::registry::Registry;

    /// A fetcher polled in-process (one robots.txt, as a long-running replica).
    async fn fetcher(h: &Harness, extra: &[&str]) -> Fetcher {
        let cli = h.cli(extra);
        let client = h.nats.client(Identity::Fetcher).await;
        let metrics = Metrics::register(&mut Registry::default());
        Fetcher::new(&cli.fetch, &client, 1, metrics, CancellationToken::new())
            .await
            .expect("fetcher")
    }

    #[derive(Debug, Default, PartialEq)]
    struct Cost {
        listings: usize,
        listings_304: usize,
        listings_unconditional: usize,
        statements_200: Vec<String>,
        statements_304: usize,
        statements_unconditional: usize,
        other: Vec<String>,
    }

    fn cost(requests: &[LoggedRequest]) -> Cost {
        let mut c = Cost::default();
        for r in requests {
            let conditional = r.if_none_match.is_some() || r.if_modified_since.is_some();
            if r.path == "/robots.txt" {
                c.other.push(r.path.clone());
            } else if is_statement(r) {
                match r.status {
                    200 => c.statements_200.push(r.path.clone()),
                    304 => c.statements_304 += 1,
                    _ => c.other.push(format!("{} {}", r.status, r.path)),
                }
                c.statements_unconditional += usize::from(!conditional);
            } else {
                c.listings += 1;
                c.listings_304 += usize::from(r.status == 304);
                c.listings_unconditional += usize::from(!conditional);
            }
        }
        c
    }

    /// Issue 8.4: over ten polls, one conditional request per listing and feed, and no
    /// statement page fetched again unless it changed.
    #[tokio::test]
    async fn ten_polls_cost_one_conditional_request_per_listing_and_refetch_only_edits() {
        let h = Harness::start().await;
        // Spacing 0: every statement in the window is re-checked at every poll (the worst
        // case; the default spacing thins re-checks out as statements age, tested below).
        let f = fetcher(
            &h,
            &["--recheck-window", "100000d", "--recheck-spacing", "0"],
        )
        .await;
        let first = f.poll().await.expect("first poll");
        assert!(first.failed.is_empty(), "{first:?}");
        let initial = cost(&h.site.requests());
        let sources = initial.listings;
        // Feed + six sections, in two languages.
        assert_eq!(sources, 2 * 7, "{initial:?}");
        assert_eq!(initial.statements_200.len(), h.visible().len());
        let published = h.raw_pages().await.len();
        let doc = bilingual(&h.site, 0);
        let edited_path = h
            .site
            .page_url(&doc, "en")
            .map(|u| Url::parse(&u).expect("url").path().to_string())
            .expect("page url");
        let mut rechecks = 0;
        for poll in 2..=10 {
            if poll == 4 {
                h.site.edit(&doc, "en", |html| {
                    html.replacen("</body>", "<p>Corrected.</p></body>", 1)
                });
            }
            h.site.clear_requests();
            let report = f.poll().await.expect("poll");
            assert!(report.failed.is_empty(), "{report:?}");
            let c = cost(&h.site.requests());
            assert_eq!(c.listings, sources, "poll {poll}: {c:?}");
            if poll == 4 {
                // The feed and the section listing the edited page change validators too
                // (the site's own choice); still one conditional request each.
                assert!(c.listings_304 >= sources - 2, "poll {poll}: {c:?}");
            } else {
                assert_eq!(c.listings_304, sources, "poll {poll}: {c:?}");
            }
            assert_eq!(c.listings_unconditional, 0, "poll {poll}: {c:?}");
            assert_eq!(c.statements_unconditional, 0, "poll {poll}: {c:?}");
            assert!(c.other.is_empty(), "poll {poll}: {c:?}");
            if poll == 4 {
                assert_eq!(c.statements_200, vec![edited_path.clone()], "poll {poll}");
                assert_eq!(report.edited, 1);
            } else {
                assert!(c.statements_200.is_empty(), "poll {poll}: {c:?}");
                assert_eq!(report.edited, 0);
            }
            assert_eq!(report.new, 0);
            // Every statement in the window, once, conditionally.
            assert_eq!(
                c.statements_304 + c.statements_200.len(),
                h.visible().len(),
                "poll {poll}: {c:?}"
            );
            rechecks += c.statements_304 + c.statements_200.len();
        }
        assert_eq!(h.raw_pages().await.len(), published + 1);
        eprintln!(
            "steady state: {sources} listing/feed requests (conditional) per poll; {rechecks} conditional statement re-checks over 9 polls of {} statements, 1 refetched (the edit)",
            h.visible().len()
        );
    }

    /// Rewrites every seen entry as first published `age` ago and last checked `since` ago.
    async fn age_entries(h: &Harness, age: chrono::Duration, since: chrono::Duration) {
        let client = testkit::connect_nats(&h.nats.operator_url()).await;
        let js = async_nats::jetstream::new(client);
        let kv = js.get_key_value("fetcher_state").await.expect("bucket");
        let keys: Vec<String> = kv
            .keys()
            .await
            .expect("keys")
            .filter_map(|k| async move { k.ok() })
            .filter(|k| std::future::ready(k.starts_with("seen.")))
            .collect()
            .await;
        assert!(!keys.is_empty());
        let now = chrono::Utc::now();
        for key in keys {
            let value = kv.get(&key).await.expect("get").expect("value");
            let mut entry: SeenEntry = serde_json::from_slice(&value).expect("seen entry");
            entry.first_seen = now - age;
            entry.checked_at = Some(now - since);
            kv.put(&key, serde_json::to_vec(&entry).expect("json").into())
                .await
                .expect("put");
        }
    }

    #[tokio::test]
    async fn older_statements_are_rechecked_less_often() {
        let h = Harness::start().await;
        let f = fetcher(&h, &["--recheck-window", "100000d"]).await;
        f.poll().await.expect("first poll");
        // A day old, checked ten minutes ago: not due (every 6 hours at that age).
        age_entries(&h, chrono::Duration::days(1), chrono::Duration::minutes(10)).await;
        h.site.clear_requests();
        f.poll().await.expect("poll");
        let c = cost(&h.site.requests());
        assert_eq!(c.statements_304 + c.statements_200.len(), 0, "{c:?}");
        assert_eq!(c.listings, 14, "{c:?}");
        // Checked seven hours ago: due again, conditionally.
        age_entries(&h, chrono::Duration::days(1), chrono::Duration::hours(7)).await;
        h.site.clear_requests();
        f.poll().await.expect("poll");
        let c = cost(&h.site.requests());
        assert_eq!(c.statements_304, h.visible().len(), "{c:?}");
        assert!(c.statements_200.is_empty(), "{c:?}");
    }
}

mod leader {
    use super::*;
    use fetcher::leader::{LeaseHandle, LeaseSettings, Standing};
    use fetcher::lease::Lease;
    use prometheus_client::metrics::gauge::Gauge;
    use shared::subjects::FETCHER_BUCKET;

    async fn bucket(nats: &NatsServer) -> async_nats::jetstream::kv::Store {
        let client = nats.client(Identity::Fetcher).await;
        let js = async_nats::jetstream::new(client);
        shared::nats::ensure_kv(&js, FETCHER_BUCKET, 1, 1, &CancellationToken::new())
            .await
            .expect("open the state bucket")
    }

    fn settings(holder: &str) -> LeaseSettings {
        LeaseSettings {
            key: "lease.mid_ru".into(),
            what: "mid.ru".into(),
            holder: holder.into(),
            ttl: Duration::from_secs(2),
            renew: Duration::from_millis(200),
        }
    }

    async fn lead(handle: &mut LeaseHandle, within: Duration) {
        if let Err(standing) = handle
            .wait_leading(&CancellationToken::new(), Some(within))
            .await
        {
            panic!("no leadership within {within:?}: {standing:?}");
        }
    }

    #[tokio::test]
    async fn one_replica_leads_and_a_standby_takes_over_after_a_crash() {
        let nats = NatsServer::start();
        let kv = bucket(&nats).await;
        let (ga, gb) = (Gauge::default(), Gauge::default());
        let mut a = LeaseHandle::start(kv.clone(), settings("a"), ga.clone());
        lead(&mut a, Duration::from_secs(5)).await;
        assert_eq!(ga.get(), 1);
        let mut b = LeaseHandle::start(kv.clone(), settings("b"), gb.clone());
        // Several renewals later, b still stands by behind a.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(a.is_leading());
        assert!(
            matches!(b.standing(), Standing::Standby { ref holder, .. } if holder == "a"),
            "{:?}",
            b.standing()
        );
        assert_eq!(gb.get(), 0);
        // a crashes (dropped without releasing): b leads once a's lease lapses.
        drop(a);
        lead(&mut b, Duration::from_secs(10)).await;
        assert_eq!(gb.get(), 1);
        // A proper release hands over at the standby's next read, not after the TTL.
        let mut c = LeaseHandle::start(kv.clone(), settings("c"), Gauge::default());
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!c.is_leading());
        b.release().await;
        assert_eq!(gb.get(), 0);
        lead(&mut c, Duration::from_secs(1)).await;
        c.release().await;
    }

    #[tokio::test]
    async fn once_fails_clearly_while_another_replica_holds_the_lease() {
        let h = Harness::start().await;
        let kv = bucket(&h.nats).await;
        let mut other = LeaseHandle::start(kv, settings("other-replica"), Gauge::default());
        lead(&mut other, Duration::from_secs(5)).await;
        h.site.clear_requests();
        let err = h
            .run(&["--once", "--lease-wait", "1s"])
            .await
            .expect_err("the lease is held");
        assert!(matches!(err, FetcherError::LeaseHeld { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("other-replica"), "{message}");
        assert!(message.contains("--lease-wait"), "{message}");
        assert!(h.site.requests().is_empty(), "{:?}", h.site.requests());
        // Once the other one lets go, --once runs.
        other.release().await;
        h.once(&[]).await;
        assert_eq!(keys(&h.raw_pages().await), h.visible());
    }

    #[tokio::test]
    async fn a_replica_that_loses_the_lease_stops_requesting_at_once() {
        let h = Harness::start().await;
        let token = CancellationToken::new();
        let cli = h.cli(&[
            "--request-interval",
            "100ms",
            "--poll-interval",
            "1h",
            "--lease-ttl",
            "2s",
            "--lease-renew",
            "200ms",
        ]);
        let running = tokio::spawn(fetcher::run(cli, token.clone()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while h.site.requests().iter().filter(|r| is_statement(r)).count() < 3 {
            assert!(Instant::now() < deadline, "the fetcher fetched nothing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Another replica overwrites the lease (as after a partition): the keeper finds out
        // at its next renewal and the poll stops.
        let kv = bucket(&h.nats).await;
        let stolen = Lease::new("thief", chrono::Utc::now(), Duration::from_secs(3600));
        kv.put("lease.mid_ru", serde_json::to_vec(&stolen).unwrap().into())
            .await
            .expect("overwrite the lease");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after_loss = h.site.requests().len();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            h.site.requests().len(),
            after_loss,
            "requests went on after the lease was lost"
        );
        assert!(
            h.raw_pages().await.len() < h.visible().len(),
            "it stopped before the end"
        );
        token.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the fetcher stops promptly")
            .expect("join");
        assert!(result.is_ok(), "{result:?}");
    }

    /// Two fetcher processes with their own User-Agent: only the active one requests; when it
    /// is SIGKILLed, the standby takes over within 30 s and picks up a released statement.
    #[tokio::test]
    async fn two_processes_one_polls_and_the_standby_takes_over_after_sigkill() {
        let h = Harness::start().await;
        let held = h.site.held_back();
        assert!(!held.is_empty(), "the corpus holds a statement back");
        let spawn = |name: &str| {
            std::process::Command::new(env!("CARGO_BIN_EXE_fetcher"))
                .args([
                    "--base-url",
                    &h.site.base_url(),
                    "--nats-url",
                    &h.nats.url(),
                    "--request-interval",
                    "0s",
                    "--poll-interval",
                    "1s",
                ])
                .envs(h.nats.env(Identity::Fetcher))
                .args(["--user-agent", &format!("ministry-feed-test/{name}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start the fetcher binary")
        };
        let agent = |r: &LoggedRequest| r.user_agent.clone().unwrap_or_default();
        let mut a = spawn("a");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !h.site.requests().iter().any(|r| agent(r).ends_with("/a")) {
            assert!(Instant::now() < deadline, "replica a never polled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut b = spawn("b");
        // Several polls and lease renewals later, only a has requested anything.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let requests = h.site.requests();
        let feeds = requests
            .iter()
            .filter(|r| r.path.starts_with("/en/rss.php"))
            .count();
        assert!(feeds >= 3, "a polls every second: {feeds} feed requests");
        assert!(
            requests.iter().all(|r| agent(r).ends_with("/a")),
            "the standby made requests: {:?}",
            requests
                .iter()
                .filter(|r| !agent(r).ends_with("/a"))
                .collect::<Vec<_>>()
        );
        // a dies without letting go; a statement appears.
        a.kill().expect("SIGKILL replica a");
        let _ = a.wait();
        let killed = Instant::now();
        h.site.clear_requests();
        h.site.release(&held[0]);
        let deadline = killed + Duration::from_secs(30);
        while !h.raw_pages().await.iter().any(|p| p.doc_id == held[0]) {
            if Instant::now() >= deadline {
                let _ = b.kill();
                panic!("the standby did not take over within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let took = killed.elapsed();
        let _ = b.kill();
        let _ = b.wait();
        eprintln!("standby took over and published the released statement {took:?} after SIGKILL");
        let requests = h.site.requests();
        assert!(!requests.is_empty());
        assert!(
            requests.iter().all(|r| agent(r).ends_with("/b")),
            "{requests:?}"
        );
        // Each page is still published once.
        assert_eq!(keys(&h.raw_pages().await), h.visible());
    }
}

mod extra_ca {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    /// A test CA and a certificate for 127.0.0.1 it signed (valid until 2125; made with
    /// openssl, see services/fetcher/README.md). Test material only.
    fn certs() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/certs")
    }

    /// HTTPS on 127.0.0.1 with the test certificate, passing the bytes on to `upstream`.
    async fn tls_proxy(upstream: std::net::SocketAddr) -> String {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(certs().join("server.pem"))
                .expect("server.pem")
                .collect::<Result<_, _>>()
                .expect("server certificate");
        let key = PrivateKeyDer::from_pem_file(certs().join("server.key")).expect("server.key");
        let config = ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                    }
                });
            }
        });
        format!("https://127.0.0.1:{port}")
    }

    fn flags<'a>(base: &'a str, ca: Option<&'a str>) -> Vec<&'a str> {
        let mut args = vec![
            "--once",
            "--base-url",
            base,
            "--langs",
            "en",
            "--max-attempts",
            "1",
        ];
        if let Some(ca) = ca {
            args.extend(["--extra-ca-file", ca]);
        }
        args
    }

    #[tokio::test]
    async fn a_site_signed_by_the_extra_ca_is_trusted_and_is_not_without_it() {
        let h = Harness::start().await;
        let base = tls_proxy(h.site.addr()).await;
        h.site.set_public_url(&base);
        // Without the bundle: the certificate is not trusted, nothing is fetched.
        let err = h
            .run(&flags(&base, None))
            .await
            .expect_err("an unknown CA is refused");
        assert!(err.to_string().contains("could not finish"), "{err}");
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
        assert!(h.site.requests().is_empty(), "{:?}", h.site.requests());
        assert!(h.raw_pages().await.is_empty());
        // With it: the poll goes through TLS to the site.
        let ca = certs().join("ca.pem");
        let ca = ca.to_str().expect("utf-8 path");
        h.run(&flags(&base, Some(ca)))
            .await
            .unwrap_or_else(|e| panic!("poll over HTTPS with the extra CA: {e}"));
        let en: Vec<(String, String)> =
            h.visible().into_iter().filter(|(_, l)| l == "en").collect();
        assert_eq!(keys(&h.raw_pages().await), en);
    }

    #[tokio::test]
    async fn a_missing_or_invalid_bundle_is_a_clear_error() {
        let h = Harness::start().await;
        let dir = testkit::TempDir::new("fetcher-ca");
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "this is not a certificate\n").expect("write");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        for (path, why) in [
            (&missing, "No such file"),
            (&garbage, "holds no certificate"),
            (&broken, ""),
        ] {
            let path = path.to_str().expect("utf-8 path");
            let err = h
                .run(&["--once", "--extra-ca-file", path])
                .await
                .expect_err("a bad bundle is refused");
            let message = err.to_string();
            assert!(
                message.contains("--extra-ca-file") && message.contains(path),
                "{message}"
            );
            assert!(message.contains(why), "{message}");
            assert!(message.contains("give a PEM file"), "{message}");
        }
        assert!(h.site.requests().is_empty());
    }
}

mod binary {
    use super::*;

    fn fetcher_bin() -> std::process::Command {
        std::process::Command::new(env!("CARGO_BIN_EXE_fetcher"))
    }

    #[tokio::test]
    async fn once_exits_zero_when_everything_is_acknowledged() {
        let h = Harness::start().await;
        let base = h.site.base_url();
        let nats = h.nats.url();
        let identity = h.nats.env(Identity::Fetcher);
        let output = tokio::task::spawn_blocking(move || {
            fetcher_bin()
                .args(["--once", "--request-interval", "0s", "--langs", "en"])
                .envs(identity)
                .env("BASE_URL", base)
                .env("NATS_URL", nats)
                .output()
        })
        .await
        .expect("join")
        .expect("run the fetcher binary");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let en: Vec<(String, String)> =
            h.visible().into_iter().filter(|(_, l)| l == "en").collect();
        assert_eq!(keys(&h.raw_pages().await), en);
    }

    #[tokio::test]
    async fn once_exits_non_zero_with_a_clear_message_when_the_site_is_down() {
        let nats = NatsServer::start();
        let port = testkit::free_port();
        let output = tokio::task::spawn_blocking(move || {
            fetcher_bin()
                .envs(nats.env(Identity::Fetcher))
                .args([
                    "--once",
                    "--base-url",
                    &format!("http://127.0.0.1:{port}"),
                    "--nats-url",
                    &nats.url(),
                    "--max-attempts",
                    "1",
                    "--request-interval",
                    "0s",
                ])
                .output()
        })
        .await
        .expect("join")
        .expect("run the fetcher binary");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("the poll could not finish"), "{stderr}");
        assert!(stderr.contains("run it again"), "{stderr}");
    }

    #[test]
    fn healthcheck_needs_an_address() {
        let output = fetcher_bin()
            .arg("healthcheck")
            .env_remove("METRICS_LISTEN")
            .output()
            .expect("run");
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("--metrics-listen"));
    }
}

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

mod concurrency {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// What crossed the wire, when: a request head arriving from the fetcher (`true`), or
    /// response bytes about to be sent to it (`false`).
    type Wire = Arc<Mutex<Vec<(Instant, bool)>>>;

    /// A TCP proxy in front of the fixture site that timestamps traffic: request heads when
    /// they arrive (not before the fetcher sent them), response chunks before they are
    /// forwarded (not after the fetcher could receive them), so the measured gap between a
    /// response and the next request is never longer than the fetcher's real pause.
    async fn timing_proxy(upstream: SocketAddr) -> (SocketAddr, Wire) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the timing proxy");
        let addr = listener.local_addr().expect("proxy address");
        let wire: Wire = Arc::default();
        let log = wire.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up_log = log.clone();
                    let up = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = cr.read(&mut buf).await {
                            if buf[..n].starts_with(b"GET ") {
                                up_log
                                    .lock()
                                    .expect("wire log")
                                    .push((Instant::now(), true));
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = sr.read(&mut buf).await {
                            log.lock().expect("wire log").push((Instant::now(), false));
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        (addr, wire)
    }

    /// What a run published, without the fetch times: (doc, lang, url, body hash, hint).
    fn published(pages: &[RawPage]) -> Vec<String> {
        let mut out: Vec<String> = pages
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} {} {:?}",
                    p.doc_id, p.lang, p.url, p.body_sha256, p.listing
                )
            })
            .collect();
        out.sort();
        out
    }

    fn paths(requests: &[LoggedRequest]) -> Vec<String> {
        let mut paths: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.status, r.path))
            .collect();
        paths.sort();
        paths
    }

    const FLAGS: [&str; 4] = ["--langs", "en", "--sections", "/foreign_policy/news/"];

    #[tokio::test]
    async fn concurrency_keeps_the_request_interval_and_gives_the_same_results() {
        let interval = Duration::from_millis(60);
        // Concurrency 4 through the timing proxy, slow statement pages (an overlapping
        // client would send the next request while one is being answered).
        let four = Harness::start().await;
        four.site.inject(
            "/en/foreign_policy/news/",
            Fault::Slow(Duration::from_millis(40)),
            10_000,
        );
        let (proxy, wire) = timing_proxy(four.site.addr()).await;
        let proxy_url = format!("http://{proxy}");
        let mut args: Vec<&str> = FLAGS.to_vec();
        args.extend([
            "--base-url",
            &proxy_url,
            "--request-interval",
            "60ms",
            "--fetch-concurrency",
            "4",
        ]);
        four.once(&args).await;
        let requests = four.site.requests();
        assert!(
            requests.iter().filter(|r| is_statement(r)).count() > 5,
            "enough statements to overlap: {requests:?}"
        );
        let wire = wire.lock().unwrap().clone();
        let gets: Vec<Instant> = wire
            .iter()
            .filter(|(_, get)| *get)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(
            gets.len(),
            requests.len(),
            "every request seen by the proxy"
        );
        let mut last_answer: Option<Instant> = None;
        let mut answered = true;
        for (at, get) in &wire {
            if *get {
                assert!(
                    answered,
                    "a request was sent before the previous one was answered"
                );
                if let Some(end) = last_answer {
                    let pause = at.duration_since(end);
                    assert!(
                        pause >= interval,
                        "only {pause:?} between a response and the next request (--request-interval 60ms)"
                    );
                }
                answered = false;
            } else {
                answered = true;
                last_answer = Some(*at);
            }
        }
        for pair in gets.windows(2) {
            assert!(pair[1].duration_since(pair[0]) >= interval);
        }

        // The same poll with concurrency 1 (no proxy): the same pages, the same requests.
        let one = Harness::start().await;
        let one_url = one.site.base_url();
        let mut args: Vec<&str> = FLAGS.to_vec();
        args.extend(["--base-url", &one_url, "--fetch-concurrency", "1"]);
        one.once(&args).await;
        let (p4, p1) = (four.raw_pages().await, one.raw_pages().await);
        assert!(!p1.is_empty());
        let strip = |list: Vec<String>, base: &str| -> Vec<String> {
            list.into_iter().map(|s| s.replace(base, "BASE")).collect()
        };
        assert_eq!(
            strip(published(&p4), &proxy_url),
            strip(published(&p1), &one_url)
        );
        assert_eq!(paths(&requests), paths(&one.site.requests()));
    }

    #[tokio::test]
    async fn a_backfill_with_concurrency_equals_one_without() {
        let range = [
            "backfill",
            "--from",
            "2024-07-01",
            "--to",
            "2024-09-30",
            "--sections",
            "/press_service/minister_speeches/,/foreign_policy/news/",
        ];
        let mut results = Vec::new();
        for concurrency in ["1", "4"] {
            let h = Harness::start().await;
            let mut args = range.to_vec();
            args.extend(["--fetch-concurrency", concurrency]);
            h.run(&args).await.expect("backfill");
            let requests = h.site.requests();
            let fetched = statement_fetches(&requests);
            assert!(fetched.values().all(|&n| n == 1), "{fetched:?}");
            let base = h.site.base_url();
            let pages: Vec<String> = published(&h.raw_pages().await)
                .into_iter()
                .map(|s| s.replace(&base, "BASE"))
                .collect();
            assert!(!pages.is_empty());
            results.push((pages, paths(&requests)));
        }
        assert_eq!(results[0], results[1]);
    }
}
