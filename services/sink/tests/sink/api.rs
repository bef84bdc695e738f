//! The HTTP API, served in-process on a free port over a fresh SQLite database.

use std::collections::HashSet;

use serde_json::Value;
use shared::{Kind, Lang, SpeechRecord};
use sink::store::Store;

use crate::support::{TestApp, edited, generated, record};

fn seed() -> Vec<SpeechRecord> {
    let mut records = vec![
        record(
            1,
            Lang::En,
            Kind::Interview,
            "2024-03-01T10:00:00+03:00",
            "Interview by Sergey Lavrov <to> \"News & Views\"",
            &["Sergey Lavrov"],
            &[
                "Question: sanctions?",
                "Answer: Sanctions failed & <b>will</b> fail.",
            ],
        ),
        record(
            2,
            Lang::Ru,
            Kind::Briefing,
            "2024-03-02T12:00:00+03:00",
            "Брифинг М.В.Захаровой",
            &["Maria Zakharova"],
            &["О ситуации вокруг Украины."],
        ),
        record(
            3,
            Lang::En,
            Kind::Speech,
            "2024-02-15T09:30:00+03:00",
            "Remarks at the UN Security Council",
            &["Sergey Lavrov"],
            &["Mr President.", "The Charter matters."],
        ),
    ];
    records.extend(generated(20, 100));
    records
}

fn item_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn list_filters_and_pages() {
    let app = TestApp::spawn(&seed()).await;
    let first = app.get_json("/v1/speeches?limit=2", 200).await;
    assert_eq!(item_ids(&first), vec!["mid.ru:100:en", "mid.ru:101:en"]);
    assert!(first["next_cursor"].is_string());

    assert_eq!(
        item_ids(&app.get_json("/v1/speeches?lang=ru", 200).await),
        vec!["mid.ru:2:ru"]
    );
    assert_eq!(
        item_ids(
            &app.get_json(
                "/v1/speeches?kind=speech&speaker=lavrov&until=2024-05-01",
                200
            )
            .await
        ),
        vec!["mid.ru:3:en"]
    );
    let window = app
        .get_json("/v1/speeches?since=2024-03-01&until=2024-03-02", 200)
        .await;
    assert_eq!(item_ids(&window), vec!["mid.ru:2:ru", "mid.ru:1:en"]);
    let instant = app
        .get_json(
            "/v1/speeches?since=2024-03-01T07:00:00Z&until=2024-03-01T07:00:00Z",
            200,
        )
        .await;
    assert_eq!(item_ids(&instant), vec!["mid.ru:1:en"]);
    assert_eq!(window["next_cursor"], Value::Null);

    // Cursor paging through everything.
    let mut seen = Vec::new();
    let mut path = "/v1/speeches?limit=7".to_string();
    loop {
        let page = app.get_json(&path, 200).await;
        seen.extend(item_ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/speeches?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);
}

#[tokio::test]
async fn a_cached_search_page_is_not_served_after_a_store() {
    let app = TestApp::spawn(&seed()).await;
    let first = app.get_json("/v1/speeches?q=sanctions", 200).await;
    assert_eq!(item_ids(&first), vec!["mid.ru:1:en"]);
    // Again with nothing stored: the same page (from the search cache).
    assert_eq!(app.get_json("/v1/speeches?q=sanctions", 200).await, first);
    // A newer record with the word is found at once.
    let newer = record(
        900,
        Lang::En,
        Kind::Statement,
        "2026-01-01T10:00:00+03:00",
        "Statement",
        &["Maria Zakharova"],
        &["New sanctions were announced today."],
    );
    app.store.store_batch(&[newer]).await.expect("store");
    let page = app.get_json("/v1/speeches?q=sanctions", 200).await;
    let mut ids = item_ids(&page);
    ids.sort();
    assert_eq!(ids, vec!["mid.ru:1:en", "mid.ru:900:en"]);
    // An edit that drops the word takes the record out of the results.
    let seeded = seed();
    let without = edited(&seeded[0], &["Answer: nothing to add."]);
    app.store.store_batch(&[without]).await.expect("store");
    let page = app.get_json("/v1/speeches?q=sanctions", 200).await;
    assert_eq!(item_ids(&page), vec!["mid.ru:900:en"]);
}

#[tokio::test]
async fn a_cached_listing_page_is_not_served_after_a_store() {
    let app = TestApp::spawn(&seed()).await;
    let path = "/v1/speeches?lang=en";
    let first = app.get_json(path, 200).await;
    assert_eq!(item_ids(&first).len(), 22);
    // Again with nothing stored: the same page (from the listing cache).
    assert_eq!(app.get_json(path, 200).await, first);
    // A newer record is listed at once, on top.
    let newer = record(
        901,
        Lang::En,
        Kind::Statement,
        "2026-01-01T10:00:00+03:00",
        "Statement",
        &["Sergey Lavrov"],
        &["A newer statement."],
    );
    app.store.store_batch(&[newer]).await.expect("store");
    let page = app.get_json(path, 200).await;
    assert_eq!(item_ids(&page).len(), 23);
    assert_eq!(item_ids(&page)[0], "mid.ru:901:en");
    // An edit is listed with its new text.
    let seeded = seed();
    let changed = edited(&seeded[0], &["Answer: edited after publication."]);
    app.store.store_batch(&[changed]).await.expect("store");
    let page = app.get_json(path, 200).await;
    let items = page["items"].as_array().expect("items");
    let one = items
        .iter()
        .find(|item| item["id"] == "mid.ru:1:en")
        .expect("listed");
    assert_eq!(one["paragraphs"][0], "Answer: edited after publication.");
}

#[tokio::test]
async fn a_cached_record_is_not_served_after_a_store() {
    let app = TestApp::spawn(&seed()).await;
    let path = "/v1/speeches/mid.ru:1:en";
    let first = app.get_json(path, 200).await;
    // Again with nothing stored: the same record (from the record cache).
    assert_eq!(app.get_json(path, 200).await, first);
    // An edit is served at once.
    let seeded = seed();
    let changed = edited(&seeded[0], &["Answer: edited after publication."]);
    app.store.store_batch(&[changed]).await.expect("store");
    let now = app.get_json(path, 200).await;
    assert_eq!(now["paragraphs"][0], "Answer: edited after publication.");
    assert_ne!(now, first);
    // A record unknown when first asked for is served once it is stored.
    let missing = "/v1/speeches/mid.ru:902:en";
    app.get_json(missing, 404).await;
    let newer = record(
        902,
        Lang::En,
        Kind::Statement,
        "2026-01-01T10:00:00+03:00",
        "Statement",
        &["Sergey Lavrov"],
        &["Stored after a client asked for it."],
    );
    app.store.store_batch(&[newer]).await.expect("store");
    let stored = app.get_json(missing, 200).await;
    assert_eq!(
        stored["paragraphs"][0],
        "Stored after a client asked for it."
    );
}

#[tokio::test]
async fn search_returns_snippets() {
    let app = TestApp::spawn(&seed()).await;
    let page = app.get_json("/v1/speeches?q=sanctions", 200).await;
    assert_eq!(item_ids(&page), vec!["mid.ru:1:en"]);
    let snippet = page["items"][0]["snippet"].as_str().expect("snippet");
    assert!(snippet.contains("<mark>"), "{snippet}");
    let page = app
        .get_json("/v1/speeches?q=%22Security%20Council%22", 200)
        .await;
    assert_eq!(item_ids(&page), vec!["mid.ru:3:en"]);
    // Without q there is no snippet field.
    let page = app.get_json("/v1/speeches?limit=1", 200).await;
    assert!(page["items"][0].get("snippet").is_none());
    // Search pages use their own cursors.
    let page = app.get_json("/v1/speeches?q=economy&limit=15", 200).await;
    assert_eq!(item_ids(&page).len(), 15);
    let cursor = page["next_cursor"].as_str().expect("more results");
    let rest = app
        .get_json(
            &format!("/v1/speeches?q=economy&limit=15&cursor={cursor}"),
            200,
        )
        .await;
    assert_eq!(item_ids(&rest).len(), 5);
    // A search cursor is refused without its q.
    let error = app
        .get_json(&format!("/v1/speeches?cursor={cursor}"), 400)
        .await;
    assert!(error["error"].as_str().expect("error").contains("cursor"));
}

#[tokio::test]
async fn get_versions_and_not_found() {
    let records = seed();
    let app = TestApp::spawn(&records).await;
    let record: Value = app.get_json("/v1/speeches/mid.ru:1:en", 200).await;
    let back: SpeechRecord = serde_json::from_value(record).expect("a speech record");
    assert_eq!(back, records[0]);

    let missing = app.get_json("/v1/speeches/mid.ru:404:en", 404).await;
    assert!(
        missing["error"]
            .as_str()
            .expect("error")
            .contains("mid.ru:404:en")
    );
    app.get_json("/v1/speeches/mid.ru:404:en/versions", 404)
        .await;
    let unknown = app.get_json("/v2/whatever", 404).await;
    assert!(unknown["error"].is_string());

    let edit = edited(
        &records[0],
        &[
            "Question: sanctions?",
            "A new answer.",
            "Answer: Sanctions failed & <b>will</b> fail.",
        ],
    );
    app.store.store_batch(&[edit]).await.expect("store edit");
    let versions = app.get_json("/v1/speeches/mid.ru:1:en/versions", 200).await;
    let list = versions["versions"].as_array().expect("versions");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["version"], 1);
    assert_eq!(list[0]["diff"], Value::Null);
    assert_eq!(list[1]["version"], 2);
    assert_eq!(list[1]["diff"]["added"][0]["text"], "A new answer.");
    assert_eq!(list[1]["diff"]["added"][0]["index"], 1);
    assert_eq!(
        list[1]["diff"]["removed"]
            .as_array()
            .expect("removed")
            .len(),
        0
    );
    let latest = app.get_json("/v1/speeches/mid.ru:1:en", 200).await;
    assert_eq!(latest["paragraphs"][1], "A new answer.");
}

#[tokio::test]
async fn atom_feed_is_escaped_and_filtered() {
    let app = TestApp::spawn(&seed()).await;
    let (status, content_type, xml) = app.get("/v1/feed.atom?lang=en&limit=5").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/atom+xml"),
        "{content_type}"
    );
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert_eq!(xml.matches("<entry>").count(), 5);
    assert!(xml.contains("lang=en&amp;limit=5"));

    let (_, _, xml) = app.get("/v1/feed.atom?q=sanctions").await;
    assert_eq!(xml.matches("<entry>").count(), 1);
    assert!(xml.contains(
        "<title type=\"text\">Interview by Sergey Lavrov &lt;to&gt; &quot;News &amp; Views&quot;</title>"
    ));
    // Paragraph markup is text: escaped once for HTML, once more for XML.
    assert!(xml.contains("&lt;p&gt;Answer: Sanctions failed &amp;amp; &amp;lt;b&amp;gt;will"));
    assert!(!xml.contains("<b>"));
    assert_eq!(xml.matches('<').count(), xml.matches('>').count());

    let (status, _, body) = app.get("/v1/feed.atom?cursor=abc").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn export_streams_every_matching_record() {
    let mut records = seed();
    records.extend(generated(600, 10_000));
    let app = TestApp::spawn(&records).await;
    let (status, content_type, body) = app.get("/v1/export.jsonl").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/jsonl"),
        "{content_type}"
    );
    let lines: Vec<SpeechRecord> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a record"))
        .collect();
    assert_eq!(lines.len(), 623);
    assert_eq!(
        lines.iter().map(|r| &r.id).collect::<HashSet<_>>().len(),
        623
    );

    let (_, _, body) = app.get("/v1/export.jsonl?lang=ru").await;
    assert_eq!(body.lines().count(), 1);
    let (_, _, body) = app
        .get("/v1/export.jsonl?speaker=Zakharova&q=economy")
        .await;
    assert_eq!(body.lines().count(), 207);
    let (status, _, _) = app.get("/v1/export.jsonl?limit=10").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn openapi_and_ops_endpoints() {
    let app = TestApp::spawn(&seed()).await;
    let doc = app.get_json("/v1/openapi.json", 200).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/speeches",
        "/v1/speeches/{id}",
        "/v1/speeches/{id}/versions",
        "/v1/feed.atom",
        "/v1/export.jsonl",
        "/v1/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    let params: Vec<&str> = doc["paths"]["/v1/speeches"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        params,
        vec![
            "source", "lang", "kind", "speaker", "since", "until", "q", "limit", "cursor"
        ]
    );
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.get("/readyz").await.0, 200);
    assert_eq!(app.get("/metrics").await.0, 200);
}

#[tokio::test]
async fn hostile_parameters_get_json_400s() {
    let app = TestApp::spawn(&seed()).await;
    let cases = [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "limit=1e3",
        "limit=2.5",
        "limit=",
        "limit=99999999999999999999999",
        "limit=1%20OR%201=1",
        "limit=10;DROP%20TABLE%20speeches",
        "since=2024-13-45",
        "since=yesterday",
        "until=2024-02-30",
        "since=2024-03-02&until=2024-03-01",
        "since=-2024-01-01",
        "lang=xx",
        "lang=en%27%20OR%20%271%27=%271",
        "kind=Speech",
        "kind=speech%00",
        "cursor=garbage",
        "cursor=%FF%FE",
        "cursor=",
        "speaker=%27%20OR%201=1--",
        "speaker=",
        "q=",
        "q=%00",
        "q=!!!",
        "lang=en&lang=ru",
        "page=2",
        "LIMIT=10",
    ];
    for endpoint in ["/v1/speeches", "/v1/feed.atom", "/v1/export.jsonl"] {
        for case in cases {
            let path = format!("{endpoint}?{case}");
            let (status, content_type, body) = app.get(&path).await;
            assert_eq!(status, 400, "{path} answered {status}: {body}");
            assert!(
                content_type.starts_with("application/json"),
                "{path}: {content_type}"
            );
            let error: Value = serde_json::from_str(&body).expect("JSON error");
            let message = error["error"].as_str().expect("error message");
            assert!(message.len() > 10, "{path}: {message}");
        }
    }
    // SQL in a free-text search is just text.
    let page = app
        .get_json(
            "/v1/speeches?q=%27%3B%20DROP%20TABLE%20speeches%3B%20--",
            200,
        )
        .await;
    assert!(page["items"].is_array());
    let page = app.get_json("/v1/speeches?speaker=O%27Brien", 200).await;
    assert!(item_ids(&page).is_empty());
    // Ids: too long or with control characters.
    let long = "x".repeat(300);
    app.get_json(&format!("/v1/speeches/{long}"), 400).await;
    app.get_json("/v1/speeches/mid.ru%3A1%0A", 400).await;
    app.get_json("/v1/speeches/%FF", 400).await;
    // Everything still works.
    assert_eq!(item_ids(&app.get_json("/v1/speeches", 200).await).len(), 23);
}

/// Serves `app` behind `limits` on a free port; returns its base URL.
async fn serve_hardened(limits: sink::limits::ApiLimits) -> String {
    let db = crate::support::SqliteDb::new().await;
    let store = sink::store::AnyStore::Sqlite(db.store.clone());
    let readiness: shared::ops::ReadinessCheck =
        std::sync::Arc::new(|| Box::pin(async { Ok::<(), String>(()) }));
    let app = sink::api::app(
        store,
        std::sync::Arc::new(prometheus_client::registry::Registry::default()),
        readiness,
        sink::api::CacheSizes::default(),
    );
    let app = sink::limits::harden(app, &limits).expect("valid limits");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _db = db;
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn hardened_api_limits_queries_sets_headers_and_sheds_slow_requests() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = serve_hardened(sink::limits::ApiLimits::default()).await;
    let ok = client
        .get(format!("{base}/v1/speeches?lang=en"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("GET");
    assert_eq!(ok.status(), 200);
    let headers = ok.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "CORS is off unless configured"
    );
    let long = client
        .get(format!("{base}/v1/speeches?q={}", "a".repeat(5_000)))
        .send()
        .await
        .expect("GET");
    assert_eq!(long.status(), 400);
    assert!(long.text().await.expect("body").contains("\"error\""));
    let crowded = vec!["x=1"; 20].join("&");
    let crowded = client
        .get(format!("{base}/v1/speeches?{crowded}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(crowded.status(), 400);

    let cors = serve_hardened(sink::limits::ApiLimits {
        cors_origin: Some("https://reader.example".into()),
        ..Default::default()
    })
    .await;
    let allowed = client
        .get(format!("{cors}/v1/speeches"))
        .header("Origin", "https://reader.example")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://reader.example"
    );

    let slow = serve_hardened(sink::limits::ApiLimits {
        request_timeout: std::time::Duration::from_nanos(1),
        ..Default::default()
    })
    .await;
    let timed_out = client
        .get(format!("{slow}/v1/export.jsonl"))
        .send()
        .await
        .expect("GET");
    assert_eq!(timed_out.status(), 503);
    assert_eq!(timed_out.headers()["retry-after"], "1");
}
