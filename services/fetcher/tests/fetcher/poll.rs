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
        .filter(|r| r.path.ends_with("rss.php") || (!is_statement(r) && r.path != "/robots.txt"))
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
    let rechecks: Vec<LoggedRequest> = h.site.requests().into_iter().filter(is_statement).collect();
    assert!(!rechecks.is_empty());
    assert!(
        rechecks
            .iter()
            .all(|r| r.status == 304 && r.if_none_match.is_some()),
        "{rechecks:#?}"
    );
}
