//! The whole pipeline configured only through the environment the containers get
//! (`deploy/compose.yaml`): a three-node JetStream cluster with three-replica streams,
//! PostgreSQL, two parser replicas, JSON logs, ops endpoints on `METRICS_LISTEN`, and each
//! binary's `healthcheck` subcommand (the image's HEALTHCHECK). CI runs it on the release
//! binaries (`MINISTRY_FEED_BIN_DIR=target/release`).

use std::collections::BTreeSet;
use std::time::Duration;

use testkit::{
    FixtureSite, Identity, NatsServer, Service, TempDatabase, bin_path, cluster_url, free_port,
};

use crate::pipeline::{GRACEFUL, READY, STORED, expected_ids};

fn ops_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// Ids stored in the database, checking none is stored twice.
fn stored_ids(database: &TempDatabase) -> BTreeSet<String> {
    let text = database.psql(
        &database.url(),
        "SELECT CASE WHEN to_regclass('speeches') IS NULL THEN '' \
         ELSE (SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM speeches) END",
    );
    let ids: Vec<String> = text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "a record is stored twice: {ids:?}");
    unique
}

async fn wait_for_ids(database: &TempDatabase, expected: &BTreeSet<String>, services: &[&Service]) {
    let deadline = tokio::time::Instant::now() + STORED;
    loop {
        let stored = stored_ids(database);
        if &stored == expected {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let logs: String = services
                .iter()
                .map(|s| {
                    format!(
                        "--- {} ---\n{}\n",
                        s.name(),
                        testkit::pipeline::tail(&s.log(), 40)
                    )
                })
                .collect();
            panic!(
                "stored {} of {} records; missing {:?}, unexpected {:?}\n{logs}",
                stored.len(),
                expected.len(),
                expected.difference(&stored).collect::<Vec<_>>(),
                stored.difference(expected).collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn healthcheck(name: &str, env: &[(&str, &str)]) {
    let mut command = std::process::Command::new(bin_path(name));
    command.arg("healthcheck");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} healthcheck: {e}"));
    assert!(
        out.status.success(),
        "{name} healthcheck exited {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_json_logs(service: &Service) {
    let log = service.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "{} logged nothing", service.name());
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "{} logged a line that is not JSON ({e}): {line}",
                service.name()
            )
        });
        assert!(
            value.get("level").is_some(),
            "{}: no level in {line}",
            service.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_environment_runs_the_pipeline_on_a_three_node_cluster() {
    let nats = NatsServer::start_cluster(3);
    let nats_url = cluster_url(&nats);
    let site = FixtureSite::start().await;
    let base_url = site.base_url();
    let database = TempDatabase::create("container");
    let database_url = database.url();
    let api = ops_addr();
    let ops: Vec<String> = (0..4).map(|_| ops_addr()).collect();
    let common = |metrics: &str, identity: Identity| -> Vec<(String, String)> {
        let mut env = vec![
            ("NATS_URL".into(), nats_url.clone()),
            ("STREAM_REPLICAS".into(), "3".into()),
            ("LOG_FORMAT".into(), "json".into()),
            ("METRICS_LISTEN".into(), metrics.to_string()),
        ];
        env.extend(nats[0].env(identity));
        env
    };
    let spawn = |name: &str, mut env: Vec<(String, String)>, extra: &[(&str, &str)]| {
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Service::spawn(name, &[], &pairs)
    };
    let mut sink = spawn(
        "sink",
        common(&ops[0], Identity::Sink),
        &[("DATABASE_URL", &database_url), ("SINK_LISTEN", &api)],
    );
    let mut parsers = [
        spawn("parser", common(&ops[1], Identity::Parser), &[]),
        spawn("parser", common(&ops[2], Identity::Parser), &[]),
    ];
    let mut fetcher = spawn(
        "fetcher",
        common(&ops[3], Identity::Fetcher),
        &[
            ("BASE_URL", &base_url),
            ("LANGS", "en,ru"),
            ("REQUEST_INTERVAL", "0s"),
            ("POLL_INTERVAL", "2s"),
        ],
    );

    // Ready: every ops endpoint answers /readyz, and the healthcheck subcommands pass.
    for addr in ops.iter().chain(std::iter::once(&api)) {
        let url = format!("http://{addr}/readyz");
        testkit::wait_for(
            &format!("{url} ready"),
            READY,
            Duration::from_millis(250),
            || {
                let url = url.clone();
                async move { matches!(testkit::http_get(&url).await, Ok((200, _))) }
            },
        )
        .await;
    }
    healthcheck("sink", &[("SINK_LISTEN", &api)]);
    healthcheck("parser", &[("METRICS_LISTEN", &ops[1])]);
    healthcheck("fetcher", &[("METRICS_LISTEN", &ops[3])]);

    // Every visible statement stored exactly once, then a new one appears and is picked up.
    let expected = expected_ids(&site);
    {
        let services = [&sink, &parsers[0], &parsers[1], &fetcher];
        wait_for_ids(&database, &expected, &services).await;
    }
    site.release_all();
    let with_new = expected_ids(&site);
    assert!(
        with_new.len() > expected.len(),
        "the corpus holds a held-back statement"
    );
    {
        let services = [&sink, &parsers[0], &parsers[1], &fetcher];
        wait_for_ids(&database, &with_new, &services).await;
    }

    // Both parser replicas share the durable consumer; the API serves the records.
    let listed = testkit::http_get_json(&format!("http://{api}/v1/speeches?limit=500")).await;
    let items = listed["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, with_new.len(), "the API lists every stored record");

    // Graceful shutdown of every process, JSON logs throughout.
    let mut all: Vec<&mut Service> = vec![&mut fetcher, &mut sink];
    all.extend(parsers.iter_mut());
    for service in all {
        let status = service.terminate_within(GRACEFUL).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{} after SIGTERM: {status:?}; its log:\n{}",
            service.name(),
            service.log()
        );
        assert_json_logs(service);
    }
}
