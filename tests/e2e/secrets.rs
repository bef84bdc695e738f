//! TLS everywhere and secrets nowhere: the whole pipeline over NATS TLS and PostgreSQL TLS
//! (`sslmode=verify-full`), and no secret (NATS passwords, nkey seeds, `.creds` contents, the
//! database password) in any service's log, error, `/readyz` or `/metrics` — while running
//! and when connections fail.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use testkit::{
    FetcherMode, Identity, NatsServer, PgCluster, Pipeline, PipelineOptions, Service, TempDir,
    TestCa, free_port, http_get, wait_for,
};

use crate::drills::bounded;
use crate::pipeline::{FETCH_ONCE, READY, wait_stored};

/// How long a refused connection may take to stop a service.
const REFUSED: Duration = Duration::from_secs(30);

/// Panics naming the secret and where it appeared when any of `secrets` is in `text`.
fn assert_no_secret(secrets: &[(&str, String)], place: &str, text: &str) {
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "empty secret {what}");
        if let Some(at) = text.find(secret.as_str()) {
            let start = text[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            panic!(
                "the {what} appears in {place}:\n…{}…",
                &text[start..(at + secret.len()).min(text.len())]
            );
        }
    }
}

/// The bodies of `/healthz`, `/readyz` and `/metrics` of the service at `base`.
async fn ops_answers(base: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in ["/healthz", "/readyz", "/metrics"] {
        let url = format!("{base}{path}");
        let body = match http_get(&url).await {
            Ok((_, body)) => body,
            Err(e) => panic!("GET {url}: {e}"),
        };
        out.push((url, body));
    }
    out
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_runs_over_nats_tls_and_postgres_verify_full_and_shows_no_secret() {
    bounded("tls pipeline, no secrets", async {
        let ca = Arc::new(TestCa::new("pipeline"));
        let database = PgCluster::start_tls(&ca);
        let mut pipeline = Pipeline::start(PipelineOptions {
            fetcher: FetcherMode::Manual,
            nats_tls: Some(Arc::clone(&ca)),
            database_url: Some(database.verify_full_url(ca.ca_pem())),
            ..PipelineOptions::default()
        })
        .await;
        assert!(
            pipeline.nats_url().starts_with("tls://"),
            "{}",
            pipeline.nats_url()
        );
        pipeline.wait_ready(READY).await;
        // Two records through NATS TLS and into PostgreSQL over verify-full are the proof;
        // which pages of the fixture site are statements is the pipeline tests' business.
        let (status, log) = pipeline.fetch_once(FETCH_ONCE).await;
        assert!(status.success(), "fetcher --once exited {status}:\n{log}");
        let expected: BTreeSet<String> = ["mid.ru:1950001:en", "mid.ru:1950001:ru"]
            .map(String::from)
            .into();
        wait_stored(&pipeline, &expected).await;

        let mut secrets: Vec<(&str, String)> = Identity::ALL
            .iter()
            .map(|identity| ("NATS password", pipeline.nats[0].password(*identity)))
            .collect();
        secrets.push(("database password", database.password().to_string()));

        let (_, fetch_log) = pipeline.fetch_once(Duration::from_secs(180)).await;
        assert_no_secret(&secrets, "the fetcher's log", &fetch_log);
        // The parser's and sink's ops ports, and the API (the fetcher ran once, above).
        for base in pipeline.metrics[1..]
            .iter()
            .chain(std::iter::once(&pipeline.api))
        {
            for (url, body) in ops_answers(base).await {
                assert_no_secret(&secrets, &url, &body);
            }
        }
        for service in [&pipeline.sink, &pipeline.parser] {
            assert_no_secret(
                &secrets,
                &format!("the {} log", service.name()),
                &service.log(),
            );
        }
        let sink_log = pipeline.sink.log();
        assert!(
            sink_log.contains("postgres:***@127.0.0.1"),
            "the sink logs the database URL redacted:\n{sink_log}"
        );
    })
    .await;
}

/// Starts the parser with `env` and the given NATS settings, expects it to stop within
/// [`REFUSED`] with a non-zero status, and returns its log.
async fn parser_refused(env: &[(&str, &str)]) -> String {
    let ops = format!("127.0.0.1:{}", free_port());
    let mut parser = Service::spawn("parser", &["--metrics-listen", &ops], env);
    let status = parser.expect_exit(REFUSED).await;
    let log = parser.log();
    assert!(
        !status.success(),
        "the parser exited 0 though NATS refused it:\n{log}"
    );
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_nats_identities_never_show_their_secrets() {
    let nats = NatsServer::start();
    let url = nats.url();
    let dir = TempDir::new("nats-secrets");
    let wrong_password = "wrong-password-7f3a9c";
    let password_file = write(&dir, "password", &format!("{wrong_password}\n"));
    let user_seed = nkeys::KeyPair::new_user()
        .seed()
        .unwrap_or_else(|e| panic!("nkey seed: {e}"));
    let seed_file = write(&dir, "seed", &format!("{user_seed}\n"));
    let creds_seed = nkeys::KeyPair::new_user()
        .seed()
        .unwrap_or_else(|e| panic!("nkey seed: {e}"));
    let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJURVNUSldUQk9EWTQyIn0.c2lnbmF0dXJlLTQy";
    let creds = format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{creds_seed}\n------END USER NKEY SEED------\n"
    );
    let creds_file = write(&dir, "user.creds", &creds);
    let garbage = "not-a-creds-file-but-a-secret-5e1d";
    let garbage_file = write(&dir, "garbage.creds", garbage);
    let secrets: Vec<(&str, String)> = vec![
        ("wrong password", wrong_password.to_string()),
        ("nkey seed", user_seed.clone()),
        (".creds seed", creds_seed.clone()),
        (".creds JWT", jwt.to_string()),
        ("JWT body", "eyJqdGkiOiJURVNUSldUQk9EWTQyIn0".to_string()),
        ("malformed .creds contents", garbage.to_string()),
    ];

    let refused = "authorization violation";
    let cases = [
        (
            "a wrong password",
            vec![
                ("NATS_USER", "parser"),
                ("NATS_PASSWORD_FILE", password_file.as_str()),
            ],
            refused,
        ),
        (
            "an unknown nkey",
            vec![("NATS_NKEY_SEED_FILE", seed_file.as_str())],
            refused,
        ),
        (
            "an unknown .creds",
            vec![("NATS_CREDS", creds_file.as_str())],
            refused,
        ),
        (
            "a malformed .creds",
            vec![("NATS_CREDS", garbage_file.as_str())],
            "--nats-creds is not a valid credentials file",
        ),
    ];
    for (case, identity, expected) in cases {
        let mut env = vec![("NATS_URL", url.as_str())];
        env.extend(identity);
        let log = parser_refused(&env).await;
        assert_no_secret(&secrets, &format!("the parser's log with {case}"), &log);
        assert!(
            log.contains(expected),
            "with {case} the parser says {expected:?}:\n{log}"
        );
    }

    // Credentials written into the URL, while NATS cannot be reached: the retries are logged
    // and readiness says why, with the URL redacted.
    let url_secret = "url-password-91b2";
    let unreachable = format!("nats://parser:{url_secret}@127.0.0.1:{}", free_port());
    let ops = format!("127.0.0.1:{}", free_port());
    let parser = Service::spawn(
        "parser",
        &["--metrics-listen", &ops],
        &[("NATS_URL", &unreachable)],
    );
    wait_for(
        "the parser to log that it waits for NATS",
        READY,
        Duration::from_millis(200),
        || async { parser.log().contains("waiting for NATS") },
    )
    .await;
    let secrets = [("password in NATS_URL", url_secret.to_string())];
    for (url, body) in ops_answers(&format!("http://{ops}")).await {
        assert_no_secret(&secrets, &url, &body);
    }
    let log = parser.log();
    assert_no_secret(&secrets, "the parser's log", &log);
    assert!(
        log.contains("parser:***@"),
        "the URL is logged redacted:\n{log}"
    );
}

/// Starts the sink with the database URL in a file (as compose and Kubernetes give it).
fn sink_with_database(nats: &NatsServer, url_file: &str, api: &str, ops: &str) -> Service {
    let env = nats.env(Identity::Sink);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let nats_url = nats.url();
    env.push(("NATS_URL", &nats_url));
    env.push(("DATABASE_URL_FILE", url_file));
    Service::spawn("sink", &["--listen", api, "--metrics-listen", ops], &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_failures_never_show_the_database_password() {
    let nats = NatsServer::start();
    let ca = TestCa::new("database-secrets");
    let database = PgCluster::start_tls(&ca);
    let dir = TempDir::new("db-secrets");
    let secrets: Vec<(&str, String)> = vec![
        ("database password", database.password().to_string()),
        (
            "wrong database password",
            "wrong-db-password-c4d1".to_string(),
        ),
        ("sink NATS password", nats.password(Identity::Sink)),
    ];

    // The database cannot be reached: the sink waits, says so, and readiness says why.
    let closed = format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres",
        database.password(),
        free_port()
    );
    let file = write(&dir, "unreachable", &closed);
    let (api, ops) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let mut sink = sink_with_database(&nats, &file, &api, &ops);
    wait_for(
        "the sink to log that it waits for the database",
        READY,
        Duration::from_millis(200),
        || async { sink.log().contains("waiting for the database") },
    )
    .await;
    for base in [format!("http://{api}"), format!("http://{ops}")] {
        for (url, body) in ops_answers(&base).await {
            assert_no_secret(&secrets, &url, &body);
        }
    }
    let log = sink.log();
    assert_no_secret(&secrets, "the log of a sink waiting for its database", &log);
    assert!(log.contains("postgres:***@"), "{log}");
    sink.kill();

    // A wrong CA, and a wrong password: the sink stops with the reason and no secret.
    let other = TestCa::new("not-the-database-ca");
    let wrong_ca = database.verify_full_url(other.ca_pem());
    let wrong_password = database
        .verify_full_url(ca.ca_pem())
        .replace(database.password(), "wrong-db-password-c4d1");
    for (case, url, expected) in [
        ("a wrong CA", wrong_ca, "TLS failed"),
        (
            "a wrong password",
            wrong_password,
            "password authentication failed",
        ),
    ] {
        let file = write(&dir, "url", &url);
        let (api, ops) = (
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
        );
        let mut sink = sink_with_database(&nats, &file, &api, &ops);
        let status = sink.expect_exit(REFUSED).await;
        let log = sink.log();
        assert!(!status.success(), "with {case} the sink exited 0:\n{log}");
        assert!(
            log.contains(expected),
            "with {case} the sink says {expected:?}:\n{log}"
        );
        assert_no_secret(&secrets, &format!("the sink's log with {case}"), &log);
    }
}
