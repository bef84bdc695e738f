use super::*;

fn fetcher_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_fetcher"))
}

#[tokio::test]
async fn once_exits_zero_when_everything_is_acknowledged() {
    let h = Harness::start().await;
    let base = h.site.base_url();
    let nats = h.nats.url();
    let identity = h.nats.env(Identity::Fetcher);
    let output = tokio::task::spawn_blocking(move || {
        fetcher_bin()
            .args(["--once", "--request-interval", "0s", "--langs", "en"])
            .envs(identity)
            .env("BASE_URL", base)
            .env("NATS_URL", nats)
            .output()
    })
    .await
    .expect("join")
    .expect("run the fetcher binary");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let en: Vec<(String, String)> = h.visible().into_iter().filter(|(_, l)| l == "en").collect();
    assert_eq!(keys(&h.raw_pages().await), en);
}

#[tokio::test]
async fn once_exits_non_zero_with_a_clear_message_when_the_site_is_down() {
    let nats = NatsServer::start();
    let port = testkit::free_port();
    let output = tokio::task::spawn_blocking(move || {
        fetcher_bin()
            .envs(nats.env(Identity::Fetcher))
            .args([
                "--once",
                "--base-url",
                &format!("http://127.0.0.1:{port}"),
                "--nats-url",
                &nats.url(),
                "--max-attempts",
                "1",
                "--request-interval",
                "0s",
            ])
            .output()
    })
    .await
    .expect("join")
    .expect("run the fetcher binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the poll could not finish"), "{stderr}");
    assert!(stderr.contains("run it again"), "{stderr}");
}

#[test]
fn healthcheck_needs_an_address() {
    let output = fetcher_bin()
        .arg("healthcheck")
        .env_remove("METRICS_LISTEN")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--metrics-listen"));
}
