//! The whole system with real processes: nats-server, the fixture site, fetcher, parser, sink.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use testkit::{FetcherMode, FixtureSite, Pipeline, PipelineOptions, http_get, http_get_json};

/// Generous bounds: a cold debug build on 2 cores is slow, but every wait ends.
pub(crate) const READY: Duration = Duration::from_secs(60);
pub(crate) const FETCH_ONCE: Duration = Duration::from_secs(180);
pub(crate) const STORED: Duration = Duration::from_secs(90);
pub(crate) const GRACEFUL: Duration = Duration::from_secs(15);

/// Record ids (`mid.ru:{doc_id}:{lang}`) of every visible statement of the site.
pub(crate) fn expected_ids(site: &FixtureSite) -> BTreeSet<String> {
    site.statements()
        .into_iter()
        .flat_map(|(id, langs)| langs.into_iter().map(move |l| format!("mid.ru:{id}:{l}")))
        .collect()
}

/// Every item of `GET /v1/speeches`, following `next_cursor` (bounded number of pages).
pub(crate) async fn all_items(api: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{api}/v1/speeches?limit=7&cursor={}", encode(c)),
            None => format!("{api}/v1/speeches?limit=7"),
        };
        let page = http_get_json(&url).await;
        let batch = page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {url}: no `items` array: {page}"));
        items.extend(batch.iter().cloned());
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) if !batch.is_empty() => cursor = Some(next.to_string()),
            _ => return items,
        }
    }
    panic!("GET {api}/v1/speeches: more than 1000 pages; the cursor does not advance");
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn item_id(item: &Value) -> String {
    item["id"].as_str().unwrap_or_default().to_string()
}

/// Waits until the API lists every id in `expected`; returns the items. Panics with the
/// missing ids and the services' logs after [`STORED`].
pub(crate) async fn wait_stored(pipeline: &Pipeline, expected: &BTreeSet<String>) -> Vec<Value> {
    let deadline = std::time::Instant::now() + STORED;
    loop {
        let items = all_items(&pipeline.api).await;
        let have: BTreeSet<String> = items.iter().map(item_id).collect();
        let missing: Vec<&String> = expected.difference(&have).collect();
        if missing.is_empty() {
            return items;
        }
        if std::time::Instant::now() >= deadline {
            panic!(
                "after {STORED:?} the store still lacks {missing:?} (has {have:?})\n{}",
                pipeline.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `fetcher --once` (which must succeed) and waits until every statement visible on the
/// fixture site is stored; returns their record ids.
pub(crate) async fn poll_once_and_wait_stored(pipeline: &Pipeline) -> BTreeSet<String> {
    let expected = expected_ids(&pipeline.site);
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(status.success(), "fetcher --once exited {status}:\n{log}");
    wait_stored(pipeline, &expected).await;
    expected
}

/// Messages in a JetStream stream.
pub(crate) async fn stream_messages(nats_url: &str, stream: &str) -> u64 {
    let client = testkit::connect_nats(nats_url).await;
    let js = async_nats::jetstream::new(client);
    let mut stream = js
        .get_stream(stream)
        .await
        .unwrap_or_else(|e| panic!("stream {stream} missing: {e}"));
    stream
        .info()
        .await
        .unwrap_or_else(|e| panic!("stream info: {e}"))
        .state
        .messages
}

/// Waits until `stream` holds `count` messages and stays there briefly.
pub(crate) async fn wait_stream_count(nats_url: &str, stream: &str, at_least: u64) -> u64 {
    let deadline = std::time::Instant::now() + STORED;
    loop {
        let n = stream_messages(nats_url, stream).await;
        if n >= at_least {
            return n;
        }
        if std::time::Instant::now() >= deadline {
            panic!("{stream} holds {n} messages after {STORED:?}, expected at least {at_least}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn norm(text: &str) -> String {
    text.replace('\u{a0}', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks one stored record against the fixture's meta.json; returns what is wrong.
fn check_record(site: &FixtureSite, record: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let id = item_id(record);
    let mut parts = id.splitn(3, ':');
    let (source, doc_id, lang) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let Some(meta) = site.meta(doc_id) else {
        return vec![format!("{id}: not a fixture statement")];
    };
    let field = |name: &str| record[name].as_str().unwrap_or_default().to_string();
    if source != "mid.ru" || field("source") != "mid.ru" {
        wrong.push(format!("{id}: source {:?}", record["source"]));
    }
    if field("doc_id") != doc_id {
        wrong.push(format!("{id}: doc_id {:?}", record["doc_id"]));
    }
    if field("lang") != lang {
        wrong.push(format!("{id}: lang {:?}", record["lang"]));
    }
    let title = meta.titles.get(lang).cloned().unwrap_or_default();
    if norm(&field("title")) != norm(&title) {
        wrong.push(format!(
            "{id}: title {:?}, expected {title:?}",
            record["title"]
        ));
    }
    let url = field("url");
    let path_ok = meta
        .sections
        .iter()
        .any(|s| url.ends_with(&format!("/{lang}{s}{doc_id}/")));
    if !path_ok {
        wrong.push(format!(
            "{id}: url {url:?} is not one of the statement's pages"
        ));
    }
    // published_at: the same instant as the listing's Moscow time.
    let published = record["published_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match (published, meta.published_utc()) {
        (Some(got), Some(want)) if got.with_timezone(&chrono::Utc) == want => {}
        (got, want) => wrong.push(format!(
            "{id}: published_at {:?} (parsed {got:?}), expected {want:?} (Moscow {})",
            record["published_at"], meta.published
        )),
    }
    // Kind and speakers, where the title leaves no doubt.
    let kind = field("kind");
    let lower = title.to_lowercase();
    let expected_kind = if lower.starts_with("briefing by") || lower.starts_with("брифинг") {
        Some("briefing")
    } else if lower.contains("interview with") || lower.starts_with("интервью") {
        Some("interview")
    } else {
        None
    };
    if let Some(k) = expected_kind
        && kind != k
    {
        wrong.push(format!(
            "{id}: kind {kind:?}, expected {k:?} from {title:?}"
        ));
    }
    if kind.is_empty() {
        wrong.push(format!("{id}: no kind"));
    }
    let speakers: Vec<String> = record["speakers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for (cue, name) in [
        ("Lavrov", "Sergey Lavrov"),
        ("Лаврова", "Sergey Lavrov"),
        ("Zakharova", "Maria Zakharova"),
        ("Захаровой", "Maria Zakharova"),
    ] {
        if title.contains(cue) && !speakers.iter().any(|s| s == name) {
            wrong.push(format!(
                "{id}: speakers {speakers:?} lack {name} ({title:?})"
            ));
        }
    }
    wrong
}

/// Asserts the API holds each expected record exactly once, and nothing else, with the
/// right fields (fetched one by one through `GET /v1/speeches/{id}`).
pub(crate) async fn assert_store_matches(pipeline: &Pipeline, expected: &BTreeSet<String>) {
    let items = all_items(&pipeline.api).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in &items {
        *counts.entry(item_id(item)).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "listed more than once: {duplicated:?}"
    );
    let listed: BTreeSet<String> = counts.keys().cloned().collect();
    assert_eq!(
        &listed, expected,
        "the store holds other records than the site's"
    );
    // Newest first.
    let dates: Vec<Option<chrono::DateTime<chrono::FixedOffset>>> = items
        .iter()
        .map(|i| {
            i["published_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        })
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "GET /v1/speeches is not newest first: {dates:?}"
    );
    let mut wrong = Vec::new();
    for id in expected {
        let record = http_get_json(&format!("{}/v1/speeches/{}", pipeline.api, id)).await;
        if item_id(&record) != *id {
            wrong.push(format!(
                "GET /v1/speeches/{id} answered id {:?}",
                record["id"]
            ));
            continue;
        }
        wrong.extend(check_record(&pipeline.site, &record));
    }
    assert!(
        wrong.is_empty(),
        "{} wrong field(s):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_is_stored_once_a_second_poll_adds_nothing_and_a_new_one_is_picked_up() {
    let mut pipeline = Pipeline::start(PipelineOptions {
        fetcher: FetcherMode::Manual,
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    let held = pipeline.site.held_back();
    assert!(
        !held.is_empty(),
        "the bundled corpus needs a held-back statement"
    );
    let expected = expected_ids(&pipeline.site);
    assert!(!expected.is_empty());

    // First poll: everything visible reaches the store once.
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(
        status.success(),
        "fetcher --once exited {status}; its log:\n{log}"
    );
    let raw_after_first = wait_stream_count(
        &pipeline.operator_url(),
        shared::subjects::RAW_STREAM,
        expected.len() as u64,
    )
    .await;
    wait_stored(&pipeline, &expected).await;
    assert_store_matches(&pipeline, &expected).await;
    eprintln!(
        "first poll: {} statements, {} records stored, {raw_after_first} raw pages, {} requests",
        pipeline.site.statements().len(),
        expected.len(),
        pipeline.site.requests().len()
    );
    assert_eq!(
        raw_after_first,
        expected.len() as u64,
        "the first poll published {raw_after_first} raw pages for {} language versions",
        expected.len()
    );

    // Second poll: nothing new is published.
    pipeline.site.clear_requests();
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(
        status.success(),
        "second fetcher --once exited {status}; its log:\n{log}"
    );
    let raw_after_second =
        stream_messages(&pipeline.operator_url(), shared::subjects::RAW_STREAM).await;
    assert_eq!(
        raw_after_second,
        raw_after_first,
        "a second poll published {} more raw pages; fetcher log:\n{log}",
        raw_after_second - raw_after_first
    );
    let second_poll = pipeline.site.requests();
    assert!(
        !second_poll.is_empty(),
        "the second poll made no requests at all"
    );
    assert!(
        second_poll
            .iter()
            .all(|r| !r.path.contains("PAGEN") && r.user_agent.is_some()),
        "the fetcher followed a robots-forbidden link or sent no User-Agent: {second_poll:?}"
    );

    // A statement appears: the next poll picks it up.
    let released = pipeline.site.release_all();
    let with_new = expected_ids(&pipeline.site);
    let new_ids: BTreeSet<String> = with_new.difference(&expected).cloned().collect();
    assert!(!new_ids.is_empty(), "releasing {released:?} added no pages");
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(
        status.success(),
        "third fetcher --once exited {status}; its log:\n{log}"
    );
    let raw_after_third =
        stream_messages(&pipeline.operator_url(), shared::subjects::RAW_STREAM).await;
    assert_eq!(
        raw_after_third,
        raw_after_first + new_ids.len() as u64,
        "releasing {released:?} should publish exactly {new_ids:?}; fetcher log:\n{log}"
    );
    wait_stored(&pipeline, &with_new).await;
    assert_store_matches(&pipeline, &with_new).await;

    // The API and the services' ops endpoints answer.
    for url in [
        format!("{}/healthz", pipeline.api),
        format!("{}/readyz", pipeline.api),
        format!("{}/healthz", pipeline.metrics[1]),
        format!("{}/readyz", pipeline.metrics[1]),
        format!("{}/healthz", pipeline.metrics[2]),
        format!("{}/metrics", pipeline.metrics[2]),
    ] {
        let (status, body) = http_get(&url).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200, "{url}: {body}");
    }
    let missing = http_get(&format!("{}/v1/speeches/mid.ru:1:en", pipeline.api))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing.0, 404, "unknown record: {}", missing.1);

    // Graceful shutdown.
    for service in [&mut pipeline.sink, &mut pipeline.parser] {
        let name = service.name().to_string();
        let status = service.terminate_within(GRACEFUL).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{name} after SIGTERM: {status:?}; its log:\n{}",
            service.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_pipeline_picks_up_a_new_statement_and_stops_gracefully() {
    let mut pipeline = Pipeline::start(PipelineOptions::default()).await;
    pipeline.wait_ready(READY).await;
    let expected = expected_ids(&pipeline.site);
    wait_stored(&pipeline, &expected).await;

    pipeline.site.release_all();
    let with_new = expected_ids(&pipeline.site);
    wait_stored(&pipeline, &with_new).await;
    assert_store_matches(&pipeline, &with_new).await;
    assert_eq!(
        stream_messages(&pipeline.operator_url(), shared::subjects::RAW_STREAM).await,
        with_new.len() as u64,
        "repeated polls must not republish unchanged pages"
    );
    let fetcher_ops = &pipeline.metrics[0];
    let (status, _) = http_get(&format!("{fetcher_ops}/healthz"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);

    let mut services = vec![&mut pipeline.sink, &mut pipeline.parser];
    if let Some(fetcher) = pipeline.fetcher.as_mut() {
        services.insert(0, fetcher);
    }
    for service in services {
        let name = service.name().to_string();
        let status = service.terminate_within(GRACEFUL).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{name} after SIGTERM: {status:?}; its log:\n{}",
            service.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_publication_updates_the_stored_record_in_place() {
    let mut pipeline = Pipeline::start(PipelineOptions {
        fetcher: FetcherMode::Manual,
        // Every fixture statement is old: re-check all of them for edits.
        fetcher_args: vec!["--recheck-window".into(), "20000d".into()],
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    let expected = poll_once_and_wait_stored(&pipeline).await;
    let raw_before = stream_messages(&pipeline.operator_url(), shared::subjects::RAW_STREAM).await;

    // Edit the English version of the newest statement with an English page.
    let (doc_id, _) = pipeline
        .site
        .statements()
        .into_iter()
        .find(|(_, langs)| langs.iter().any(|l| l == "en"))
        .expect("a statement in English");
    let id = format!("mid.ru:{doc_id}:en");
    let marker = "Correction: this paragraph was added after publication by the ministry.";
    pipeline.site.edit(&doc_id, "en", |html| {
        let at = html
            .find("class=\"text article-content\">")
            .map(|i| i + "class=\"text article-content\">".len())
            .unwrap_or_else(|| panic!("{doc_id}/en has no article-content div"));
        format!("{}\n<p>{marker}</p>\n{}", &html[..at], &html[at..])
    });
    pipeline.site.clear_requests();
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(status.success(), "fetcher --once exited {status}:\n{log}");
    let requests = pipeline.site.requests();
    let not_modified = requests.iter().filter(|r| r.status == 304).count();
    eprintln!(
        "edit poll: {} requests, {not_modified} answered 304",
        requests.len()
    );
    assert_eq!(
        stream_messages(&pipeline.operator_url(), shared::subjects::RAW_STREAM).await,
        raw_before + 1,
        "exactly the edited page is republished; fetcher log:\n{log}"
    );
    let url = format!("{}/v1/speeches/{id}", pipeline.api);
    let deadline = std::time::Instant::now() + STORED;
    loop {
        let record = http_get_json(&url).await;
        let text = record["paragraphs"].to_string();
        if text.contains(marker) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} was not updated within {STORED:?}: {record}\n{}",
            pipeline.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Still once per language version, with the right fields.
    assert_store_matches(&pipeline, &expected).await;
}
