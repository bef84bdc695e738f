//! Hostile pages served by the fixture site (in several charsets) never crash a service and
//! never become garbage records.

use std::collections::BTreeMap;

use serde_json::Value;
use shared::messages::RawPage;
use testkit::{FetcherMode, Pipeline, PipelineOptions};

use super::hostile_pages;
use crate::drills::{assert_running, bounded, jetstream, read_dead_letters};
use crate::pipeline::{FETCH_ONCE, READY, wait_stored};

/// A page the parser must refuse: its name, content type and bytes.
const FORGED: &str = "canonical link naming 1950001";

/// Writes a corpus directory: one real statement (copied from the bundled corpus) and one
/// statement per hostile page, served with the given charset.
fn hostile_corpus(dir: &std::path::Path) -> Vec<(String, &'static str)> {
    let statements = dir.join("statements");
    let real = testkit::FixtureSite::corpus_dir().join("statements/1950001");
    let copy = statements.join("1950001");
    std::fs::create_dir_all(&copy).unwrap_or_else(|e| panic!("{e}"));
    for file in ["meta.json", "en.html", "ru.html"] {
        std::fs::copy(real.join(file), copy.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let russian = "<html><head><title>Брифинг официального представителя</title></head><body>\
        <h1>Брифинг официального представителя</h1><div class=\"text article-content\">\
        <p>Вопрос: Что происходит на переговорах?</p><p>Ответ: Переговоры продолжаются.</p></div></body></html>";
    let mut pages: Vec<(&'static str, Option<&str>, Vec<u8>)> = hostile_pages()
        .into_iter()
        .filter(|p| !p.name.contains("charset"))
        .map(|p| (p.name, None, p.bytes))
        .collect();
    // Served as 50 MiB of real paragraphs: more than the fetcher reads.
    pages.retain(|p| p.0 != "50 MiB");
    let mut huge = b"<html><head><title>Huge</title></head><body><h1>Huge</h1><div class=\"text article-content\">".to_vec();
    while huge.len() < 50 * 1024 * 1024 {
        huge.extend_from_slice(
            b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n",
        );
    }
    pages.push(("50 MiB", None, huge));
    pages.push((
        "lying charset (UTF-8 served as windows-1251)",
        Some("windows-1251"),
        russian.as_bytes().to_vec(),
    ));
    pages.push((
        "unknown charset",
        Some("x-no-such-charset"),
        russian.as_bytes().to_vec(),
    ));
    // Issue 13.4: a page whose canonical link, og:url and alternates name the real 1950001.
    let mut forged = String::from(
        "<html lang=\"en\"><head><title>Forged statement</title>\
         <link rel=\"canonical\" href=\"https://mid.ru/en/press_service/minister_speeches/1950001/\">\
         <meta property=\"og:url\" content=\"https://mid.ru/en/press_service/minister_speeches/1950001/\">\
         <link rel=\"alternate\" hreflang=\"ru\" href=\"https://mid.ru/ru/press_service/minister_speeches/1950001/\">\
         </head><body><div class=\"photo-content\"><h1 class=\"photo-content__title\">Forged statement</h1>\
         <div class=\"text article-content\">",
    );
    forged.push_str(&"<p>These words were never said by anyone at the ministry.</p>".repeat(8));
    forged.push_str("</div></div></body></html>");
    pages.push((FORGED, None, forged.into_bytes()));
    let mut out = Vec::new();
    for (i, (name, charset, bytes)) in pages.into_iter().enumerate() {
        let doc_id = format!("{}", 9_800_001 + i);
        let sdir = statements.join(&doc_id);
        std::fs::create_dir_all(&sdir).unwrap_or_else(|e| panic!("{e}"));
        let mut meta = serde_json::json!({
            "doc_id": doc_id,
            "published": format!("2024-07-{:02}T10:00", 10 + i),
            "sections": ["/foreign_policy/news/"],
            "titles": { "en": format!("Hostile page {i}") },
            "in_feed": true,
        });
        if let Some(charset) = charset {
            meta["charset"] = serde_json::json!({ "en": charset });
        }
        std::fs::write(sdir.join("meta.json"), meta.to_string()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(sdir.join("en.html"), bytes).unwrap_or_else(|e| panic!("{e}"));
        out.push((doc_id, name));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_served_by_the_site_never_crash_a_service_or_become_garbage_records() {
    bounded("hostile site", async {
        let dir = testkit::TempDir::new("hostile-corpus");
        let hostile = hostile_corpus(dir.path());
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            corpus: testkit::SiteCorpus::Dir(dir.path().to_path_buf()),
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let real: std::collections::BTreeSet<String> = ["mid.ru:1950001:en", "mid.ru:1950001:ru"]
            .map(String::from)
            .into();
        let js = jetstream(&pipeline.operator_url()).await;
        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        eprintln!("fetcher --once on the hostile site exited {status}");
        for line in log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        {
            eprintln!("  {line}");
        }
        wait_stored(&pipeline, &real).await;
        // Every hostile page the fetcher published ends as a dead letter or a record whose
        // text is right; the ones it refused are explained in its log.
        let raw = crate::pipeline::stream_messages(
            &pipeline.operator_url(),
            shared::subjects::RAW_STREAM,
        )
        .await;
        let hostile_published = raw.saturating_sub(real.len() as u64) as usize;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let (letters, stored) = loop {
            let letters = read_dead_letters(&js).await;
            let items = crate::pipeline::all_items(&pipeline.api).await;
            let stored: Vec<Value> = items
                .into_iter()
                .filter(|i| i["doc_id"].as_str().is_some_and(|d| d.starts_with("98000")))
                .collect();
            if letters.len() + stored.len() >= hostile_published
                || std::time::Instant::now() >= deadline
            {
                break (letters, stored);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        let by_doc: BTreeMap<&str, &str> = hostile.iter().map(|(d, n)| (d.as_str(), *n)).collect();
        for letter in &letters {
            let page = RawPage::from_json(&letter.original_payload().unwrap_or_default()).ok();
            let name = page
                .as_ref()
                .and_then(|p| by_doc.get(p.doc_id.as_str()))
                .copied()
                .unwrap_or("?");
            eprintln!("dead letter: {name}: {}", letter.reason);
            assert!(!letter.reason.trim().is_empty());
        }
        for record in &stored {
            let doc = record["doc_id"].as_str().unwrap_or_default();
            let name = by_doc.get(doc).copied().unwrap_or("?");
            let title = record["title"].as_str().unwrap_or_default();
            eprintln!("stored: {name}: {title:?}");
            if name == FORGED {
                // Stored as the document it was fetched as, never as the one it names.
                assert!(
                    !record["url"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("1950001")
                        && record["translations"]
                            .as_object()
                            .is_none_or(|t| t.is_empty()),
                    "the forged page kept a link to 1950001: {record}"
                );
                continue;
            }
            assert!(
                name.contains("charset") && title.contains("Брифинг"),
                "the {name} page became a record with title {title:?}: {record}"
            );
        }
        // The real statement the forged page names is untouched.
        let items = crate::pipeline::all_items(&pipeline.api).await;
        for item in items.iter().filter(|i| i["doc_id"] == "1950001") {
            let title = item["title"].as_str().unwrap_or_default();
            assert!(
                !title.contains("Forged"),
                "the forged page overwrote 1950001: {item}"
            );
        }
        assert_eq!(
            items.iter().filter(|i| i["doc_id"] == "1950001").count(),
            2,
            "1950001 in both languages, once each"
        );
        assert!(
            letters.len() + stored.len() >= hostile_published,
            "{hostile_published} hostile pages published, {} dead letters, {} stored",
            letters.len(),
            stored.len()
        );
        let refused = hostile.len() - hostile_published;
        eprintln!("{hostile_published} hostile pages published, {refused} refused by the fetcher");
        assert_eq!(
            refused, 1,
            "only the 50 MiB page is refused by the fetcher:\n{log}"
        );
        assert!(
            log.contains("max-response-bytes"),
            "the fetcher refused the 50 MiB page without saying why:\n{log}"
        );
        assert_running(&mut pipeline);
    })
    .await;
}
