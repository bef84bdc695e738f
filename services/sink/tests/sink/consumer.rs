//! The whole sink in-process against a private nats-server: records are stored exactly once,
//! edits become versions, junk is dead-lettered, and nothing stays unacknowledged.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream;
use serde_json::Value;
use shared::config::{CommonArgs, LogFormat};
use shared::{DeadLetter, Kind, Lang, SpeechRecord};
use sink::app::SinkArgs;
use testkit::{NatsServer, TempDir, free_port};
use tokio_util::sync::CancellationToken;

use crate::support::{PgDb, Proxy, edited, generated, pg_host_port, record, via_port};
use sink::store::{PgStore, Query, Store};

const SUBJECT: &str = "speeches.mid_ru.en.interview";

async fn publish(js: &jetstream::Context, msg_id: &str, payload: Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", msg_id);
    js.publish_with_headers(SUBJECT, headers, payload.into())
        .await
        .expect("publish")
        .await
        .expect("publish acknowledged");
}

fn json(record: &SpeechRecord) -> Vec<u8> {
    serde_json::to_vec(record).expect("encode")
}

async fn get_json(client: &reqwest::Client, url: &str) -> Option<Value> {
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    serde_json::from_str(&response.text().await.ok()?).ok()
}

#[tokio::test]
async fn stores_each_record_once_and_dead_letters_junk() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    shared::telemetry::init(LogFormat::Text);
    let nats = NatsServer::start();
    let dir = TempDir::new("sink-consumer");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let common = CommonArgs {
        nats_url: nats.url(),
        nats_auth: nats.auth_args(testkit::Identity::Sink),
        log_format: LogFormat::Text,
        metrics_listen: None,
        stream_replicas: 1,
    };
    let args = SinkArgs {
        database_url_file: None,
        database_url: format!("sqlite://{}", dir.path().join("data/speeches.db").display()),
        listen,
        limits: Default::default(),
        caches: Default::default(),
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { sink::app::run(&common, &args, shutdown).await }
    });

    let client = testkit::connect_nats(&nats.operator_url()).await;
    let js = jetstream::new(client);
    shared::nats::ensure_streams(&js, 1, &CancellationToken::new())
        .await
        .expect("streams");
    let a = record(
        1,
        Lang::En,
        Kind::Interview,
        "2024-03-01T10:00:00+03:00",
        "Interview one",
        &["Sergey Lavrov"],
        &["First.", "Second."],
    );
    let b = record(
        2,
        Lang::En,
        Kind::Interview,
        "2024-03-02T10:00:00+03:00",
        "Interview two",
        &["Sergey Lavrov"],
        &["Alpha.", "Beta."],
    );
    let b2 = edited(&b, &["Alpha.", "Beta, corrected.", "Gamma."]);
    publish(&js, &a.msg_id(), json(&a)).await;
    publish(&js, &b.msg_id(), json(&b)).await;
    // The same record again under another message id: JetStream keeps both, the sink
    // must store it once.
    publish(&js, "redelivered-a", json(&a)).await;
    publish(&js, &b2.msg_id(), json(&b2)).await;
    publish(&js, "junk", b"this is not a speech record".to_vec()).await;

    let http = reqwest::Client::new();
    let base = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut dead_letters = js.get_stream("DEAD_LETTERS").await.expect("dead letters");
    loop {
        let versions = get_json(&http, &format!("{base}/v1/speeches/{}/versions", b.id)).await;
        let stored_b2 = versions
            .as_ref()
            .and_then(|v| v["versions"].as_array().map(Vec::len))
            == Some(2);
        let dead = dead_letters
            .info()
            .await
            .expect("stream info")
            .state
            .messages;
        if stored_b2 && dead == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sink did not store the records within 60 s (b versions: {versions:?}, dead letters: {dead})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let page = get_json(&http, &format!("{base}/v1/speeches"))
        .await
        .unwrap();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![b.id.as_str(), a.id.as_str()]);
    let a_versions = get_json(&http, &format!("{base}/v1/speeches/{}/versions", a.id))
        .await
        .unwrap();
    assert_eq!(a_versions["versions"].as_array().unwrap().len(), 1);
    let latest_b: SpeechRecord = serde_json::from_value(
        get_json(&http, &format!("{base}/v1/speeches/{}", b.id))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(latest_b, b2);

    let letter = dead_letters
        .get_last_raw_message_by_subject("dead.sink.mid_ru")
        .await
        .expect("a dead letter from the sink");
    let letter: DeadLetter = serde_json::from_slice(&letter.payload).expect("dead letter JSON");
    assert_eq!(letter.stage, "sink");
    assert_eq!(letter.subject, SUBJECT);
    assert_eq!(
        letter.original_payload().unwrap(),
        b"this is not a speech record"
    );
    assert!(letter.reason.contains("speech record"), "{}", letter.reason);

    // Every message was settled: nothing pending, nothing awaiting an ack.
    let mut consumer: jetstream::consumer::PullConsumer = js
        .get_stream("SPEECHES")
        .await
        .unwrap()
        .get_consumer("sink")
        .await
        .expect("the sink's durable consumer");
    let settled = Instant::now() + Duration::from_secs(10);
    loop {
        let info = consumer.info().await.unwrap();
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            break;
        }
        assert!(
            Instant::now() < settled,
            "messages left unsettled: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "sink_records_inserted_total 2",
        "sink_records_new_version_total 1",
        "sink_records_unchanged_total 1",
        "sink_dead_lettered_total 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the sink stops after shutdown")
        .expect("the sink task did not panic");
    result.expect("the sink stopped cleanly");
}

async fn stored(store: &PgStore) -> usize {
    let mut query = Query {
        limit: 500,
        ..Query::default()
    };
    let mut count = 0;
    loop {
        let page = store.list(&query).await.expect("list");
        count += page.items.len();
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return count,
        }
    }
}

/// Issue 7: with the database unreachable the sink keeps the batch, acknowledges nothing it
/// has not committed, dead-letters nothing, and catches up when the database is back.
#[tokio::test]
async fn database_outage_delays_but_loses_nothing() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    shared::telemetry::init(LogFormat::Text);
    let nats = NatsServer::start();
    let db = PgDb::create().await;
    let proxy = Proxy::start(&pg_host_port(&db.url)).await;
    let direct = PgStore::open(&db.url)
        .await
        .expect("open the test database");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let common = CommonArgs {
        nats_url: nats.url(),
        nats_auth: nats.auth_args(testkit::Identity::Sink),
        log_format: LogFormat::Text,
        metrics_listen: None,
        stream_replicas: 1,
    };
    let args = SinkArgs {
        database_url_file: None,
        database_url: via_port(&db.url, proxy.port),
        listen,
        limits: Default::default(),
        caches: Default::default(),
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { sink::app::run(&common, &args, shutdown).await }
    });
    let client = testkit::connect_nats(&nats.operator_url()).await;
    let js = jetstream::new(client);
    shared::nats::ensure_streams(&js, 1, &CancellationToken::new())
        .await
        .expect("streams");

    let records = generated(150, 7000);
    let wait_for = |want: usize| {
        let direct = direct.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let have = stored(&direct).await;
                if have == want {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "stored {have} records, expected {want}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    for record in &records[..50] {
        publish(&js, &record.msg_id(), json(record)).await;
    }
    wait_for(50).await;

    // The database goes away; records keep coming, one of them an edit.
    proxy.cut();
    let edit = edited(&records[0], &["Rewritten during the outage."]);
    for record in records[50..].iter().chain(std::iter::once(&edit)) {
        publish(&js, &record.msg_id(), json(record)).await;
    }
    // Longer than the pool's 5 s acquire timeout, so the handler's own retries are exercised.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        stored(&direct).await,
        50,
        "nothing can be stored during the outage"
    );
    let mut consumer: jetstream::consumer::PullConsumer = js
        .get_stream("SPEECHES")
        .await
        .unwrap()
        .get_consumer("sink")
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    assert!(
        info.num_pending + info.num_ack_pending as u64 >= 101,
        "records were acknowledged without being stored: {info:?}"
    );

    proxy.restore().await;
    wait_for(150).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = consumer.info().await.unwrap();
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages left unsettled: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(direct.versions(&records[0].id).await.unwrap().len(), 2);
    let mut dead = js.get_stream("DEAD_LETTERS").await.unwrap();
    assert_eq!(
        dead.info().await.unwrap().state.messages,
        0,
        "nothing dead-lettered"
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the sink stops after shutdown")
        .expect("no panic")
        .expect("clean stop");
    direct.close().await;
    db.drop_db().await;
}
