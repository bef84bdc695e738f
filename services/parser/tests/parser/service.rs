//! The service in-process against a private nats-server: a raw page in, a record out on
//! SPEECHES; junk and a challenge page end in DEAD_LETTERS with their reasons.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use shared::config::{CommonArgs, LogFormat};
use shared::messages::{Body, DeadLetter, RAW_PAGE_SCHEMA_VERSION, RawPage, hex_digest};
use shared::nats::{ensure_streams, publish_durable};
use shared::subjects::{DEAD_LETTER_STREAM, SPEECH_STREAM, dead_letter_subject, raw_subject};
use shared::{Kind, Lang, SpeechRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::corpus::{FixturePage, fetched_at, fixtures_dir, statement_pages};

pub(crate) fn raw_page(page: &FixturePage) -> RawPage {
    let mut headers = BTreeMap::new();
    headers.insert("content-type".to_string(), page.content_type.clone());
    RawPage {
        schema_version: RAW_PAGE_SCHEMA_VERSION,
        source: "mid.ru".into(),
        doc_id: page.doc_id.clone(),
        lang: page.lang,
        // Served by a local copy of the site: the record URL must still be the canonical one.
        url: page
            .fetch_url
            .replace("https://mid.ru", "http://127.0.0.1:9"),
        http_status: 200,
        headers,
        fetched_at: fetched_at(),
        listing: Some(page.listing()),
        body_sha256: hex_digest(&page.bytes),
        body: Body::inline_zstd(&page.bytes),
    }
}

pub(crate) async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to ops endpoint");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("send request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read response");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_pages_become_records_and_junk_becomes_dead_letters() {
    let nats = testkit::NatsServer::start();
    let metrics_addr: SocketAddr = format!("127.0.0.1:{}", testkit::free_port())
        .parse()
        .expect("addr");
    let common = CommonArgs {
        nats_url: nats.url(),
        nats_auth: nats.auth_args(testkit::Identity::Parser),
        log_format: LogFormat::Text,
        metrics_listen: Some(metrics_addr),
        stream_replicas: 1,
    };
    let extractor = Arc::new(parser::Extractor::builtin().expect("registry"));
    let shutdown = CancellationToken::new();
    let service = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { parser::service::run(&common, extractor, shutdown).await }
    });

    let client = testkit::connect_nats(&nats.operator_url()).await;
    let js = jetstream::new(client);
    ensure_streams(&js, 1, &CancellationToken::new())
        .await
        .expect("streams");

    let page = statement_pages()
        .into_iter()
        .find(|p| p.doc_id == "1950001" && p.lang == Lang::En)
        .expect("fixture 1950001 en");
    let raw = raw_page(&page);
    let payload = Bytes::from(serde_json::to_vec(&raw).expect("encode raw page"));
    publish_durable(
        &js,
        &raw_subject("mid.ru", Lang::En),
        &raw.msg_id(),
        payload,
        3,
    )
    .await
    .expect("publish raw page");
    publish_durable(
        &js,
        &raw_subject("mid.ru", Lang::Ru),
        "junk-1",
        Bytes::from_static(b"{not json"),
        3,
    )
    .await
    .expect("publish junk");
    let challenge =
        std::fs::read(fixtures_dir().join("pages/challenge.html")).expect("challenge page");
    let mut challenge_raw = raw.clone();
    challenge_raw.body_sha256 = hex_digest(&challenge);
    challenge_raw.body = Body::inline_zstd(&challenge);
    let payload = Bytes::from(serde_json::to_vec(&challenge_raw).expect("encode"));
    publish_durable(
        &js,
        &raw_subject("mid.ru", Lang::En),
        &challenge_raw.msg_id(),
        payload,
        3,
    )
    .await
    .expect("publish challenge");

    let speeches = js.get_stream(SPEECH_STREAM).await.expect("SPEECHES stream");
    let subject = "speeches.mid_ru.en.interview";
    let message = wait_for("the record on SPEECHES", || async {
        speeches.get_last_raw_message_by_subject(subject).await.ok()
    })
    .await;
    let record = SpeechRecord::from_json(&message.payload).expect("a speech record");
    assert_eq!(record.id, "mid.ru:1950001:en");
    assert_eq!(record.kind, Kind::Interview);
    assert_eq!(
        record.url,
        "https://mid.ru/en/press_service/minister_speeches/1950001/"
    );
    assert_eq!(record.tags, vec!["Sergey Lavrov", "Indonesia", "ASEAN"]);
    assert_eq!(record.turns.len(), 26);
    assert_eq!(record.content_hash, record.compute_content_hash());

    let dead = js
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .expect("DEAD_LETTERS stream");
    let letters: Vec<DeadLetter> = wait_for("two dead letters", || async {
        let info = dead.get_info().await.ok()?;
        if info.state.messages < 2 {
            return None;
        }
        let mut letters = Vec::new();
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let m = dead.get_raw_message(seq).await.ok()?;
            assert_eq!(m.subject.as_str(), dead_letter_subject("parser", "mid.ru"));
            letters.push(serde_json::from_slice(&m.payload).expect("a dead letter"));
        }
        Some(letters)
    })
    .await;
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("bad raw page payload")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("anti-bot challenge")),
        "{reasons:?}"
    );
    let junk = letters
        .iter()
        .find(|l| l.reason.contains("bad raw page"))
        .expect("junk letter");
    assert_eq!(junk.original_payload().expect("payload"), b"{not json");
    assert_eq!(junk.subject, "raw.mid_ru.ru");

    let metrics = http_get(metrics_addr, "/metrics").await;
    assert!(metrics.contains("parser_processed_total 1"), "{metrics}");
    assert!(
        metrics.contains("parser_dead_lettered_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("parser_rejected_pages_total{reason=\"challenge\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("parser_rejected_pages_total{reason=\"bad_payload\"} 1"),
        "{metrics}"
    );
    let ready = http_get(metrics_addr, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    shared::ops::healthcheck(metrics_addr)
        .await
        .expect("healthz");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), service)
        .await
        .expect("service stops after shutdown")
        .expect("service task")
        .expect("service ends cleanly");
}
