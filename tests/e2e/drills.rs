//! Fault drills: break things on purpose while statements are flowing, then check every
//! statement ends up stored exactly once.
//!
//! "Mid-run" drills use the synthetic site: its pages are published on `raw.mid_ru.{lang}`
//! exactly as the fetcher publishes them (same message ids, listing hints and headers), so
//! the parser and sink have hundreds of messages in flight when something is killed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use shared::messages::{Body, ListingHint, RAW_PAGE_SCHEMA_VERSION, RawPage, hex_digest};
use shared::subjects::{DEAD_LETTER_STREAM, RAW_STREAM, SINK_CONSUMER, SPEECH_STREAM};
use testkit::{
    FetcherMode, FixtureSite, Pipeline, PipelineOptions, SiteCorpus, TcpProxy, TempDatabase,
    free_port, http_get_json,
};

use crate::pipeline::{FETCH_ONCE, READY, assert_store_matches, expected_ids};

/// Upper bound of one drill, start to finish.
pub(crate) const DRILL: Duration = Duration::from_secs(150);
/// How long a drill waits for the store to catch up after the fault ends.
const CATCH_UP: Duration = Duration::from_secs(120);

/// Runs `drill` with an overall timeout; a drill that hangs fails instead of blocking CI.
pub(crate) async fn bounded<F: std::future::Future<Output = ()>>(name: &str, drill: F) {
    if tokio::time::timeout(DRILL, drill).await.is_err() {
        panic!("drill {name:?} did not finish within {DRILL:?}");
    }
}

/// A JetStream context on `nats_url` (a comma-separated list for a cluster).
pub(crate) async fn jetstream(nats_url: &str) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(testkit::connect_nats(nats_url).await)
}

/// The raw page the fetcher would publish for `doc_id`/`lang` of `site`.
pub(crate) fn raw_page(site: &FixtureSite, doc_id: &str, lang: &str) -> RawPage {
    let bytes = site
        .page_bytes(doc_id, lang)
        .unwrap_or_else(|| panic!("the site has no page {doc_id}/{lang}"));
    let meta = site
        .meta(doc_id)
        .unwrap_or_else(|| panic!("the site has no statement {doc_id}"));
    let charset = meta
        .charset
        .get(lang)
        .cloned()
        .unwrap_or_else(|| "UTF-8".into());
    let moscow = chrono::FixedOffset::east_opt(3 * 3600).expect("UTC+3");
    RawPage {
        schema_version: RAW_PAGE_SCHEMA_VERSION,
        source: shared::messages::SOURCE_MID_RU.into(),
        doc_id: doc_id.into(),
        lang: lang.parse().unwrap_or_else(|e| panic!("{e}")),
        url: site.page_url(doc_id, lang).unwrap_or_default(),
        http_status: 200,
        headers: BTreeMap::from([(
            "content-type".to_string(),
            format!("text/html; charset={charset}"),
        )]),
        fetched_at: chrono::Utc::now(),
        listing: Some(ListingHint {
            section: meta.sections.first().cloned(),
            title: meta.titles.get(lang).cloned(),
            published_at: meta.published_utc().map(|t| t.with_timezone(&moscow)),
            tags: meta.tags.get(lang).cloned().unwrap_or_default(),
        }),
        body_sha256: hex_digest(&bytes),
        body: Body::inline_zstd(&bytes),
    }
}

/// Publishes `page` on `raw.mid_ru.{lang}` with the fetcher's message id.
pub(crate) async fn publish_raw(js: &async_nats::jetstream::Context, page: &RawPage) {
    let json = serde_json::to_vec(page).unwrap_or_else(|e| panic!("encode raw page: {e}"));
    let subject = shared::subjects::raw_subject(&page.source, page.lang);
    shared::nats::publish_durable(js, &subject, &page.msg_id(), Bytes::from(json), 5)
        .await
        .unwrap_or_else(|e| panic!("cannot publish {}: {e}", page.msg_id()));
}

/// Publishes every visible page of the site (as the fetcher would); returns the record ids.
pub(crate) async fn publish_site(pipeline: &Pipeline) -> BTreeSet<String> {
    let js = jetstream(&pipeline.operator_url()).await;
    for (doc_id, langs) in pipeline.site.statements() {
        for lang in langs {
            publish_raw(&js, &raw_page(&pipeline.site, &doc_id, &lang)).await;
        }
    }
    expected_ids(&pipeline.site)
}

/// Stream sequence up to which the sink has acknowledged everything (0 when unknown).
pub(crate) async fn sink_ack_floor(js: &async_nats::jetstream::Context) -> u64 {
    let Ok(stream) = js.get_stream(SPEECH_STREAM).await else {
        return 0;
    };
    let Ok(mut consumer) = stream
        .get_consumer::<async_nats::jetstream::consumer::pull::Config>(SINK_CONSUMER)
        .await
    else {
        return 0;
    };
    match consumer.info().await {
        Ok(info) => info.ack_floor.stream_sequence,
        Err(_) => 0,
    }
}

/// Messages in `stream`, or 0 while NATS does not answer.
async fn messages_now(js: &async_nats::jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Messages in `stream`, asking again until JetStream answers: right after a node dies the
/// client may be reconnecting, and a count of 0 then would be a false alarm.
async fn messages_answered(js: &async_nats::jetstream::Context, stream: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = match js.get_stream(stream).await {
            Ok(mut s) => s
                .info()
                .await
                .map(|i| i.state.messages)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(messages) => return messages,
            Err(err) if Instant::now() < deadline => {
                eprintln!("stream {stream} info not available yet ({err}); asking again");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => panic!("stream {stream} info unavailable for 30 s: {err}"),
        }
    }
}

/// Waits until `progress()` reaches `at_least`; returns the value seen.
async fn wait_progress<F, Fut>(what: &str, at_least: u64, mut progress: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let n = progress().await;
        if n >= at_least {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {n} after {CATCH_UP:?}, expected at least {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Record ids listed by `GET /v1/speeches` (paging with the largest limit), with how often
/// each was listed.
async fn listed_ids(api: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let url = match &cursor {
            Some(c) => format!("{api}/v1/speeches?limit=100&cursor={c}"),
            None => format!("{api}/v1/speeches?limit=100"),
        };
        let page = http_get_json(&url).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            *counts
                .entry(item["id"].as_str().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) if !items.is_empty() => cursor = Some(next.to_string()),
            _ => return counts,
        }
    }
    panic!("GET {api}/v1/speeches: the cursor does not advance");
}

/// Waits until the API lists every expected id, then asserts each exactly once and nothing
/// else, and that no message was dead-lettered on the way.
pub(crate) async fn assert_exactly_once(pipeline: &Pipeline, expected: &BTreeSet<String>) {
    let deadline = Instant::now() + CATCH_UP;
    let counts = loop {
        let counts = tokio::time::timeout(Duration::from_secs(20), listed_ids(&pipeline.api))
            .await
            .unwrap_or_default();
        if expected.iter().all(|id| counts.contains_key(id)) {
            break counts;
        }
        if Instant::now() >= deadline {
            let missing = expected
                .iter()
                .filter(|id| !counts.contains_key(*id))
                .count();
            panic!(
                "after {CATCH_UP:?} the store lacks {missing} of {} records\n{}",
                expected.len(),
                pipeline.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "listed more than once: {duplicated:?}"
    );
    let listed: BTreeSet<String> = counts.keys().cloned().collect();
    let extra: Vec<_> = listed.difference(expected).collect();
    assert!(
        extra.is_empty(),
        "records that are not the site's: {extra:?}"
    );
    let js = jetstream(&pipeline.operator_url()).await;
    assert_eq!(
        messages_answered(&js, RAW_STREAM).await,
        expected.len() as u64,
        "RAW_PAGES holds one message per language version"
    );
    assert_eq!(
        messages_answered(&js, SPEECH_STREAM).await,
        expected.len() as u64,
        "SPEECHES holds one record per language version (republished records are de-duplicated)"
    );
    assert_eq!(
        messages_answered(&js, DEAD_LETTER_STREAM).await,
        0,
        "nothing is dead-lettered by a fault drill\n{}",
        pipeline.logs()
    );
}

/// Panics (with the logs) unless the parser and sink are still running.
pub(crate) fn assert_running(pipeline: &mut Pipeline) {
    let parser = pipeline.parser.is_running();
    let sink = pipeline.sink.is_running();
    assert!(
        parser && sink,
        "a service died (parser running: {parser}, sink running: {sink})\n{}",
        pipeline.logs()
    );
}

fn spawn_with(name: &str, args: &[String], env: &[(String, String)]) -> testkit::Service {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    testkit::Service::spawn(name, &args, &env)
}

/// Starts a new parser in place of the pipeline's (which must be dead).
fn respawn_parser(pipeline: &mut Pipeline) {
    let args = vec![
        "--metrics-listen".to_string(),
        format!("127.0.0.1:{}", free_port()),
    ];
    pipeline.parser = spawn_with("parser", &args, &pipeline.env(testkit::Identity::Parser));
}

/// Starts a new sink (same database and API address) in place of the pipeline's.
fn respawn_sink(pipeline: &mut Pipeline) {
    let listen = pipeline.api.trim_start_matches("http://").to_string();
    let args = vec![
        "--database-url".to_string(),
        pipeline.database_url.clone(),
        "--listen".to_string(),
        listen,
        "--metrics-listen".to_string(),
        format!("127.0.0.1:{}", free_port()),
    ];
    pipeline.sink = spawn_with("sink", &args, &pipeline.env(testkit::Identity::Sink));
}

fn synthetic(n: usize) -> PipelineOptions {
    PipelineOptions {
        corpus: SiteCorpus::Synthetic(n),
        fetcher: FetcherMode::Manual,
        ..PipelineOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_nats_server_killed_mid_run_and_restarted_on_its_store() {
    bounded("nats restart", async {
        let mut pipeline = Pipeline::start(synthetic(250)).await;
        pipeline.wait_ready(READY).await;
        let expected = publish_site(&pipeline).await;
        let js = jetstream(&pipeline.operator_url()).await;
        let at_kill =
            wait_progress("records parsed", 20, || messages_now(&js, SPEECH_STREAM)).await;
        let acked = sink_ack_floor(&js).await;
        pipeline.nats[0].kill();
        eprintln!("nats killed with {at_kill} records parsed, sink ack floor {acked}");
        assert!(
            at_kill < expected.len() as u64,
            "the run ended before the kill; raise n"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_running(&mut pipeline);
        pipeline.nats[0].restart();
        assert_exactly_once(&pipeline, &expected).await;
        assert_running(&mut pipeline);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_a_cluster_node_dies_mid_run_and_the_pipeline_keeps_going() {
    bounded("cluster node dies", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            nats_nodes: 3,
            ..synthetic(150)
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = publish_site(&pipeline).await;
        let js = jetstream(&pipeline.operator_url()).await;
        let at_kill =
            wait_progress("records parsed", 20, || messages_now(&js, SPEECH_STREAM)).await;
        // The first node: the one clients usually talk to, often a stream leader.
        pipeline.nats[0].kill();
        eprintln!("node0 killed with {at_kill} records parsed");
        assert!(
            at_kill < expected.len() as u64,
            "the run ended before the kill; raise n"
        );
        // The two others keep the R3 streams' quorum: everything arrives with node0 down.
        assert_exactly_once(&pipeline, &expected).await;
        assert_running(&mut pipeline);
        pipeline.nats[0].restart();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_parser_and_sink_killed_mid_batch_and_restarted() {
    bounded("parser and sink SIGKILL", async {
        let mut pipeline = Pipeline::start(synthetic(250)).await;
        pipeline.wait_ready(READY).await;
        let expected = publish_site(&pipeline).await;
        let total = expected.len() as u64;
        let js = jetstream(&pipeline.operator_url()).await;

        // The parser dies with a batch in flight (fetched, not all acknowledged).
        let parsed = wait_progress("records parsed", 20, || messages_now(&js, SPEECH_STREAM)).await;
        pipeline.parser.kill();
        eprintln!("parser killed after {parsed} records");
        assert!(
            parsed < total,
            "the parser finished before the kill; raise n"
        );
        respawn_parser(&mut pipeline);

        // The sink dies while storing.
        let floor = wait_progress(
            "records acknowledged by the sink",
            parsed.min(total / 3),
            || sink_ack_floor(&js),
        )
        .await;
        pipeline.sink.kill();
        eprintln!("sink killed at ack floor {floor}");
        assert!(floor < total, "the sink finished before the kill; raise n");
        respawn_sink(&mut pipeline);
        pipeline.wait_ready(READY).await;

        assert_exactly_once(&pipeline, &expected).await;
        assert_running(&mut pipeline);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_fetcher_killed_mid_poll_and_restarted() {
    bounded("fetcher SIGKILL", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = expected_ids(&pipeline.site);
        let js = jetstream(&pipeline.operator_url()).await;
        // A slow poll (a pause between requests) so it can be interrupted.
        let mut args = pipeline.fetcher_args();
        if let Some(i) = args.iter().position(|a| a == "--request-interval") {
            args[i + 1] = "150ms".into();
        }
        args.extend(["--poll-interval", "1h", "--metrics-listen"].map(String::from));
        args.push(format!("127.0.0.1:{}", free_port()));
        let mut fetcher = pipeline.spawn_fetcher(&args);
        let deadline = Instant::now() + CATCH_UP;
        let published = loop {
            let n = messages_now(&js, RAW_STREAM).await;
            if n >= 3 {
                break n;
            }
            assert!(
                fetcher.is_running() && Instant::now() < deadline,
                "the fetcher published {n} raw pages (running: {}); its log:\n{}",
                fetcher.is_running(),
                fetcher.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        fetcher.kill();
        eprintln!("fetcher killed after {published} raw pages");
        assert!(
            published < expected.len() as u64,
            "the fetcher finished before the kill"
        );
        // The next run resumes from its state; anything republished is de-duplicated.
        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        assert!(
            status.success(),
            "fetcher --once after SIGKILL exited {status}:\n{log}"
        );
        assert_exactly_once(&pipeline, &expected).await;
        assert_store_matches(&pipeline, &expected).await;
        assert_running(&mut pipeline);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_database_unreachable_for_10s_the_sink_acks_nothing_uncommitted_and_catches_up() {
    bounded("database cut", async {
        let database = TempDatabase::create("drill");
        let proxy = TcpProxy::start(database.server()).await;
        let mut pipeline = Pipeline::start(PipelineOptions {
            database_url: Some(database.url_via(proxy.addr())),
            ..synthetic(250)
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = publish_site(&pipeline).await;
        let total = expected.len() as u64;
        let js = jetstream(&pipeline.operator_url()).await;
        let before = wait_progress("rows stored", 10, || async { database.stored() }).await;

        proxy.cut();
        let stored_at_cut = database.stored();
        eprintln!("database cut at {before}..{stored_at_cut} rows of {total}");
        assert!(stored_at_cut < total, "the sink finished before the cut; raise n");
        // Ten seconds without the database: nothing is committed, so nothing more may be
        // acknowledged than what is stored, and the sink stays up.
        let outage = Instant::now() + Duration::from_secs(10);
        let mut samples = 0;
        while Instant::now() < outage {
            let floor = sink_ack_floor(&js).await;
            let stored = database.stored();
            assert!(
                floor <= stored,
                "the sink acknowledged through stream sequence {floor} with only {stored} rows committed"
            );
            assert_eq!(stored, stored_at_cut, "rows were committed through a cut connection");
            assert_running(&mut pipeline);
            samples += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let floor_in_outage = sink_ack_floor(&js).await;
        assert!(samples >= 5);
        assert!(
            proxy.refused() > 0 || proxy.accepted() > 0,
            "the sink never tried the database"
        );
        eprintln!(
            "after 10 s cut: ack floor {floor_in_outage}, {stored_at_cut} rows, {} connections refused",
            proxy.refused()
        );
        proxy.restore();

        assert_exactly_once(&pipeline, &expected).await;
        // In the database itself: one row and one version per record.
        assert_eq!(database.count("SELECT count(*) FROM speeches"), total);
        assert_eq!(database.count("SELECT count(DISTINCT id) FROM speeches"), total);
        assert_eq!(database.count("SELECT count(*) FROM speech_versions"), total);
        assert_eq!(database.count("SELECT max(version) FROM speeches"), 1);
        assert_running(&mut pipeline);
        pipeline.sink.terminate().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_a_page_the_parser_always_fails_on_is_dead_lettered_after_max_deliveries() {
    bounded("poison page", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = expected_ids(&pipeline.site);
        let js = jetstream(&pipeline.operator_url()).await;
        // Its body is "in the object store", in a bucket that does not exist: every
        // delivery fails to read it (a transient-looking error), until max_deliver.
        let (doc_id, langs) = pipeline.site.statements().remove(0);
        let mut poison = raw_page(&pipeline.site, &doc_id, &langs[0]);
        poison.doc_id = "9990001".into();
        poison.lang = shared::messages::Lang::En;
        poison.body_sha256 = hex_digest(b"poison");
        poison.body = Body::ObjectStore {
            bucket: "no_such_bucket".into(),
            object: "no/such/object".into(),
            compression: shared::messages::Compression::None,
        };
        publish_raw(&js, &poison).await;

        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        assert!(status.success(), "fetcher --once exited {status}:\n{log}");
        let letters = wait_dead_letters(&js, 1).await;
        let letter = &letters[0];
        assert_eq!(letter.stage, "parser");
        assert_eq!(letter.subject, "raw.mid_ru.en");
        assert_eq!(
            letter.deliveries,
            shared::subjects::PARSER.max_deliver as u64,
            "dead-lettered after the maximum deliveries: {letter:?}"
        );
        assert!(
            letter.reason.contains("no_such_bucket") && letter.reason.contains("deliveries"),
            "the reason says what failed: {:?}",
            letter.reason
        );
        let original = letter.original_payload().unwrap_or_default();
        let kept = RawPage::from_json(&original).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            kept.doc_id, "9990001",
            "the dead letter keeps the original message"
        );
        // Everything else flowed.
        crate::pipeline::wait_stored(&pipeline, &expected).await;
        assert_store_matches(&pipeline, &expected).await;
        assert_running(&mut pipeline);
    })
    .await;
}

/// Every dead letter in DEAD_LETTERS, once at least `count` are there.
pub(crate) async fn wait_dead_letters(
    js: &async_nats::jetstream::Context,
    count: u64,
) -> Vec<shared::messages::DeadLetter> {
    wait_progress("dead letters", count, || {
        messages_now(js, DEAD_LETTER_STREAM)
    })
    .await;
    read_dead_letters(js).await
}

/// Every dead letter in DEAD_LETTERS now.
pub(crate) async fn read_dead_letters(
    js: &async_nats::jetstream::Context,
) -> Vec<shared::messages::DeadLetter> {
    let stream = js
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .unwrap_or_else(|e| panic!("{DEAD_LETTER_STREAM}: {e}"));
    let n = messages_now(js, DEAD_LETTER_STREAM).await;
    let mut letters = Vec::new();
    let mut seq = 1;
    while (letters.len() as u64) < n && seq < n + 1000 {
        if let Ok(message) = stream.get_raw_message(seq).await {
            let letter: shared::messages::DeadLetter = serde_json::from_slice(&message.payload)
                .unwrap_or_else(|e| panic!("dead letter {seq} is not a DeadLetter: {e}"));
            letters.push(letter);
        }
        seq += 1;
    }
    letters
}
