//! Issue 7 items 5 and 6 against a private nats-server: dead letters listed and replayed
//! with the built `parser` binary, oversize pages and records rejected at once, and
//! `parser reparse` publishing only the records whose output changed.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, object_store};
use bytes::Bytes;
use serde_json::Value;
use shared::config::{CommonArgs, LogFormat};
use shared::messages::{Body, Compression, hex_digest};
use shared::nats::{ensure_streams, publish_durable};
use shared::subjects::{
    DEAD_LETTER_STREAM, LARGE_PAGE_BUCKET, RAW_STREAM, SPEECH_STREAM, raw_subject,
};
use shared::{Lang, SpeechRecord};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::corpus::{FixturePage, statement_pages};
use crate::service::{raw_page, wait_for};

/// Output of one run of the `parser` binary.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn parser_cli(nats_url: &str, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_parser"))
        .arg("--nats-url")
        .arg(nats_url)
        .args(args)
        .output()
        .await
        .expect("run the parser binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn fixture(doc_id: &str, lang: Lang) -> FixturePage {
    statement_pages()
        .into_iter()
        .find(|p| p.doc_id == doc_id && p.lang == lang)
        .unwrap_or_else(|| panic!("fixture {doc_id} {lang} missing"))
}

async fn setup(nats: &testkit::NatsServer) -> jetstream::Context {
    let client = testkit::connect_nats(&nats.operator_url()).await;
    let js = jetstream::new(client);
    ensure_streams(&js, 1, &CancellationToken::new())
        .await
        .expect("streams");
    js
}

async fn publish_raw(js: &jetstream::Context, lang: Lang, msg_id: &str, payload: Vec<u8>) {
    publish_durable(
        js,
        &raw_subject("mid.ru", lang),
        msg_id,
        Bytes::from(payload),
        3,
    )
    .await
    .expect("publish raw page");
}

fn start_service(
    nats: &testkit::NatsServer,
    max_page_bytes: usize,
) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
    let common = CommonArgs {
        nats_url: nats.url(),
        nats_auth: nats.auth_args(testkit::Identity::Parser),
        log_format: LogFormat::Text,
        metrics_listen: None,
        stream_replicas: 1,
    };
    let extractor = Arc::new(parser::Extractor::builtin().expect("registry"));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            parser::service::run_with_limits(&common, extractor, max_page_bytes, shutdown).await
        }
    });
    (shutdown, task)
}

async fn stop_service(service: (CancellationToken, JoinHandle<anyhow::Result<()>>)) {
    service.0.cancel();
    tokio::time::timeout(Duration::from_secs(20), service.1)
        .await
        .expect("service stops after shutdown")
        .expect("service task")
        .expect("service ends cleanly");
}

async fn stream_messages(js: &jetstream::Context, name: &str) -> u64 {
    let mut stream = js.get_stream(name).await.expect("stream");
    stream.info().await.expect("stream info").state.messages
}

async fn letters_json(nats_url: &str, stage: &str) -> Vec<Value> {
    let run = parser_cli(
        nats_url,
        &["dead-letters", "list", "--json", "--stage", stage],
    )
    .await;
    assert_eq!(run.code, Some(0), "list --json failed: {}", run.stderr);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

async fn record_on(js: &jetstream::Context, subject: &str, id: &str) -> SpeechRecord {
    let speeches = js.get_stream(SPEECH_STREAM).await.expect("SPEECHES");
    wait_for(&format!("record {id} on {subject}"), || async {
        let m = speeches
            .get_last_raw_message_by_subject(subject)
            .await
            .ok()?;
        let record = SpeechRecord::from_json(&m.payload).expect("a speech record");
        (record.id == id).then_some(record)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_and_oversize_pages_are_dead_lettered_listed_and_replayed() {
    let nats = testkit::NatsServer::start();
    let url = nats.operator_url();
    let js = setup(&nats).await;

    // A stricter parser: pages over 1000 bytes are refused at once.
    let strict = start_service(&nats, 1000);
    let big = fixture("1950002", Lang::En);
    let big_raw = raw_page(&big);
    publish_raw(
        &js,
        Lang::En,
        &big_raw.msg_id(),
        serde_json::to_vec(&big_raw).expect("encode"),
    )
    .await;
    // A poison page: its body is in an object store that does not exist, so every
    // delivery fails (a transient error) until the maximum deliveries are used up.
    let poison = fixture("1950001", Lang::En);
    let mut poison_raw = raw_page(&poison);
    poison_raw.body = Body::ObjectStore {
        bucket: LARGE_PAGE_BUCKET.to_string(),
        object: "poison-1950001-en".into(),
        compression: Compression::None,
    };
    publish_raw(
        &js,
        Lang::En,
        "poison-1",
        serde_json::to_vec(&poison_raw).expect("encode"),
    )
    .await;

    let letters = wait_for("two dead letters", || async {
        let letters = letters_json(&url, "parser").await;
        (letters.len() == 2).then_some(letters)
    })
    .await;
    stop_service(strict).await;

    let oversize = letters
        .iter()
        .find(|l| {
            l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("over --max-page-bytes 1000"))
        })
        .unwrap_or_else(|| panic!("no oversize letter in {letters:?}"));
    assert_eq!(oversize["deliveries"], 1, "rejected at once: {oversize}");
    assert_eq!(oversize["subject"], "raw.mid_ru.en");
    assert!(
        oversize["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("page is {} bytes", big.bytes.len())))
    );
    assert!(oversize.get("payload").is_none());
    let poisoned = letters
        .iter()
        .find(|l| {
            l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("gave up after 5 deliveries"))
        })
        .unwrap_or_else(|| panic!("no poison letter in {letters:?}"));
    assert_eq!(poisoned["deliveries"], 5, "{poisoned}");
    assert_eq!(poisoned["stage"], "parser");
    let poison_payload = serde_json::to_vec(&poison_raw).expect("encode");
    assert_eq!(poisoned["payload_bytes"], poison_payload.len());
    let poison_seq = poisoned["dead_seq"].as_u64().expect("dead_seq");
    let oversize_seq = oversize["dead_seq"].as_u64().expect("dead_seq");

    // The plain listing: one line per letter with its sequence, stage, deliveries, subject.
    let list = parser_cli(&url, &["dead-letters", "list"]).await;
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", list.stdout);
    let poison_line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{poison_seq}\t")))
        .expect("poison line");
    let fields: Vec<&str> = poison_line.split('\t').collect();
    assert_eq!(
        &fields[2..5],
        ["parser", "5", "raw.mid_ru.en"],
        "{poison_line}"
    );
    assert!(
        fields[5].contains("gave up after 5 deliveries"),
        "{poison_line}"
    );
    assert!(letters_json(&url, "sink").await.is_empty());
    // Listing changes nothing.
    assert_eq!(stream_messages(&js, DEAD_LETTER_STREAM).await, 2);

    // The world is fixed (the object exists) and the parser is back to its default limits.
    let store = js
        .create_object_store(object_store::Config {
            bucket: LARGE_PAGE_BUCKET.to_string(),
            ..Default::default()
        })
        .await
        .expect("object store");
    store
        .put("poison-1950001-en", &mut poison.bytes.as_slice())
        .await
        .expect("put the page body");
    let service = start_service(&nats, parser::service::DEFAULT_MAX_PAGE_BYTES);

    let replay = parser_cli(
        &url,
        &["dead-letters", "replay", "--seq", &poison_seq.to_string()],
    )
    .await;
    assert_eq!(replay.code, Some(0), "{}", replay.stderr);
    assert!(
        replay.stdout.contains(&format!(
            "replayed dead letter {poison_seq} to raw.mid_ru.en"
        )),
        "{}",
        replay.stdout
    );
    let record = record_on(&js, "speeches.mid_ru.en.interview", "mid.ru:1950001:en").await;
    assert_eq!(record.turns.len(), 26);
    assert_eq!(stream_messages(&js, DEAD_LETTER_STREAM).await, 1);

    // Replaying a letter that is gone is an error that says what to do.
    let again = parser_cli(
        &url,
        &["dead-letters", "replay", "--seq", &poison_seq.to_string()],
    )
    .await;
    assert_eq!(again.code, Some(1));
    assert!(
        again
            .stderr
            .contains(&format!("no dead letter with sequence {poison_seq}"))
            && again.stderr.contains("dead-letters list"),
        "{}",
        again.stderr
    );

    // --all replays the rest (the page the strict parser refused) for the default parser.
    let all = parser_cli(
        &url,
        &["dead-letters", "replay", "--all", "--stage", "parser"],
    )
    .await;
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    assert!(
        all.stdout.contains(&format!(
            "replayed dead letter {oversize_seq} to raw.mid_ru.en"
        )),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout.contains("replayed 1 dead letter(s)"),
        "{}",
        all.stdout
    );
    record_on(&js, "speeches.mid_ru.en.answers", "mid.ru:1950002:en").await;
    assert_eq!(stream_messages(&js, DEAD_LETTER_STREAM).await, 0);
    let empty = parser_cli(&url, &["dead-letters", "list"]).await;
    assert_eq!((empty.code, empty.stdout.as_str()), (Some(0), ""));
    stop_service(service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_max_payload_is_rejected_at_once() {
    let nats = testkit::NatsServer::start();
    let js = setup(&nats).await;
    let service = start_service(&nats, parser::service::DEFAULT_MAX_PAGE_BYTES);

    // About 1.3 MB of Q&A: the page compresses into one message, its record does not fit.
    let mut html = String::from(
        "<html><head><title>Брифинг официального представителя</title></head><body>\
         <h1>Брифинг официального представителя</h1><div class=\"text article-content\">\
         <p>Вопрос: Что происходит на переговорах?</p>",
    );
    for i in 0..8000 {
        html.push_str(&format!(
            "<p>Ответ {i}: Переговоры продолжаются, и мы рассчитываем на результат.</p>"
        ));
    }
    html.push_str("</div></body></html>");
    let mut raw = raw_page(&fixture("1960003", Lang::Ru));
    raw.body_sha256 = hex_digest(html.as_bytes());
    raw.body = Body::inline_zstd(html.as_bytes());
    raw.listing = None;
    let payload = serde_json::to_vec(&raw).expect("encode");
    assert!(
        payload.len() < 1024 * 1024,
        "the raw page fits in one message"
    );
    publish_raw(&js, Lang::Ru, "huge-record", payload).await;

    let letters = wait_for("the oversize record's dead letter", || async {
        let letters = letters_json(&nats.operator_url(), "parser").await;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    let reason = letters[0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("record is ") && reason.contains("over the NATS max payload 1048576"),
        "{reason}"
    );
    assert_eq!(letters[0]["deliveries"], 1, "a Reject, not five Retries");
    assert_eq!(stream_messages(&js, SPEECH_STREAM).await, 0);
    stop_service(service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reparse_publishes_only_changed_records() {
    let nats = testkit::NatsServer::start();
    let url = nats.url_as(testkit::Identity::Parser);
    let js = setup(&nats).await;
    for doc in ["1950001", "1950002", "1950003"] {
        let raw = raw_page(&fixture(doc, Lang::En));
        publish_raw(
            &js,
            Lang::En,
            &raw.msg_id(),
            serde_json::to_vec(&raw).expect("encode"),
        )
        .await;
    }
    assert_eq!(stream_messages(&js, RAW_STREAM).await, 3);

    let first = parser_cli(&url, &["reparse", "--since", "2000-01-01"]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert!(
        first.stdout.contains(
            "pages read: 3, records published: 3, duplicates (unchanged): 0, failures: 0"
        ),
        "{}",
        first.stdout
    );
    assert_eq!(stream_messages(&js, SPEECH_STREAM).await, 3);

    // Nothing changed: three duplicates, no new message.
    let same = parser_cli(&url, &["reparse", "--since", "2000-01-01"]).await;
    assert_eq!(same.code, Some(0), "{}", same.stderr);
    assert!(
        same.stdout.contains(
            "pages read: 3, records published: 0, duplicates (unchanged): 3, failures: 0"
        ),
        "{}",
        same.stdout
    );
    assert_eq!(stream_messages(&js, SPEECH_STREAM).await, 3);

    // A registry update that changes one page's speakers: one new version.
    let dir = testkit::TempDir::new("parser-reparse");
    let officials = dir.path().join("officials.json");
    std::fs::write(
        &officials,
        r#"{"officials": [{"name": "Kompas Anchor", "en": ["Kompas TV"]}]}"#,
    )
    .expect("write officials");
    let officials = officials.display().to_string();
    let changed = parser_cli(
        &url,
        &[
            "--officials",
            &officials,
            "reparse",
            "--since",
            "2000-01-01",
            "--lang",
            "en",
        ],
    )
    .await;
    assert_eq!(changed.code, Some(0), "{}", changed.stderr);
    assert!(
        changed.stdout.contains(
            "pages read: 3, records published: 1, duplicates (unchanged): 2, failures: 0"
        ),
        "{}",
        changed.stdout
    );
    assert!(
        changed
            .stdout
            .contains("published mid.ru:1950001:en on speeches.mid_ru.en.interview"),
        "{}",
        changed.stdout
    );
    assert_eq!(stream_messages(&js, SPEECH_STREAM).await, 4);
    let record = record_on(&js, "speeches.mid_ru.en.interview", "mid.ru:1950001:en").await;
    assert_eq!(record.speakers, vec!["Sergey Lavrov", "Kompas Anchor"]);

    // Windows that select nothing read nothing.
    for args in [
        vec!["reparse", "--since", "2000-01-01", "--lang", "ru"],
        vec!["reparse", "--since", "2000-01-01", "--until", "2000-01-02"],
        vec!["reparse", "--since", "2200-01-01"],
    ] {
        let none = parser_cli(&url, &args).await;
        assert_eq!(none.code, Some(0), "{args:?}: {}", none.stderr);
        assert!(
            none.stdout.contains("pages read: 0,"),
            "{args:?}: {}",
            none.stdout
        );
    }
    let bad = parser_cli(&url, &["reparse", "--since", "yesterday"]).await;
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("2026-11-28"), "{}", bad.stderr);
    assert_eq!(stream_messages(&js, SPEECH_STREAM).await, 4);
}
