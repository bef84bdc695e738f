//! Hostile input: raw pages built to break the parser, listings that point off the site,
//! redirects to other hosts, and API parameters carrying SQL or nonsense. Each must end in a
//! clear error (a dead letter with its reason, a refused link, a 400 with a JSON error), never
//! a crash, and the pipeline must keep flowing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body as HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use shared::messages::{Body, DeadLetter, RawPage, hex_digest};
use testkit::{Fault, FetcherMode, Pipeline, PipelineOptions, free_port, http_get, http_get_json};

use crate::drills::{assert_running, bounded, jetstream, publish_raw, raw_page, read_dead_letters};
use crate::pipeline::{
    FETCH_ONCE, READY, assert_store_matches, expected_ids, poll_once_and_wait_stored, wait_stored,
};

/// A page the parser must refuse: its name, content type and bytes.
struct Hostile {
    name: &'static str,
    content_type: &'static str,
    bytes: Vec<u8>,
}

fn hostile_pages() -> Vec<Hostile> {
    // Deterministic pseudo-random bytes.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let binary: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    // 50 MiB of navigation links around no article: the parser reads it all, once.
    let mut huge =
        b"<!DOCTYPE html><html><head><title>x</title></head><body><nav class=\"sidebar\">".to_vec();
    while huge.len() < 50 * 1024 * 1024 {
        huge.extend_from_slice(b"<a href=\"/en/foreign_policy/news/1/\">Other statement</a>\n");
    }
    huge.extend_from_slice(b"</nav>");
    huge.extend_from_slice(b"</body></html>");
    let depth = 10_000;
    let mut nested = b"<!DOCTYPE html><html><head><title>Deep</title></head><body>".to_vec();
    nested.extend(b"<div>".repeat(depth));
    nested.extend_from_slice(b"bottom");
    nested.extend(b"</div>".repeat(depth));
    nested.extend_from_slice(b"</body></html>");
    let russian = "<html><head><title>Брифинг официального представителя</title></head><body>\
        <h1>Брифинг официального представителя</h1><div class=\"text article-content\">\
        <p>Вопрос: Что происходит на переговорах?</p><p>Ответ: Переговоры продолжаются.</p></div></body></html>";
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
    vec![
        Hostile {
            name: "malformed",
            content_type: "text/html; charset=utf-8",
            bytes: b"<html><<<>>><head><title</head><body><div class=\"text article-content\"><p>unclosed <b><i></div></p><!-- never closed <script>while(1){}"
                .to_vec(),
        },
        Hostile {
            name: "empty",
            content_type: "text/html; charset=utf-8",
            bytes: Vec::new(),
        },
        Hostile {
            name: "binary",
            content_type: "text/html; charset=utf-8",
            bytes: binary,
        },
        Hostile {
            name: "50 MiB",
            content_type: "text/html; charset=utf-8",
            bytes: huge,
        },
        Hostile {
            name: "10,000 levels",
            content_type: "text/html; charset=utf-8",
            bytes: nested,
        },
        Hostile {
            name: "unknown charset",
            content_type: "text/html; charset=x-no-such-charset",
            bytes: russian.as_bytes().to_vec(),
        },
        Hostile {
            name: "lying charset (windows-1251 bytes said to be UTF-8)",
            content_type: "text/html; charset=utf-8",
            bytes: cp1251.into_owned(),
        },
        Hostile {
            name: "lying charset (UTF-8 said to be UTF-16)",
            content_type: "text/html; charset=utf-16",
            bytes: russian.as_bytes().to_vec(),
        },
    ]
}

/// Peak resident memory of a process, in KiB (Linux `/proc`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_raw_pages_are_dead_lettered_with_reasons_and_the_pipeline_keeps_flowing() {
    bounded("hostile raw pages", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let parser_pid = pipeline.parser.pid();
        let expected = expected_ids(&pipeline.site);
        let js = jetstream(&pipeline.operator_url()).await;
        let (doc_id, langs) = pipeline.site.statements().remove(0);
        let template = raw_page(&pipeline.site, &doc_id, &langs[0]);

        let pages = hostile_pages();
        let mut names: BTreeMap<String, &str> = BTreeMap::new();
        for (i, hostile) in pages.iter().enumerate() {
            let mut page = template.clone();
            page.doc_id = format!("{}", 9_900_001 + i);
            page.lang = shared::messages::Lang::En;
            page.url = format!(
                "{}/en/foreign_policy/news/{}/",
                pipeline.site.base_url(),
                page.doc_id
            );
            page.headers
                .insert("content-type".into(), hostile.content_type.into());
            page.listing = None;
            page.body_sha256 = hex_digest(&hostile.bytes);
            page.body = Body::inline_zstd(&hostile.bytes);
            publish_raw(&js, &page).await;
            names.insert(page.doc_id.clone(), hostile.name);
        }
        // Messages that are not raw pages at all.
        let subject = shared::subjects::raw_subject("mid.ru", shared::messages::Lang::En);
        let mut future_version = serde_json::to_value(&template).unwrap_or_default();
        future_version["schema_version"] = Value::from(99);
        future_version["doc_id"] = Value::from("9900101");
        for (id, payload) in [
            (
                "not-json",
                Bytes::from_static(b"{\"schema_version\": 1, \"doc_id\": "),
            ),
            ("future-version", Bytes::from(future_version.to_string())),
        ] {
            shared::nats::publish_durable(&js, &subject, id, payload, 5)
                .await
                .unwrap_or_else(|e| panic!("publish {id}: {e}"));
        }
        let hostile_count = pages.len() + 2;

        // Real statements flow at the same time.
        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        assert!(status.success(), "fetcher --once exited {status}:\n{log}");
        wait_stored(&pipeline, &expected).await;
        // Each hostile message ends as a dead letter (bounded wait; the parser works through
        // 50 MiB in the meantime).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let hostile_stored = || async {
            let page = http_get_json(&format!("{}/v1/speeches?limit=100", pipeline.api)).await;
            page["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|i| i["doc_id"].as_str().is_some_and(|d| d.starts_with("99000")))
                        .count()
                })
                .unwrap_or(0)
        };
        let mut letters: Vec<DeadLetter> = read_dead_letters(&js).await;
        while letters.len() + hostile_stored().await < hostile_count
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            letters = read_dead_letters(&js).await;
        }
        let mut reasons: BTreeMap<String, String> = BTreeMap::new();
        for letter in &letters {
            assert_eq!(letter.stage, "parser", "{letter:?}");
            assert!(
                !letter.reason.trim().is_empty(),
                "a dead letter without a reason: {letter:?}"
            );
            let payload = letter.original_payload().unwrap_or_default();
            let key = match RawPage::from_json(&payload) {
                Ok(page) => names
                    .get(&page.doc_id)
                    .map(|n| n.to_string())
                    .unwrap_or(page.doc_id),
                Err(_) if payload.starts_with(b"{\"schema_version\": 1") => "not JSON".into(),
                Err(_) => "future schema version".into(),
            };
            reasons.insert(key, letter.reason.clone());
        }
        for (what, reason) in &reasons {
            eprintln!("dead letter: {what}: {reason}");
        }
        let mut wanted: Vec<String> = pages.iter().map(|p| p.name.to_string()).collect();
        wanted.extend(["not JSON".to_string(), "future schema version".to_string()]);
        // A page in a wrong or lying charset is refused, or stored only when decoded right
        // (the parser may recognise windows-1251 bytes): never stored as mojibake.
        let mut missing = Vec::new();
        let mut accepted = Vec::new();
        for name in &wanted {
            if reasons.contains_key(name) {
                continue;
            }
            let doc = names
                .iter()
                .find(|(_, n)| **n == name.as_str())
                .map(|(d, _)| d.clone())
                .unwrap_or_default();
            let id = format!("mid.ru:{doc}:en");
            let (status, body) = http_get(&format!("{}/v1/speeches/{id}", pipeline.api))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let record: Value = serde_json::from_str(&body).unwrap_or_default();
            let title = record["title"].as_str().unwrap_or_default();
            if name.contains("charset") && status == 200 && title.contains("Брифинг") {
                eprintln!("stored, decoded right: {name}: {title:?}");
                accepted.push(id);
            } else {
                missing.push(format!(
                    "{name} ({id}): no dead letter; GET answers {status} {body}"
                ));
            }
        }
        assert!(
            missing.is_empty(),
            "hostile pages neither refused nor stored right:\n{}\ndead letters: {reasons:#?}",
            missing.join("\n")
        );
        assert!(
            reasons["future schema version"].contains("schema_version 99"),
            "{:?}",
            reasons["future schema version"]
        );
        // Nothing else hostile became a record, every real statement is there once, and the
        // parser that ate all this is the same process, still running.
        let items = crate::pipeline::all_items(&pipeline.api).await;
        let mut listed: Vec<String> = items
            .iter()
            .map(|i| i["id"].as_str().unwrap_or_default().to_string())
            .collect();
        listed.sort();
        let mut want: Vec<String> = expected.iter().cloned().chain(accepted).collect();
        want.sort();
        assert_eq!(
            listed, want,
            "the store holds exactly the statements (once each)"
        );
        assert_running(&mut pipeline);
        assert_eq!(
            pipeline.parser.pid(),
            parser_pid,
            "the parser was restarted"
        );
        if let Some(kib) = parser_pid.and_then(peak_rss_kib) {
            eprintln!(
                "parser peak RSS after the hostile pages: {} MiB",
                kib / 1024
            );
            assert!(
                kib < 2 * 1024 * 1024,
                "the parser peaked at {} MiB on hostile pages",
                kib / 1024
            );
        }
    })
    .await;
}

/// Counts connections to an address nothing should ever contact.
struct Trap {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Trap {
    async fn start(ip: [u8; 4]) -> Trap {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((ip, 0)))
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {ip:?}: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Trap { addr, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A front for the fixture site that adds hostile links to every listing and feed.
struct Front {
    site: String,
    base: String,
    links: Vec<String>,
    client: reqwest::Client,
}

async fn front(State(front): State<Arc<Front>>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut upstream = front.client.get(format!("{}{path}", front.site));
    for name in ["user-agent", "if-none-match", "if-modified-since"] {
        if let Some(value) = request.headers().get(name) {
            upstream = upstream.header(name, value.as_bytes());
        }
    }
    let Ok(answer) = upstream.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for name in [
        "content-type",
        "etag",
        "last-modified",
        "location",
        "retry-after",
    ] {
        if let Some(value) = answer.headers().get(name)
            && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
        {
            headers.insert(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    let body = match std::str::from_utf8(&body) {
        Ok(text) if text.contains("announce announce_articles") || path.ends_with("rss.php") => {
            let lang = if path.starts_with("/ru") { "ru" } else { "en" };
            let mut text = text.replace(&front.site, &front.base);
            let (items, end) = if path.ends_with("rss.php") {
                let items: String = front
                    .links
                    .iter()
                    .map(|l| {
                        format!(
                            "<item><title>Hostile</title><link>{}</link><description>x</description><pubDate>Thu, 18 Jul 2024 11:30:00 +0000</pubDate></item>\n",
                            l.replace('&', "&amp;")
                        )
                    })
                    .collect();
                (items, "</channel>")
            } else {
                let date = if lang == "ru" {
                    "18.07.2024"
                } else {
                    "18 July 2024"
                };
                let items: String = front
                    .links
                    .iter()
                    .map(|l| {
                        format!(
                            "  <li class=\"announce__item\"><div class=\"announce__date-wrap\"><span class=\"announce__date\">{date}</span> <span class=\"announce__time\">14:30</span></div><a class=\"announce__link\" href=\"{l}\">Hostile link</a><div class=\"announce__meta-tags\"></div></li>\n"
                        )
                    })
                    .collect();
                (items, "</ul>")
            };
            if let Some(at) = text.find(end) {
                text.insert_str(at, &items);
            }
            Bytes::from(text)
        }
        _ => body,
    };
    let mut response = Response::new(HttpBody::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_site_links_and_redirects_to_other_hosts_are_never_followed() {
    bounded("off-site links", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = expected_ids(&pipeline.site);
        // Traps: another loopback address, and this host on another port (also reached
        // through the name `localhost`).
        let other_host = Trap::start([127, 0, 0, 2]).await;
        let other_port = Trap::start([127, 0, 0, 1]).await;
        let (o, p) = (other_host.addr, other_port.addr.port());
        let links = vec![
            "file:///etc/passwd".to_string(),
            format!("http://{o}/en/foreign_policy/news/9999991/"),
            format!("//{o}/en/foreign_policy/news/9999992/"),
            format!("http://127.0.0.1:{p}/en/foreign_policy/news/9999993/"),
            format!("http://localhost:{p}/en/foreign_policy/news/9999994/"),
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "http://10.255.255.1/en/foreign_policy/news/9999995/".to_string(),
            "javascript:alert(1)".to_string(),
            "data:text/html,<h1>x</h1>".to_string(),
        ];
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let base = format!("http://{listen}");
        let state = Arc::new(Front {
            site: pipeline.site.base_url(),
            base: base.clone(),
            links,
            client: testkit::http_client(),
        });
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .unwrap_or_else(|e| panic!("front cannot listen on {listen}: {e}"));
        let app = axum::Router::new().fallback(front).with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        // One article redirects to the other host (once).
        let (doc_id, langs) = pipeline.site.statements().remove(0);
        let path = pipeline
            .site
            .meta(&doc_id)
            .map(|m| m.canonical_path(&langs[0]))
            .unwrap_or_default();
        pipeline
            .site
            .inject(&path, Fault::Redirect(format!("http://{o}/stolen/")), 1);
        // The site's own robots.txt redirects off-site too? No: only the article.

        let mut args = pipeline.fetcher_args();
        if let Some(i) = args.iter().position(|a| a == "--base-url") {
            args[i + 1] = base.clone();
        }
        args.extend(
            [
                "--once",
                "--max-attempts",
                "2",
                "--retry-base",
                "100ms",
                "--metrics-listen",
            ]
            .map(String::from),
        );
        args.push(format!("127.0.0.1:{}", free_port()));
        let mut fetcher = pipeline.spawn_fetcher(&args);
        let status = fetcher.expect_exit(FETCH_ONCE).await;
        let log = fetcher.log();
        eprintln!("fetcher --once with hostile links exited {status}");
        for line in log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        {
            eprintln!("  {line}");
        }
        assert_eq!(
            other_host.hits(),
            0,
            "the fetcher contacted another host; its log:\n{log}"
        );
        assert_eq!(
            other_port.hits(),
            0,
            "the fetcher contacted another port of the host; its log:\n{log}"
        );
        assert!(
            log.contains("not on the configured site"),
            "the refused redirect is not explained in the log:\n{log}"
        );
        assert_eq!(
            pipeline.site.pending_faults(),
            0,
            "the redirecting page was never requested"
        );
        // A second poll (no redirect this time) completes the store; nothing off-site was
        // ever stored.
        let mut fetcher = pipeline.spawn_fetcher(&args);
        let status = fetcher.expect_exit(FETCH_ONCE).await;
        let log2 = fetcher.log();
        assert!(
            status.success(),
            "second fetcher --once exited {status}:\n{log2}"
        );
        assert_eq!(other_host.hits() + other_port.hits(), 0, "{log2}");
        wait_stored(&pipeline, &expected).await;
        assert_store_matches(&pipeline, &expected).await;
        server.abort();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_parameters_carrying_sql_or_nonsense_get_400_with_a_json_error_never_500() {
    bounded("hostile API parameters", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = poll_once_and_wait_stored(&pipeline).await;
        let api = &pipeline.api;
        let long = "A".repeat(20_000);
        let bad = [
            "/v1/speeches?limit=1000000000",
            "/v1/speeches?limit=99999999999999999999999",
            "/v1/speeches?limit=-1",
            "/v1/speeches?limit=0",
            "/v1/speeches?limit=1e3",
            "/v1/speeches?limit=10%20OR%201=1",
            "/v1/speeches?cursor=garbage",
            "/v1/speeches?cursor=%27%20OR%20%271%27=%271",
            "/v1/speeches?cursor=%00%01%02",
            "/v1/speeches?cursor=eyJzcWwiOiJEUk9QIFRBQkxFIHNwZWVjaGVzIn0",
            "/v1/speeches?since=2024-13-45",
            "/v1/speeches?since=2024-02-30",
            "/v1/speeches?since=-1",
            "/v1/speeches?until=99999-01-01",
            "/v1/speeches?since=2024-05-01%27%20OR%201=1--",
            "/v1/speeches?since=2024-06-01&until=2024-01-01",
            "/v1/speeches?lang=en%27%20OR%20%271%27=%271",
            "/v1/speeches?lang=xx",
            "/v1/speeches?kind=briefing;DROP%20TABLE%20speeches",
            "/v1/speeches?speaker=Robert%27);%20DROP%20TABLE%20speeches;--",
            "/v1/speeches?limit=5&limit=6",
            "/v1/speeches?order=id;DROP%20TABLE%20speeches",
            "/v1/feed.atom?limit=-5",
            "/v1/feed.atom?since=yesterday",
            "/v1/export.jsonl?until=not-a-date",
            "/v1/export.jsonl?cursor=x",
        ];
        let mut wrong = Vec::new();
        let mut check = |url: String, status: u16, body: String| {
            let error = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
            match error {
                Some(e) if status == 400 && !e.trim().is_empty() => {}
                _ => wrong.push(format!(
                    "{url}: {status} {}",
                    body.chars().take(200).collect::<String>()
                )),
            }
        };
        let mut urls: Vec<String> = bad.iter().map(|p| format!("{api}{p}")).collect();
        urls.push(format!("{api}/v1/speeches?q={long}"));
        urls.push(format!("{api}/v1/speeches?cursor={long}"));
        urls.push(format!("{api}/v1/speeches?speaker={long}"));
        for url in urls {
            let (status, body) = http_get(&url).await.unwrap_or_else(|e| panic!("{e}"));
            check(url, status, body);
        }
        assert!(
            wrong.is_empty(),
            "not a 400 with a JSON error:\n{}",
            wrong.join("\n")
        );

        // SQL in a search or an id is text: no match, never an error of the database.
        for path in [
            "/v1/speeches?q=%27%20OR%201=1;%20DROP%20TABLE%20speeches;--",
            "/v1/speeches?q=%22%29%29%20UNION%20SELECT%20*%20FROM%20pg_user--",
            "/v1/speeches?speaker=O%27Brien",
            "/v1/speeches/mid.ru:1%27%20OR%20%271%27=%271:en",
            "/v1/speeches/%27%3B%20DROP%20TABLE%20speeches%3B--/versions",
        ] {
            let url = format!("{api}{path}");
            let (status, body) = http_get(&url).await.unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(status, 200 | 400 | 404), "{url}: {status} {body}");
            if status != 200 {
                let json: Value = serde_json::from_str(&body).unwrap_or_else(|e| {
                    panic!("{url}: {status} without a JSON error ({e}): {body}")
                });
                assert!(
                    json["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "{url}: {body}"
                );
            } else if path.contains("q=") {
                let json: Value = serde_json::from_str(&body).unwrap_or_default();
                assert_eq!(
                    json["items"].as_array().map(Vec::len),
                    Some(0),
                    "{url} matched records: {body}"
                );
            }
        }
        // The table is still there, whole.
        assert_store_matches(&pipeline, &expected).await;
        assert_running(&mut pipeline);
    })
    .await;
}

/// The hostile page that names the real statement 1950001 as its canonical URL.
const FORGED: &str = "canonical link naming 1950001";

/// Writes a corpus directory: one real statement (copied from the bundled corpus) and one
/// statement per hostile page, served with the given charset.
fn hostile_corpus(dir: &std::path::Path) -> Vec<(String, &'static str)> {
    let statements = dir.join("statements");
    let real = testkit::FixtureSite::corpus_dir().join("statements/1950001");
    let copy = statements.join("1950001");
    std::fs::create_dir_all(&copy).unwrap_or_else(|e| panic!("{e}"));
    for file in ["meta.json", "en.html", "ru.html"] {
        std::fs::copy(real.join(file), copy.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let russian = "<html><head><title>Брифинг официального представителя</title></head><body>\
        <h1>Брифинг официального представителя</h1><div class=\"text article-content\">\
        <p>Вопрос: Что происходит на переговорах?</p><p>Ответ: Переговоры продолжаются.</p></div></body></html>";
    let mut pages: Vec<(&'static str, Option<&str>, Vec<u8>)> = hostile_pages()
        .into_iter()
        .filter(|p| !p.name.contains("charset"))
        .map(|p| (p.name, None, p.bytes))
        .collect();
    // Served as 50 MiB of real paragraphs: more than the fetcher reads.
    pages.retain(|p| p.0 != "50 MiB");
    let mut huge = b"<html><head><title>Huge</title></head><body><h1>Huge</h1><div class=\"text article-content\">".to_vec();
    while huge.len() < 50 * 1024 * 1024 {
        huge.extend_from_slice(
            b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n",
        );
    }
    pages.push(("50 MiB", None, huge));
    pages.push((
        "lying charset (UTF-8 served as windows-1251)",
        Some("windows-1251"),
        russian.as_bytes().to_vec(),
    ));
    pages.push((
        "unknown charset",
        Some("x-no-such-charset"),
        russian.as_bytes().to_vec(),
    ));
    // Issue 13.4: a page whose canonical link, og:url and alternates name the real 1950001.
    let mut forged = String::from(
        "<html lang=\"en\"><head><title>Forged statement</title>\
         <link rel=\"canonical\" href=\"https://mid.ru/en/press_service/minister_speeches/1950001/\">\
         <meta property=\"og:url\" content=\"https://mid.ru/en/press_service/minister_speeches/1950001/\">\
         <link rel=\"alternate\" hreflang=\"ru\" href=\"https://mid.ru/ru/press_service/minister_speeches/1950001/\">\
         </head><body><div class=\"photo-content\"><h1 class=\"photo-content__title\">Forged statement</h1>\
         <div class=\"text article-content\">",
    );
    forged.push_str(&"<p>These words were never said by anyone at the ministry.</p>".repeat(8));
    forged.push_str("</div></div></body></html>");
    pages.push((FORGED, None, forged.into_bytes()));
    let mut out = Vec::new();
    for (i, (name, charset, bytes)) in pages.into_iter().enumerate() {
        let doc_id = format!("{}", 9_800_001 + i);
        let sdir = statements.join(&doc_id);
        std::fs::create_dir_all(&sdir).unwrap_or_else(|e| panic!("{e}"));
        let mut meta = serde_json::json!({
            "doc_id": doc_id,
            "published": format!("2024-07-{:02}T10:00", 10 + i),
            "sections": ["/foreign_policy/news/"],
            "titles": { "en": format!("Hostile page {i}") },
            "in_feed": true,
        });
        if let Some(charset) = charset {
            meta["charset"] = serde_json::json!({ "en": charset });
        }
        std::fs::write(sdir.join("meta.json"), meta.to_string()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(sdir.join("en.html"), bytes).unwrap_or_else(|e| panic!("{e}"));
        out.push((doc_id, name));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_served_by_the_site_never_crash_a_service_or_become_garbage_records() {
    bounded("hostile site", async {
        let dir = testkit::TempDir::new("hostile-corpus");
        let hostile = hostile_corpus(dir.path());
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            corpus: testkit::SiteCorpus::Dir(dir.path().to_path_buf()),
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let real: std::collections::BTreeSet<String> = ["mid.ru:1950001:en", "mid.ru:1950001:ru"]
            .map(String::from)
            .into();
        let js = jetstream(&pipeline.operator_url()).await;
        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        eprintln!("fetcher --once on the hostile site exited {status}");
        for line in log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        {
            eprintln!("  {line}");
        }
        wait_stored(&pipeline, &real).await;
        // Every hostile page the fetcher published ends as a dead letter or a record whose
        // text is right; the ones it refused are explained in its log.
        let raw = crate::pipeline::stream_messages(
            &pipeline.operator_url(),
            shared::subjects::RAW_STREAM,
        )
        .await;
        let hostile_published = raw.saturating_sub(real.len() as u64) as usize;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let (letters, stored) = loop {
            let letters = read_dead_letters(&js).await;
            let items = crate::pipeline::all_items(&pipeline.api).await;
            let stored: Vec<Value> = items
                .into_iter()
                .filter(|i| i["doc_id"].as_str().is_some_and(|d| d.starts_with("98000")))
                .collect();
            if letters.len() + stored.len() >= hostile_published
                || std::time::Instant::now() >= deadline
            {
                break (letters, stored);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        let by_doc: BTreeMap<&str, &str> = hostile.iter().map(|(d, n)| (d.as_str(), *n)).collect();
        for letter in &letters {
            let page = RawPage::from_json(&letter.original_payload().unwrap_or_default()).ok();
            let name = page
                .as_ref()
                .and_then(|p| by_doc.get(p.doc_id.as_str()))
                .copied()
                .unwrap_or("?");
            eprintln!("dead letter: {name}: {}", letter.reason);
            assert!(!letter.reason.trim().is_empty());
        }
        for record in &stored {
            let doc = record["doc_id"].as_str().unwrap_or_default();
            let name = by_doc.get(doc).copied().unwrap_or("?");
            let title = record["title"].as_str().unwrap_or_default();
            eprintln!("stored: {name}: {title:?}");
            if name == FORGED {
                // Stored as the document it was fetched as, never as the one it names.
                assert!(
                    !record["url"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("1950001")
                        && record["translations"]
                            .as_object()
                            .is_none_or(|t| t.is_empty()),
                    "the forged page kept a link to 1950001: {record}"
                );
                continue;
            }
            assert!(
                name.contains("charset") && title.contains("Брифинг"),
                "the {name} page became a record with title {title:?}: {record}"
            );
        }
        // The real statement the forged page names is untouched.
        let items = crate::pipeline::all_items(&pipeline.api).await;
        for item in items.iter().filter(|i| i["doc_id"] == "1950001") {
            let title = item["title"].as_str().unwrap_or_default();
            assert!(
                !title.contains("Forged"),
                "the forged page overwrote 1950001: {item}"
            );
        }
        assert_eq!(
            items.iter().filter(|i| i["doc_id"] == "1950001").count(),
            2,
            "1950001 in both languages, once each"
        );
        assert!(
            letters.len() + stored.len() >= hostile_published,
            "{hostile_published} hostile pages published, {} dead letters, {} stored",
            letters.len(),
            stored.len()
        );
        let refused = hostile.len() - hostile_published;
        eprintln!("{hostile_published} hostile pages published, {refused} refused by the fetcher");
        assert_eq!(
            refused, 1,
            "only the 50 MiB page is refused by the fetcher:\n{log}"
        );
        assert!(
            log.contains("max-response-bytes"),
            "the fetcher refused the 50 MiB page without saying why:\n{log}"
        );
        assert_running(&mut pipeline);
    })
    .await;
}
