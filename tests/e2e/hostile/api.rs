//! API parameters carrying SQL or nonsense get a 400 with a JSON error, never a 500.

use serde_json::Value;
use testkit::{FetcherMode, Pipeline, PipelineOptions, http_get};

use crate::drills::{assert_running, bounded};
use crate::pipeline::{READY, assert_store_matches, poll_once_and_wait_stored};

/// A page the parser must refuse: its name, content type and bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_parameters_carrying_sql_or_nonsense_get_400_with_a_json_error_never_500() {
    bounded("hostile API parameters", async {
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            ..PipelineOptions::default()
        })
        .await;
        pipeline.wait_ready(READY).await;
        let expected = poll_once_and_wait_stored(&pipeline).await;
        let api = &pipeline.api;
        let long = "A".repeat(20_000);
        let bad = [
            "/v1/speeches?limit=1000000000",
            "/v1/speeches?limit=99999999999999999999999",
            "/v1/speeches?limit=-1",
            "/v1/speeches?limit=0",
            "/v1/speeches?limit=1e3",
            "/v1/speeches?limit=10%20OR%201=1",
            "/v1/speeches?cursor=garbage",
            "/v1/speeches?cursor=%27%20OR%20%271%27=%271",
            "/v1/speeches?cursor=%00%01%02",
            "/v1/speeches?cursor=eyJzcWwiOiJEUk9QIFRBQkxFIHNwZWVjaGVzIn0",
            "/v1/speeches?since=2024-13-45",
            "/v1/speeches?since=2024-02-30",
            "/v1/speeches?since=-1",
            "/v1/speeches?until=99999-01-01",
            "/v1/speeches?since=2024-05-01%27%20OR%201=1--",
            "/v1/speeches?since=2024-06-01&until=2024-01-01",
            "/v1/speeches?lang=en%27%20OR%20%271%27=%271",
            "/v1/speeches?lang=xx",
            "/v1/speeches?kind=briefing;DROP%20TABLE%20speeches",
            "/v1/speeches?speaker=Robert%27);%20DROP%20TABLE%20speeches;--",
            "/v1/speeches?limit=5&limit=6",
            "/v1/speeches?order=id;DROP%20TABLE%20speeches",
            "/v1/feed.atom?limit=-5",
            "/v1/feed.atom?since=yesterday",
            "/v1/export.jsonl?until=not-a-date",
            "/v1/export.jsonl?cursor=x",
        ];
        let mut wrong = Vec::new();
        let mut check = |url: String, status: u16, body: String| {
            let error = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
            match error {
                Some(e) if status == 400 && !e.trim().is_empty() => {}
                _ => wrong.push(format!(
                    "{url}: {status} {}",
                    body.chars().take(200).collect::<String>()
                )),
            }
        };
        let mut urls: Vec<String> = bad.iter().map(|p| format!("{api}{p}")).collect();
        urls.push(format!("{api}/v1/speeches?q={long}"));
        urls.push(format!("{api}/v1/speeches?cursor={long}"));
        urls.push(format!("{api}/v1/speeches?speaker={long}"));
        for url in urls {
            let (status, body) = http_get(&url).await.unwrap_or_else(|e| panic!("{e}"));
            check(url, status, body);
        }
        assert!(
            wrong.is_empty(),
            "not a 400 with a JSON error:\n{}",
            wrong.join("\n")
        );

        // SQL in a search or an id is text: no match, never an error of the database.
        for path in [
            "/v1/speeches?q=%27%20OR%201=1;%20DROP%20TABLE%20speeches;--",
            "/v1/speeches?q=%22%29%29%20UNION%20SELECT%20*%20FROM%20pg_user--",
            "/v1/speeches?speaker=O%27Brien",
            "/v1/speeches/mid.ru:1%27%20OR%20%271%27=%271:en",
            "/v1/speeches/%27%3B%20DROP%20TABLE%20speeches%3B--/versions",
        ] {
            let url = format!("{api}{path}");
            let (status, body) = http_get(&url).await.unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(status, 200 | 400 | 404), "{url}: {status} {body}");
            if status != 200 {
                let json: Value = serde_json::from_str(&body).unwrap_or_else(|e| {
                    panic!("{url}: {status} without a JSON error ({e}): {body}")
                });
                assert!(
                    json["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "{url}: {body}"
                );
            } else if path.contains("q=") {
                let json: Value = serde_json::from_str(&body).unwrap_or_default();
                assert_eq!(
                    json["items"].as_array().map(Vec::len),
                    Some(0),
                    "{url} matched records: {body}"
                );
            }
        }
        // The table is still there, whole.
        assert_store_matches(&pipeline, &expected).await;
        assert_running(&mut pipeline);
    })
    .await;
}
