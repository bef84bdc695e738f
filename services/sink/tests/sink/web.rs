//! The reading room's pages over HTTP: status codes, language choice, compression, size.

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
            "Interview on sanctions",
            &["Sergey Lavrov"],
            &["Question: sanctions?", "Sergey Lavrov: Sanctions failed."],
        ),
        record(
            1,
            Lang::Ru,
            Kind::Interview,
            "2024-03-01T10:00:00+03:00",
            "Интервью о санкциях",
            &["Sergey Lavrov"],
            &["Вопрос: санкции?", "С.В.Лавров: Санкции провалились."],
        ),
    ];
    records.extend(generated(30, 100));
    records
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.base));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.expect("GET")
}

#[tokio::test]
async fn pages_answer_with_html_and_the_right_status() {
    let app = TestApp::spawn(&seed()).await;
    let first = edited(&seed()[0], &["Question: sanctions?", "Edited answer."]);
    app.store.store_batch(&[first]).await.expect("edit");
    for (path, status, needle) in [
        ("/", 200, "Latest statements"),
        ("/?lang=ru&kind=interview", 200, "Интервью о санкциях"),
        ("/?since=2024-13-01", 400, "is not a date"),
        ("/search", 200, "Words or phrases"),
        ("/search?q=sanctions", 200, "<mark>"),
        ("/search?q=санкции", 200, "1 result"),
        ("/statements/mid.ru:1:en", 200, "Edited answer."),
        (
            "/statements/mid.ru:1:en/compare?with=ru",
            200,
            "Санкции провалились",
        ),
        ("/statements/mid.ru:1:en/history", 200, "Edited answer."),
        (
            "/statements/mid.ru:1:en/card",
            200,
            "data-id=\"mid.ru:1:en\"",
        ),
        ("/statements/mid.ru:404:en", 404, "no statement"),
        (
            "/statements/mid.ru:100:en/compare",
            404,
            "No other language",
        ),
    ] {
        let response = get(&app, path, &[("Accept-Language", "en")]).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8",
            "GET {path}"
        );
        let body = response.text().await.expect("body");
        assert!(
            body.contains(needle),
            "GET {path} lacks {needle:?}:\n{body}"
        );
    }
    // Listing pages go on by cursor.
    let body = get(&app, "/", &[]).await.text().await.expect("body");
    let next = body
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a next page link")
        .replace("&amp;", "&");
    let older = get(&app, &next, &[]).await;
    assert_eq!(older.status(), 200, "{next}");
    assert!(older.text().await.expect("body").contains("Newest"));
}

#[tokio::test]
async fn the_interface_language_is_chosen_and_kept() {
    let app = TestApp::spawn(&seed()).await;
    let text = |r: reqwest::Response| async { r.text().await.expect("body") };
    let ru = get(&app, "/", &[("Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5")]).await;
    assert_eq!(ru.headers()["content-language"], "ru");
    assert!(text(ru).await.contains("<html lang=\"ru\">"));
    let chosen = get(&app, "/search?ui=en", &[("Accept-Language", "ru")]).await;
    let cookie = chosen.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(cookie.starts_with("ui=en;"), "{cookie}");
    assert!(text(chosen).await.contains("<html lang=\"en\">"));
    let kept = get(&app, "/", &[("Accept-Language", "ru"), ("Cookie", "ui=en")]).await;
    assert!(text(kept).await.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn pages_are_small_and_compressed() {
    let app = TestApp::spawn(&seed()).await;
    for path in ["/", "/search?q=statement", "/statements/mid.ru:1:en"] {
        let plain = get(&app, path, &[]).await.bytes().await.expect("body");
        assert!(plain.len() < 60 * 1024, "{path}: {} bytes", plain.len());
        for encoding in ["gzip", "br"] {
            // A client that leaves the body compressed, so the header stays visible.
            let raw = reqwest::Client::builder()
                .no_gzip()
                .build()
                .expect("client");
            let response = raw
                .get(format!("{}{path}", app.base))
                .header("Accept-Encoding", encoding)
                .send()
                .await
                .expect("GET");
            assert_eq!(response.headers()["content-encoding"], encoding, "{path}");
        }
    }
    let css = get(&app, "/assets/site.css", &[]).await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = get(&app, "/assets/live.js", &[]).await;
    assert!(js.text().await.expect("body").contains("EventSource"));
}
