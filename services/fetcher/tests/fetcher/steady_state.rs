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
