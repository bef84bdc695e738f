//! Hostile input: raw pages built to break the parser, listings that point off the site,
//! redirects to other hosts, and API parameters carrying SQL or nonsense. Each must end in a
//! clear error (a dead letter with its reason, a refused link, a 400 with a JSON error), never
//! a crash, and the pipeline must keep flowing.

mod api;
mod links;
mod served;

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;
use shared::messages::{Body, DeadLetter, RawPage, hex_digest};
use testkit::{FetcherMode, Pipeline, PipelineOptions, http_get, http_get_json};

use crate::drills::{assert_running, bounded, jetstream, publish_raw, raw_page, read_dead_letters};
use crate::pipeline::{FETCH_ONCE, READY, expected_ids, wait_stored};

/// A page the parser must refuse: its name, content type and bytes.
struct Hostile {
    name: &'static str,
    content_type: &'static str,
    bytes: Vec<u8>,
}

fn hostile_pages() -> Vec<Hostile> {
    // Deterministic pseudo-random bytes.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let binary: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    // 50 MiB of navigation links around no article: the parser reads it all, once.
    let mut huge =
        b"<!DOCTYPE html><html><head><title>x</title></head><body><nav class=\"sidebar\">".to_vec();
    while huge.len() < 50 * 1024 * 1024 {
        huge.extend_from_slice(b"<a href=\"/en/foreign_policy/news/1/\">Other statement</a>\n");
    }
    huge.extend_from_slice(b"</nav>");
    huge.extend_from_slice(b"</body></html>");
    let depth = 10_000;
    let mut nested = b"<!DOCTYPE html><html><head><title>Deep</title></head><body>".to_vec();
    nested.extend(b"<div>".repeat(depth));
    nested.extend_from_slice(b"bottom");
    nested.extend(b"</div>".repeat(depth));
    nested.extend_from_slice(b"</body></html>");
    let russian = "<html><head><title>Брифинг официального представителя</title></head><body>\
        <h1>Брифинг официального представителя</h1><div class=\"text article-content\">\
        <p>Вопрос: Что происходит на переговорах?</p><p>Ответ: Переговоры продолжаются.</p></div></body></html>";
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
    vec![
        Hostile {
            name: "malformed",
            content_type: "text/html; charset=utf-8",
            bytes: b"<html><<<>>><head><title</head><body><div class=\"text article-content\"><p>unclosed <b><i></div></p><!-- never closed <script>while(1){}"
                .to_vec(),
        },
        Hostile {
            name: "empty",
            content_type: "text/html; charset=utf-8",
            bytes: Vec::new(),
        },
        Hostile {
            name: "binary",
            content_type: "text/html; charset=utf-8",
            bytes: binary,
        },
        Hostile {
            name: "50 MiB",
            content_type: "text/html; charset=utf-8",
            bytes: huge,
        },
        Hostile {
            name: "10,000 levels",
            content_type: "text/html; charset=utf-8",
            bytes: nested,
        },
        Hostile {
            name: "unknown charset",
            content_type: "text/html; charset=x-no-such-charset",
            bytes: russian.as_bytes().to_vec(),
        },
        Hostile {
            name: "lying charset (windows-1251 bytes said to be UTF-8)",
            content_type: "text/html; charset=utf-8",
            bytes: cp1251.into_owned(),
        },
        Hostile {
            name: "lying charset (UTF-8 said to be UTF-16)",
            content_type: "text/html; charset=utf-16",
            bytes: russian.as_bytes().to_vec(),
        },
    ]
}

/// Peak resident memory of a process, in KiB (Linux `/proc`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_raw_pages_are_dead_lettered_with_reasons_and_the_pipeline_keeps_flowing() {
    bounded("hostile raw pages", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let parser_pid = pipeline.parser.pid();
        let expected = expected_ids(&pipeline.site);
        let js = jetstream(&pipeline.operator_url()).await;
        let (doc_id, langs) = pipeline.site.statements().remove(0);
        let template = raw_page(&pipeline.site, &doc_id, &langs[0]);

        let pages = hostile_pages();
        let mut names: BTreeMap<String, &str> = BTreeMap::new();
        for (i, hostile) in pages.iter().enumerate() {
            let mut page = template.clone();
            page.doc_id = format!("{}", 9_900_001 + i);
            page.lang = shared::messages::Lang::En;
            page.url = format!(
                "{}/en/foreign_policy/news/{}/",
                pipeline.site.base_url(),
                page.doc_id
            );
            page.headers
                .insert("content-type".into(), hostile.content_type.into());
            page.listing = None;
            page.body_sha256 = hex_digest(&hostile.bytes);
            page.body = Body::inline_zstd(&hostile.bytes);
            publish_raw(&js, &page).await;
            names.insert(page.doc_id.clone(), hostile.name);
        }
        // Messages that are not raw pages at all.
        let subject = shared::subjects::raw_subject("mid.ru", shared::messages::Lang::En);
        let mut future_version = serde_json::to_value(&template).unwrap_or_default();
        future_version["schema_version"] = Value::from(99);
        future_version["doc_id"] = Value::from("9900101");
        for (id, payload) in [
            (
                "not-json",
                Bytes::from_static(b"{\"schema_version\": 1, \"doc_id\": "),
            ),
            ("future-version", Bytes::from(future_version.to_string())),
        ] {
            shared::nats::publish_durable(&js, &subject, id, payload, 5)
                .await
                .unwrap_or_else(|e| panic!("publish {id}: {e}"));
        }
        let hostile_count = pages.len() + 2;

        // Real statements flow at the same time.
        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        assert!(status.success(), "fetcher --once exited {status}:\n{log}");
        wait_stored(&pipeline, &expected).await;
        // Each hostile message ends as a dead letter (bounded wait; the parser works through
        // 50 MiB in the meantime).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let hostile_stored = || async {
            let page = http_get_json(&format!("{}/v1/speeches?limit=100", pipeline.api)).await;
            page["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|i| i["doc_id"].as_str().is_some_and(|d| d.starts_with("99000")))
                        .count()
                })
                .unwrap_or(0)
        };
        let mut letters: Vec<DeadLetter> = read_dead_letters(&js).await;
        while letters.len() + hostile_stored().await < hostile_count
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            letters = read_dead_letters(&js).await;
        }
        let mut reasons: BTreeMap<String, String> = BTreeMap::new();
        for letter in &letters {
            assert_eq!(letter.stage, "parser", "{letter:?}");
            assert!(
                !letter.reason.trim().is_empty(),
                "a dead letter without a reason: {letter:?}"
            );
            let payload = letter.original_payload().unwrap_or_default();
            let key = match RawPage::from_json(&payload) {
                Ok(page) => names
                    .get(&page.doc_id)
                    .map(|n| n.to_string())
                    .unwrap_or(page.doc_id),
                Err(_) if payload.starts_with(b"{\"schema_version\": 1") => "not JSON".into(),
                Err(_) => "future schema version".into(),
            };
            reasons.insert(key, letter.reason.clone());
        }
        for (what, reason) in &reasons {
            eprintln!("dead letter: {what}: {reason}");
        }
        let mut wanted: Vec<String> = pages.iter().map(|p| p.name.to_string()).collect();
        wanted.extend(["not JSON".to_string(), "future schema version".to_string()]);
        // A page in a wrong or lying charset is refused, or stored only when decoded right
        // (the parser may recognise windows-1251 bytes): never stored as mojibake.
        let mut missing = Vec::new();
        let mut accepted = Vec::new();
        for name in &wanted {
            if reasons.contains_key(name) {
                continue;
            }
            let doc = names
                .iter()
                .find(|(_, n)| **n == name.as_str())
                .map(|(d, _)| d.clone())
                .unwrap_or_default();
            let id = format!("mid.ru:{doc}:en");
            let (status, body) = http_get(&format!("{}/v1/speeches/{id}", pipeline.api))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let record: Value = serde_json::from_str(&body).unwrap_or_default();
            let title = record["title"].as_str().unwrap_or_default();
            if name.contains("charset") && status == 200 && title.contains("Брифинг") {
                eprintln!("stored, decoded right: {name}: {title:?}");
                accepted.push(id);
            } else {
                missing.push(format!(
                    "{name} ({id}): no dead letter; GET answers {status} {body}"
                ));
            }
        }
        assert!(
            missing.is_empty(),
            "hostile pages neither refused nor stored right:\n{}\ndead letters: {reasons:#?}",
            missing.join("\n")
        );
        assert!(
            reasons["future schema version"].contains("schema_version 99"),
            "{:?}",
            reasons["future schema version"]
        );
        // Nothing else hostile became a record, every real statement is there once, and the
        // parser that ate all this is the same process, still running.
        let items = crate::pipeline::all_items(&pipeline.api).await;
        let mut listed: Vec<String> = items
            .iter()
            .map(|i| i["id"].as_str().unwrap_or_default().to_string())
            .collect();
        listed.sort();
        let mut want: Vec<String> = expected.iter().cloned().chain(accepted).collect();
        want.sort();
        assert_eq!(
            listed, want,
            "the store holds exactly the statements (once each)"
        );
        assert_running(&mut pipeline);
        assert_eq!(
            pipeline.parser.pid(),
            parser_pid,
            "the parser was restarted"
        );
        if let Some(kib) = parser_pid.and_then(peak_rss_kib) {
            eprintln!(
                "parser peak RSS after the hostile pages: {} MiB",
                kib / 1024
            );
            assert!(
                kib < 2 * 1024 * 1024,
                "the parser peaked at {} MiB on hostile pages",
                kib / 1024
            );
        }
    })
    .await;
}
