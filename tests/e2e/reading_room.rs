//! The reading room in a real browser: headless Chromium over WebDriver against the whole
//! pipeline (fixture site, nats-server, fetcher, parser, sink). Screenshots of every step land
//! in `target/screenshots/`.

use std::time::Duration;

use serde_json::Value;
use testkit::{Browser, FetcherMode, Pipeline, PipelineOptions, http_get_json};

use crate::pipeline::{FETCH_ONCE, READY, STORED, poll_once_and_wait_stored};

/// The statement the test reads: an interview with question-and-answer turns, in English and
/// Russian (Russian turns interpreted from English).
const TRANSCRIPT: &str = "1950002";
/// Held back on the fixture site until the test releases it.
const HELD_BACK: &str = "1960009";

/// Waits until `GET url` satisfies `ok`.
async fn wait_json(url: &str, what: &str, ok: impl Fn(&Value) -> bool, pipeline: &Pipeline) {
    let deadline = std::time::Instant::now() + STORED;
    loop {
        if ok(&http_get_json(url).await) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} not seen at {url} within {STORED:?}\n{}",
            pipeline.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn shots_dir() -> std::path::PathBuf {
    testkit::workspace_root().join("target/screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_follows_searches_and_reads_in_a_browser() {
    let mut pipeline = Pipeline::start(PipelineOptions {
        fetcher: FetcherMode::Manual,
        // Every fixture statement is old: re-check them all, so an edit becomes a version.
        fetcher_args: vec!["--recheck-window".into(), "20000d".into()],
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    poll_once_and_wait_stored(&pipeline).await;

    // An edit after publication, so that the history has something to show.
    let marker = "The ministry published this paragraph after the meeting, as an addendum.";
    pipeline.site.edit(TRANSCRIPT, "en", |html| {
        let at = html
            .find("class=\"text article-content\">")
            .map(|i| i + "class=\"text article-content\">".len())
            .unwrap_or_else(|| panic!("{TRANSCRIPT}/en has no article-content div"));
        format!("{}\n<p>{marker}</p>\n{}", &html[..at], &html[at..])
    });
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(status.success(), "fetcher --once exited {status}:\n{log}");
    let versions = format!(
        "{}/v1/speeches/mid.ru:{TRANSCRIPT}:en/versions",
        pipeline.api
    );
    wait_json(
        &versions,
        "the edit",
        |v| v["versions"].as_array().is_some_and(|a| a.len() == 2),
        &pipeline,
    )
    .await;

    let browser = Browser::start(&shots_dir()).await;
    let api = pipeline.api.clone();

    // 1. The latest statements, newest first.
    browser.goto(&format!("{api}/?ui=en")).await;
    assert_eq!(browser.text("h1").await, "Latest statements");
    browser.wait_for("ol#statements li.card h2 a").await;
    browser.screenshot("01-latest").await;

    // 2. Filters: Russian interviews and answers by Lavrov live in the URL.
    browser.click("#f-lang option[value=ru]").await;
    browser.type_into("#f-speaker", "Lavrov").await;
    browser.follow("form.filters button[type=submit]").await;
    browser.wait_for("ol#statements li.card").await;
    let url = browser.url().await;
    assert!(
        url.contains("lang=ru") && url.contains("speaker=Lavrov"),
        "{url}"
    );
    let langs = browser
        .execute(
            "return Array.from(document.querySelectorAll('li.card abbr.lang')).map(e => e.textContent)",
            vec![],
        )
        .await;
    let langs: Vec<&str> = langs
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !langs.is_empty() && langs.iter().all(|l| *l == "RU"),
        "{langs:?}"
    );
    let feed = browser
        .execute(
            "return document.querySelector('p.tools a').getAttribute('href')",
            vec![],
        )
        .await;
    assert!(
        feed.as_str()
            .is_some_and(|f| f.starts_with("/v1/feed.atom?lang=ru")),
        "{feed}"
    );
    browser.screenshot("02-filtered").await;

    // 3. Search, in English and in Russian: counted, ranked, highlighted.
    browser.follow("nav.main a[href='/search']").await;
    browser.type_into("#f-q", "students").await;
    browser.follow("form.filters button[type=submit]").await;
    let count = browser.text("p.count").await;
    assert!(
        count.ends_with("result") || count.ends_with("results"),
        "{count}"
    );
    browser.wait_for("li.card p.snippet mark").await;
    browser.screenshot("03-search").await;
    browser.type_into("#f-q", "студентов").await;
    browser.follow("form.filters button[type=submit]").await;
    browser.wait_for("li.card p.snippet mark").await;

    // 4. A transcript: questions set apart from answers, interpreted turns marked.
    browser
        .goto(&format!("{api}/statements/mid.ru:{TRANSCRIPT}:en"))
        .await;
    browser
        .wait_for(".transcript .turn.question .speaker")
        .await;
    browser.wait_for(".transcript .turn.answer .speaker").await;
    browser.screenshot("04-transcript").await;

    // 5. The other language version is one click away; side by side is one more.
    browser.follow("nav.actions a[hreflang=ru]").await;
    browser.wait_for("article.statement[lang=ru]").await;
    browser.wait_for(".turn .badge").await;
    browser.screenshot("05-russian-version").await;
    browser.follow("nav.actions a[href*='/compare']").await;
    browser.wait_for("table.compare td[lang=en]").await;
    browser.wait_for("table.compare td[lang=ru]").await;
    browser.screenshot("06-side-by-side").await;

    // 6. The history of the English version shows the added paragraph.
    browser
        .goto(&format!("{api}/statements/mid.ru:{TRANSCRIPT}:en"))
        .await;
    browser.follow("nav.actions a[href$='/history']").await;
    let added = browser.text("ul.diff li.added ins").await;
    assert_eq!(added, marker);
    browser.screenshot("07-history").await;

    // 7. Live: a statement released on the site appears on the open page, no reload.
    browser.goto(&format!("{api}/")).await;
    browser.wait_for("#live:not([hidden])").await;
    browser
        .execute("window.__not_reloaded = true; return true", vec![])
        .await;
    pipeline.site.release(HELD_BACK);
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(status.success(), "fetcher --once exited {status}:\n{log}");
    let fresh = format!("li.card[data-id='mid.ru:{HELD_BACK}:en']");
    browser.wait_for_within(&fresh, STORED).await;
    let same_page = browser
        .execute("return window.__not_reloaded === true", vec![])
        .await;
    assert_eq!(same_page, Value::Bool(true), "the page was reloaded");
    browser.screenshot("08-live").await;

    // 8. The interface in Russian, kept by a cookie; and a phone-sized window.
    browser.follow("nav.langs a[lang=ru]").await;
    assert_eq!(browser.text("h1").await, "Последние заявления");
    browser.follow("nav.main a[href='/search']").await;
    assert_eq!(browser.text("h1").await, "Поиск");
    browser.resize(400, 900).await;
    browser.goto(&format!("{api}/")).await;
    browser.screenshot("09-russian-phone").await;
    browser.close().await;
}
