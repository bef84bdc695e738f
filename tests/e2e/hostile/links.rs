//! Listings that point off the site and redirects to other hosts are never followed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body as HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use testkit::{Fault, FetcherMode, Pipeline, PipelineOptions, free_port};

use crate::drills::bounded;
use crate::pipeline::{FETCH_ONCE, READY, assert_store_matches, expected_ids, wait_stored};

/// A page the parser must refuse: its name, content type and bytes.
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
