//! Lock-down checks against real servers: health during a NATS outage, least-privilege NATS
//! identities, no anonymous access, forged records kept out of the store.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use shared::SpeechRecord;
use shared::config::NatsAuthArgs;
use shared::subjects::{DEAD_LETTER_STREAM, RAW_STREAM, SPEECH_STREAM};
use testkit::{
    FetcherMode, Identity, NatsServer, Pipeline, PipelineOptions, http_get, http_get_json, wait_for,
};
use tokio_util::sync::CancellationToken;

use crate::drills::bounded;
use crate::pipeline::{READY, poll_once_and_wait_stored};

/// How long NATS stays down in the health drill.
const OUTAGE: Duration = Duration::from_secs(60);
/// Time the services get to notice the outage before `/readyz` must say 503.
const NOTICE: Duration = Duration::from_secs(5);

/// `/healthz` and `/readyz` of every service: fetcher, parser, sink (ops port) and the sink's
/// API port.
fn health_urls(pipeline: &Pipeline) -> Vec<(String, String)> {
    pipeline
        .metrics
        .iter()
        .chain(std::iter::once(&pipeline.api))
        .map(|base| (format!("{base}/healthz"), format!("{base}/readyz")))
        .collect()
}

async fn all_ready(urls: &[(String, String)]) -> bool {
    for (_, readyz) in urls {
        if !matches!(http_get(readyz).await, Ok((200, _))) {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_nats_down_60s_healthz_stays_200_readyz_says_503_then_200_again() {
    bounded("nats down, health", async {
        let mut pipeline = Pipeline::start(PipelineOptions::default()).await;
        pipeline.wait_ready(READY).await;
        let urls = health_urls(&pipeline);
        wait_for("every /readyz to answer 200", READY, Duration::from_millis(200), || {
            all_ready(&urls)
        })
        .await;

        pipeline.nats[0].kill();
        let down_at = Instant::now();
        while down_at.elapsed() < OUTAGE {
            for (healthz, readyz) in &urls {
                let health = http_get(healthz).await;
                assert!(
                    matches!(health, Ok((200, _))),
                    "{healthz} answered {health:?} {:?} into the NATS outage; it must not depend on NATS\n{}",
                    down_at.elapsed(),
                    pipeline.logs()
                );
                if down_at.elapsed() > NOTICE {
                    let ready = http_get(readyz).await;
                    assert!(
                        matches!(&ready, Ok((503, body)) if body.contains("nats")),
                        "{readyz} answered {ready:?} {:?} into the NATS outage; expected 503 naming nats",
                        down_at.elapsed()
                    );
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for service in [Some(&mut pipeline.sink), Some(&mut pipeline.parser), pipeline.fetcher.as_mut()]
            .into_iter()
            .flatten()
        {
            assert!(service.is_running(), "{} exited during the NATS outage:\n{}", service.name(), service.log());
        }

        pipeline.nats[0].restart();
        wait_for(
            "every /readyz to answer 200 again after NATS came back",
            READY,
            Duration::from_millis(500),
            || all_ready(&urls),
        )
        .await;
    })
    .await;
}

/// Messages in `stream`, asked as the operator.
async fn count(nats: &NatsServer, stream: &str) -> u64 {
    let js = async_nats::jetstream::new(nats.client(Identity::Operator).await);
    let mut stream = js
        .get_stream(stream)
        .await
        .unwrap_or_else(|e| panic!("stream {stream}: {e}"));
    stream
        .info()
        .await
        .unwrap_or_else(|e| panic!("stream info: {e}"))
        .state
        .messages
}

/// A JetStream publish as `identity`: whether the stream acknowledged it (a refused publish
/// is never acknowledged; 2 s is plenty on loopback).
async fn js_publish(nats: &NatsServer, identity: Identity, subject: &str, payload: &[u8]) -> bool {
    let mut js = async_nats::jetstream::new(nats.client(identity).await);
    js.set_timeout(Duration::from_secs(2));
    shared::nats::publish_durable(
        &js,
        subject,
        &format!("test-{identity:?}-{subject}"),
        Bytes::copy_from_slice(payload),
        1,
    )
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_identities_have_least_privilege_and_anonymous_clients_are_refused() {
    let nats = NatsServer::start();
    let operator = async_nats::jetstream::new(nats.client(Identity::Operator).await);
    shared::nats::ensure_streams(&operator, 1, &CancellationToken::new())
        .await
        .expect("streams");

    // No identity, a wrong password: refused at once, with a clear error.
    let anonymous = shared::nats::connect(
        &nats.url(),
        &NatsAuthArgs::default(),
        "anonymous",
        &CancellationToken::new(),
    )
    .await
    .expect_err("an anonymous client must be refused");
    assert!(
        anonymous.to_string().contains("authorization violation")
            && anonymous.to_string().contains("--nats-user"),
        "{anonymous}"
    );
    let wrong = testkit::TempDir::new("wrong-password");
    let wrong_file = wrong.path().join("pw");
    std::fs::write(&wrong_file, "not-the-password\n").expect("write");
    let refused = shared::nats::connect(
        &nats.url(),
        &NatsAuthArgs {
            nats_user: Some("sink".into()),
            nats_password_file: Some(wrong_file),
            ..NatsAuthArgs::default()
        },
        "sink",
        &CancellationToken::new(),
    )
    .await
    .expect_err("a wrong password must be refused");
    assert!(
        !refused.to_string().contains("not-the-password"),
        "{refused}"
    );

    // The fetcher publishes raw pages, never records or dead letters.
    assert!(js_publish(&nats, Identity::Fetcher, "raw.mid_ru.en", b"{}").await);
    assert!(
        !js_publish(
            &nats,
            Identity::Fetcher,
            "speeches.mid_ru.en.statement",
            b"{}"
        )
        .await
    );
    assert!(!js_publish(&nats, Identity::Fetcher, "dead.parser.mid_ru", b"{}").await);
    // The sink writes its own dead letters only.
    assert!(!js_publish(&nats, Identity::Sink, "speeches.mid_ru.en.statement", b"{}").await);
    assert!(!js_publish(&nats, Identity::Sink, "dead.parser.mid_ru", b"{}").await);
    assert!(js_publish(&nats, Identity::Sink, "dead.sink.mid_ru", b"{}").await);
    // The parser publishes records.
    assert!(
        js_publish(
            &nats,
            Identity::Parser,
            "speeches.mid_ru.en.statement",
            b"{}"
        )
        .await
    );
    assert!(!js_publish(&nats, Identity::Parser, "raw.mid_ru.en", b"{}").await);

    // A subscriber publishes nothing at all, JetStream or plain.
    let subscriber = nats.client(Identity::Subscriber).await;
    for subject in [
        "raw.mid_ru.en",
        "speeches.mid_ru.en.statement",
        "dead.sink.mid_ru",
        "anything",
    ] {
        assert!(
            !js_publish(&nats, Identity::Subscriber, subject, b"{}").await,
            "{subject}"
        );
        let _ = subscriber
            .publish(subject.to_string(), Bytes::from_static(b"{}"))
            .await;
    }
    let _ = subscriber.flush().await;
    assert_eq!(
        count(&nats, RAW_STREAM).await,
        1,
        "only the fetcher's raw page"
    );
    assert_eq!(
        count(&nats, SPEECH_STREAM).await,
        1,
        "only the parser's record"
    );
    assert_eq!(
        count(&nats, DEAD_LETTER_STREAM).await,
        1,
        "only the sink's dead letter"
    );

    // It reads speeches, and nothing else.
    let stream = async_nats::jetstream::new(subscriber.clone())
        .get_stream(SPEECH_STREAM)
        .await
        .expect("the subscriber may read SPEECHES");
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("the subscriber may create an ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let first = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("a record within 10 s")
        .expect("a message")
        .expect("no error");
    assert_eq!(first.subject.as_str(), "speeches.mid_ru.en.statement");
    let raw = async_nats::jetstream::new(subscriber.clone())
        .get_stream(RAW_STREAM)
        .await;
    assert!(raw.is_err(), "the subscriber must not read RAW_PAGES");
    let mut sneaky = subscriber.subscribe("raw.>").await.expect("subscribe call");
    let _ = subscriber.flush().await;
    assert!(js_publish(&nats, Identity::Fetcher, "raw.mid_ru.ru", b"{}").await);
    let leaked = tokio::time::timeout(Duration::from_secs(2), sneaky.next()).await;
    assert!(
        !matches!(leaked, Ok(Some(_))),
        "the subscriber received a raw page: {leaked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_published_by_a_party_without_rights_never_reaches_the_store() {
    bounded("forged record", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let stored = poll_once_and_wait_stored(&pipeline).await;
        let genuine_id = stored.iter().next().expect("a stored record").clone();
        let genuine = http_get_json(&format!("{}/v1/speeches/{genuine_id}", pipeline.api)).await;
        let forge = |doc_id: &str, title: &str| {
            let mut record: SpeechRecord =
                serde_json::from_value(genuine.clone()).expect("a stored record is a SpeechRecord");
            record.doc_id = doc_id.to_string();
            record.id = format!("mid.ru:{doc_id}:{}", record.lang);
            record.title = title.to_string();
            record.content_hash = record.compute_content_hash();
            record
        };
        for identity in [Identity::Fetcher, Identity::Sink, Identity::Subscriber] {
            let forged = forge("9999991", &format!("Forged by {identity:?}"));
            let subject =
                shared::subjects::speech_subject(&forged.source, forged.lang, forged.kind);
            let json = serde_json::to_vec(&forged).expect("encode");
            assert!(
                !js_publish(&pipeline.nats[0], identity, &subject, &json).await,
                "{identity:?} could publish a speech record"
            );
        }
        // The same record from the parser's identity is stored: the sink would have taken
        // the forged one had it arrived.
        let control = forge("9999992", "Published with the parser's rights");
        let json = serde_json::to_vec(&control).expect("encode");
        let subject = shared::subjects::speech_subject(&control.source, control.lang, control.kind);
        assert!(js_publish(&pipeline.nats[0], Identity::Parser, &subject, &json).await);
        let control_url = format!("{}/v1/speeches/{}", pipeline.api, control.id);
        wait_for(
            "the control record to be stored",
            READY,
            Duration::from_millis(200),
            || async { matches!(http_get(&control_url).await, Ok((200, _))) },
        )
        .await;
        let forged_url = format!(
            "{}/v1/speeches/mid.ru:9999991:{}",
            pipeline.api, control.lang
        );
        let answer = http_get(&forged_url).await;
        assert!(matches!(answer, Ok((404, _))), "{forged_url}: {answer:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_over_tls_verifies_the_server_and_a_wrong_ca_is_a_clear_error() {
    let ca = std::sync::Arc::new(testkit::TestCa::new("nats"));
    let nats = NatsServer::start_tls(ca.clone());
    assert!(nats.url().starts_with("tls://"), "{}", nats.url());
    // The right CA: connected, and JetStream answers through TLS.
    let client = nats.client(Identity::Sink).await;
    let js = async_nats::jetstream::new(client);
    shared::nats::ensure_streams(&js, 1, &CancellationToken::new())
        .await
        .expect("JetStream over TLS");

    // Another CA: refused at once with what to check, never retried in plaintext.
    let other = testkit::TestCa::new("other");
    let mut wrong = nats.auth_args(Identity::Sink);
    wrong.nats_tls_ca = Some(other.ca_pem().to_path_buf());
    for url in [nats.url(), nats.url().replace("tls://", "nats://")] {
        let refused = tokio::time::timeout(
            Duration::from_secs(20),
            shared::nats::connect(&url, &wrong, "sink", &CancellationToken::new()),
        )
        .await
        .expect("a wrong CA fails at once, not after endless retries")
        .expect_err("a server certificate from another CA must be refused");
        let text = refused.to_string();
        assert!(
            text.contains("TLS") && text.contains("--nats-tls-ca"),
            "{text}"
        );
    }
    // No CA given on a nats:// URL: the server demands TLS and the system roots do not know
    // the test CA, so the client fails rather than talk in plaintext.
    let mut none = nats.auth_args(Identity::Sink);
    none.nats_tls_ca = None;
    let refused = tokio::time::timeout(
        Duration::from_secs(20),
        shared::nats::connect(
            &nats.url().replace("tls://", "nats://"),
            &none,
            "sink",
            &CancellationToken::new(),
        ),
    )
    .await
    .expect("fails at once")
    .expect_err("no plaintext fallback");
    assert!(refused.to_string().contains("TLS"), "{refused}");
}
