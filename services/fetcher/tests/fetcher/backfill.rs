use super::*;

#[tokio::test]
async fn an_interrupted_backfill_resumes_without_refetching() {
    let h = Harness::start().await;
    let range = ["backfill", "--from", "2024-07-01", "--to", "2024-09-30"];
    let flags = [
        "--max-attempts",
        "2",
        "--sections",
        "/press_service/minister_speeches/,/foreign_policy/news/",
    ];
    // The first run dies on 2 September 2024: the listing resets every time.
    h.site.inject(
        "/en/press_service/minister_speeches/?activeFrom=02.09.2024",
        Fault::Reset,
        2,
    );
    let args: Vec<&str> = range.iter().chain(flags.iter()).copied().collect();
    let err = h
        .run(&args)
        .await
        .expect_err("the first run is interrupted");
    assert!(err.to_string().contains("2024-09-02"), "{err}");
    let first = h.site.requests();
    let first_pages = h.raw_pages().await;
    assert!(
        !first_pages.is_empty(),
        "July's statements were published before the failure"
    );

    h.site.clear_requests();
    h.run(&args).await.expect("the second run completes");
    let second = h.site.requests();
    // Resumed at the failed day: earlier days are not listed again.
    assert!(
        !second
            .iter()
            .any(|r| r.path.contains("activeFrom=01.07.2024"))
    );
    assert!(
        second
            .iter()
            .any(|r| r.path.contains("activeFrom=02.09.2024"))
    );
    assert!(
        second
            .iter()
            .any(|r| r.path.contains("activeFrom=30.09.2024"))
    );
    // No statement page fetched twice over both runs.
    let mut all = first.clone();
    all.extend(second.iter().cloned());
    let fetched = statement_fetches(&all);
    assert!(fetched.values().all(|&n| n == 1), "{fetched:?}");
    // Exactly the statements of the range, once each.
    let pages = h.raw_pages().await;
    let mut expected: Vec<(String, String)> = Vec::new();
    for (id, langs) in h.site.statements() {
        let meta = h.site.meta(&id).expect("meta");
        let in_sections = meta
            .sections
            .iter()
            .any(|s| s == "/press_service/minister_speeches/" || s == "/foreign_policy/news/");
        let day = &meta.published[..10];
        if in_sections && ("2024-07-01"..="2024-09-30").contains(&day) {
            for lang in langs.into_iter().filter(|l| l == "en" || l == "ru") {
                expected.push((id.clone(), lang));
            }
        }
    }
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(keys(&pages), expected);

    // A third run has nothing left to do.
    h.site.clear_requests();
    h.run(&args).await.expect("a finished backfill is a no-op");
    assert!(h.site.requests().is_empty());
}
