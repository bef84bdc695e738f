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
