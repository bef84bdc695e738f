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
        let body = String::from_utf8_lossy(&p.body.decode_inline().expect("inline")).into_owned();
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
    let en: Vec<(String, String)> = h.visible().into_iter().filter(|(_, l)| l == "en").collect();
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
    let en: Vec<(String, String)> = h.visible().into_iter().filter(|(_, l)| l == "en").collect();
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
    let en: Vec<(String, String)> = h.visible().into_iter().filter(|(_, l)| l == "en").collect();
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
