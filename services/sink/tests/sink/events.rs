//! `GET /v1/events`: what the store stores, filtered, resumable with `Last-Event-ID`.

use std::time::Duration;

use serde_json::Value;
use shared::{Kind, Lang, SpeechRecord};
use sink::store::Store;

use crate::support::{TestApp, edited, record};

/// One event as the client sees it.
#[derive(Debug)]
struct Received {
    id: String,
    event: String,
    data: Value,
}

/// An open event stream.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, path: &str, last_event_id: Option<&str>) -> Stream {
        let mut request = app.client.get(format!("{}{path}", app.base));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("GET /v1/events");
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(
            response.headers()["content-type"].to_str().expect("type"),
            "text/event-stream"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and keep-alives skipped); panics after 10 s.
    async fn next(&mut self) -> Received {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut received = Received {
                    id: String::new(),
                    event: String::new(),
                    data: Value::Null,
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        received.id = v.to_string();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        received.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        received.data = serde_json::from_str(v).expect("JSON data");
                    }
                }
                if !received.event.is_empty() {
                    return Some(received);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .expect("stream read")
                .expect("the stream ended");
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }
}

fn en(doc: u32) -> SpeechRecord {
    record(
        doc,
        Lang::En,
        Kind::Interview,
        "2024-03-01T10:00:00+03:00",
        "Interview by Sergey Lavrov",
        &["Sergey Lavrov"],
        &["Question: sanctions?"],
    )
}

fn ru(doc: u32) -> SpeechRecord {
    record(
        doc,
        Lang::Ru,
        Kind::Briefing,
        "2024-03-02T12:00:00+03:00",
        "Брифинг М.В.Захаровой",
        &["Maria Zakharova"],
        &["О ситуации."],
    )
}

#[tokio::test]
async fn new_versions_are_streamed_after_they_are_stored() {
    let app = TestApp::spawn(&[en(1), ru(2)]).await;
    let mut all = Stream::open(&app, "/v1/events", None).await;
    let mut russian = Stream::open(&app, "/v1/events?lang=ru&kind=briefing", None).await;
    // Past records are not replayed to a client that gives no resume point.
    assert!(
        all.next_within(Duration::from_millis(800)).await.is_none(),
        "nothing new was stored"
    );
    app.store.store_batch(&[en(3), ru(4)]).await.expect("store");
    let first = all.next().await;
    assert_eq!(first.event, "stored");
    assert_eq!(first.id, "3");
    assert_eq!(first.data["id"], "mid.ru:3:en");
    assert_eq!(first.data["change"], "inserted");
    assert_eq!(first.data["record"], "/v1/speeches/mid.ru:3:en");
    assert_eq!(all.next().await.data["id"], "mid.ru:4:ru");
    let only = russian.next().await;
    assert_eq!(
        (only.id.as_str(), &only.data["id"]),
        ("4", &Value::from("mid.ru:4:ru"))
    );
    // An edit is a new version; a redelivery is nothing.
    app.store
        .store_batch(&[en(3), edited(&en(1), &["Edited."])])
        .await
        .expect("store");
    let edit = all.next().await;
    assert_eq!(
        (edit.id.as_str(), &edit.data["change"]),
        ("5", &Value::from("new_version"))
    );
    assert!(
        russian
            .next_within(Duration::from_millis(800))
            .await
            .is_none(),
        "the filter holds"
    );
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed() {
    let app = TestApp::spawn(&[en(1), ru(2), en(3)]).await;
    let mut resumed = Stream::open(&app, "/v1/events", Some("1")).await;
    assert_eq!(resumed.next().await.id, "2");
    assert_eq!(resumed.next().await.id, "3");
    app.store.store_batch(&[ru(4)]).await.expect("store");
    assert_eq!(resumed.next().await.id, "4");
    // `after` does the same for clients that cannot set headers; filters apply to the replay.
    let mut filtered = Stream::open(&app, "/v1/events?after=0&lang=en", None).await;
    assert_eq!(filtered.next().await.id, "1");
    assert_eq!(filtered.next().await.id, "3");
    // An id the store never issued starts from now.
    let mut future = Stream::open(&app, "/v1/events", Some("999")).await;
    app.store.store_batch(&[en(5)]).await.expect("store");
    assert_eq!(future.next().await.id, "5");
}

#[tokio::test]
async fn bad_subscriptions_get_json_400s() {
    let app = TestApp::spawn(&[]).await;
    for path in [
        "/v1/events?q=sanctions",
        "/v1/events?after=-3",
        "/v1/events?lang=xx",
        "/v1/events?limit=5",
    ] {
        let body = app.get_json(path, 400).await;
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {body}"
        );
    }
    let response = app
        .client
        .get(format!("{}/v1/events", app.base))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 400);
}
