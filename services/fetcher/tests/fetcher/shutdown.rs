use super::*;

#[tokio::test]
async fn shutdown_stops_between_requests_and_loses_nothing() {
    let h = Harness::start().await;
    let token = CancellationToken::new();
    let cli = h.cli(&["--request-interval", "100ms", "--poll-interval", "1h"]);
    let running = tokio::spawn(fetcher::run(cli, token.clone()));
    // Let it publish a few pages, then ask it to stop.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let fetched = h.site.requests().iter().filter(|r| is_statement(r)).count();
        if fetched >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the fetcher fetched nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    token.cancel();
    let result = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the fetcher stops promptly")
        .expect("join");
    assert!(result.is_ok(), "{result:?}");
    let partial = h.raw_pages().await;
    assert!(!partial.is_empty());
    assert!(
        partial.len() < h.visible().len(),
        "it stopped before the end"
    );
    // Every fetched page was published; a new run completes the rest without repeats.
    let fetched = h
        .site
        .requests()
        .iter()
        .filter(|r| is_statement(r) && r.status == 200)
        .count();
    assert_eq!(partial.len(), fetched);
    h.once(&[]).await;
    assert_eq!(keys(&h.raw_pages().await), h.visible());
}
