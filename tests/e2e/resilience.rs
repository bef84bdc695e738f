//! The pipeline under trouble: a misbehaving site, a NATS node dying, PostgreSQL as the
//! store, and the fixture-site binary of the demo run.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::pipeline::{
    FETCH_ONCE, GRACEFUL, READY, assert_store_matches, expected_ids, poll_once_and_wait_stored,
    stream_messages, wait_stored,
};
use testkit::{
    Fault, FetcherMode, Pipeline, PipelineOptions, Service, TempDatabase, free_port, http_get,
    wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_faults_delay_statements_but_never_lose_or_corrupt_them() {
    let mut pipeline = Pipeline::start(PipelineOptions {
        fetcher: FetcherMode::Manual,
        fetcher_args: [
            "--retry-base",
            "100ms",
            "--retry-max",
            "2s",
            "--circuit-threshold",
            "50",
            "--circuit-cooldown",
            "1s",
            "--timeout",
            "10s",
        ]
        .map(String::from)
        .to_vec(),
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    let site = &pipeline.site;
    site.inject(
        "/en/rss.php",
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    site.inject("/ru/foreign_policy/news/", Fault::Reset, 2);
    site.inject("/en/press_service/", Fault::Challenge, 1);
    site.inject(
        "/ru/press_service/",
        Fault::Unavailable {
            retry_after_secs: 0,
        },
        1,
    );
    site.inject(
        "/en/foreign_policy/news/",
        Fault::Slow(Duration::from_millis(1500)),
        1,
    );
    let expected = expected_ids(site);

    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(
        status.success(),
        "fetcher --once under faults exited {status}; its log:\n{log}"
    );
    assert_eq!(
        pipeline.site.pending_faults(),
        0,
        "the fetcher never requested some faulted paths"
    );
    let statuses: BTreeSet<u16> = pipeline.site.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&0) && statuses.contains(&429) && statuses.contains(&503),
        "{statuses:?}"
    );
    wait_stored(&pipeline, &expected).await;
    // Exactly the statements: the challenge page never became a record.
    assert_store_matches(&pipeline, &expected).await;
    let raw = stream_messages(&pipeline.operator_url(), shared::subjects::RAW_STREAM).await;
    assert_eq!(
        raw,
        expected.len() as u64,
        "raw pages published under faults (a challenge page is not a statement); fetcher log:\n{log}"
    );
    let dead = stream_messages(
        &pipeline.operator_url(),
        shared::subjects::DEAD_LETTER_STREAM,
    )
    .await;
    assert_eq!(
        dead,
        0,
        "dead letters under site faults\n{}",
        pipeline.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_the_pipeline_going_when_a_node_dies() {
    let mut pipeline = Pipeline::start(PipelineOptions {
        nats_nodes: 3,
        fetcher: FetcherMode::Manual,
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    poll_once_and_wait_stored(&pipeline).await;

    // One node of three dies: the R3 streams keep their quorum.
    pipeline.nats[2].kill();
    pipeline.site.release_all();
    let with_new = expected_ids(&pipeline.site);
    let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
    assert!(
        status.success(),
        "fetcher --once with a node down exited {status}:\n{log}"
    );
    wait_stored(&pipeline, &with_new).await;
    assert_store_matches(&pipeline, &with_new).await;

    // It comes back; shutdown stays graceful.
    pipeline.nats[2].restart();
    for service in [&mut pipeline.sink, &mut pipeline.parser] {
        let name = service.name().to_string();
        let status = service.terminate_within(GRACEFUL).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{name} after SIGTERM: {status:?}; its log:\n{}",
            service.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_stores_in_postgresql_too() {
    let database = TempDatabase::create("e2e");
    let mut pipeline = Pipeline::start(PipelineOptions {
        fetcher: FetcherMode::Manual,
        database_url: Some(database.url()),
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    let expected = poll_once_and_wait_stored(&pipeline).await;
    assert_store_matches(&pipeline, &expected).await;
    let status = pipeline.sink.terminate_within(GRACEFUL).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "sink after SIGTERM: {status:?}; its log:\n{}",
        pipeline.sink.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_site_binary_serves_the_corpus_and_releases_on_schedule() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut site = Service::spawn(
        "fixture-site",
        &["--listen", &listen, "--release-after", "2s"],
        &[],
    );
    let base = format!("http://{listen}");
    let robots = format!("{base}/robots.txt");
    wait_for(
        "fixture-site to answer",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async { matches!(http_get(&robots).await, Ok((200, _))) },
    )
    .await;
    // The held-back statement of the bundled corpus: hidden, then released.
    let corpus = testkit::Corpus::load(&testkit::FixtureSite::corpus_dir()).expect("corpus");
    assert!(!corpus.is_empty());
    let held = testkit::FixtureSite::start().await;
    let ids = held.held_back();
    assert!(
        !ids.is_empty(),
        "the bundled corpus needs a held-back statement"
    );
    let meta = held.meta(&ids[0]).expect("meta");
    let lang = meta.titles.keys().next().expect("a language").clone();
    let url = format!("{base}{}", meta.canonical_path(&lang));
    let (status, _) = http_get(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 404, "{url} is held back at first");
    wait_for(
        "the held-back statement to appear",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async { matches!(http_get(&url).await, Ok((200, _))) },
    )
    .await;
    let (status, rss) = http_get(&format!("{base}/{lang}/rss.php"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);
    assert!(rss.contains(&format!("<link>{base}/")), "{rss}");
    assert!(site.log().contains("request"), "requests are logged");
    let status = site.terminate_within(GRACEFUL).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "fixture-site after SIGTERM: {status:?}\n{}",
        site.log()
    );
}
