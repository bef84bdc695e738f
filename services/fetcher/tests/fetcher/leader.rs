use super::*;
use fetcher::leader::{LeaseHandle, LeaseSettings, Standing};
use fetcher::lease::Lease;
use prometheus_client::metrics::gauge::Gauge;
use shared::subjects::FETCHER_BUCKET;

async fn bucket(nats: &NatsServer) -> async_nats::jetstream::kv::Store {
    let client = nats.client(Identity::Fetcher).await;
    let js = async_nats::jetstream::new(client);
    shared::nats::ensure_kv(&js, FETCHER_BUCKET, 1, 1, &CancellationToken::new())
        .await
        .expect("open the state bucket")
}

fn settings(holder: &str) -> LeaseSettings {
    LeaseSettings {
        key: "lease.mid_ru".into(),
        what: "mid.ru".into(),
        holder: holder.into(),
        ttl: Duration::from_secs(2),
        renew: Duration::from_millis(200),
    }
}

async fn lead(handle: &mut LeaseHandle, within: Duration) {
    if let Err(standing) = handle
        .wait_leading(&CancellationToken::new(), Some(within))
        .await
    {
        panic!("no leadership within {within:?}: {standing:?}");
    }
}

#[tokio::test]
async fn one_replica_leads_and_a_standby_takes_over_after_a_crash() {
    let nats = NatsServer::start();
    let kv = bucket(&nats).await;
    let (ga, gb) = (Gauge::default(), Gauge::default());
    let mut a = LeaseHandle::start(kv.clone(), settings("a"), ga.clone());
    lead(&mut a, Duration::from_secs(5)).await;
    assert_eq!(ga.get(), 1);
    let mut b = LeaseHandle::start(kv.clone(), settings("b"), gb.clone());
    // Several renewals later, b still stands by behind a.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(a.is_leading());
    assert!(
        matches!(b.standing(), Standing::Standby { ref holder, .. } if holder == "a"),
        "{:?}",
        b.standing()
    );
    assert_eq!(gb.get(), 0);
    // a crashes (dropped without releasing): b leads once a's lease lapses.
    drop(a);
    lead(&mut b, Duration::from_secs(10)).await;
    assert_eq!(gb.get(), 1);
    // A proper release hands over at the standby's next read, not after the TTL.
    let mut c = LeaseHandle::start(kv.clone(), settings("c"), Gauge::default());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!c.is_leading());
    b.release().await;
    assert_eq!(gb.get(), 0);
    lead(&mut c, Duration::from_secs(1)).await;
    c.release().await;
}

#[tokio::test]
async fn once_fails_clearly_while_another_replica_holds_the_lease() {
    let h = Harness::start().await;
    let kv = bucket(&h.nats).await;
    let mut other = LeaseHandle::start(kv, settings("other-replica"), Gauge::default());
    lead(&mut other, Duration::from_secs(5)).await;
    h.site.clear_requests();
    let err = h
        .run(&["--once", "--lease-wait", "1s"])
        .await
        .expect_err("the lease is held");
    assert!(matches!(err, FetcherError::LeaseHeld { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("other-replica"), "{message}");
    assert!(message.contains("--lease-wait"), "{message}");
    assert!(h.site.requests().is_empty(), "{:?}", h.site.requests());
    // Once the other one lets go, --once runs.
    other.release().await;
    h.once(&[]).await;
    assert_eq!(keys(&h.raw_pages().await), h.visible());
}

#[tokio::test]
async fn a_replica_that_loses_the_lease_stops_requesting_at_once() {
    let h = Harness::start().await;
    let token = CancellationToken::new();
    let cli = h.cli(&[
        "--request-interval",
        "100ms",
        "--poll-interval",
        "1h",
        "--lease-ttl",
        "2s",
        "--lease-renew",
        "200ms",
    ]);
    let running = tokio::spawn(fetcher::run(cli, token.clone()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.site.requests().iter().filter(|r| is_statement(r)).count() < 3 {
        assert!(Instant::now() < deadline, "the fetcher fetched nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another replica overwrites the lease (as after a partition): the keeper finds out
    // at its next renewal and the poll stops.
    let kv = bucket(&h.nats).await;
    let stolen = Lease::new("thief", chrono::Utc::now(), Duration::from_secs(3600));
    kv.put("lease.mid_ru", serde_json::to_vec(&stolen).unwrap().into())
        .await
        .expect("overwrite the lease");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_loss = h.site.requests().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        h.site.requests().len(),
        after_loss,
        "requests went on after the lease was lost"
    );
    assert!(
        h.raw_pages().await.len() < h.visible().len(),
        "it stopped before the end"
    );
    token.cancel();
    let result = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the fetcher stops promptly")
        .expect("join");
    assert!(result.is_ok(), "{result:?}");
}

/// Two fetcher processes with their own User-Agent: only the active one requests; when it
/// is SIGKILLed, the standby takes over within 30 s and picks up a released statement.
#[tokio::test]
async fn two_processes_one_polls_and_the_standby_takes_over_after_sigkill() {
    let h = Harness::start().await;
    let held = h.site.held_back();
    assert!(!held.is_empty(), "the corpus holds a statement back");
    let spawn = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fetcher"))
            .args([
                "--base-url",
                &h.site.base_url(),
                "--nats-url",
                &h.nats.url(),
                "--request-interval",
                "0s",
                "--poll-interval",
                "1s",
            ])
            .envs(h.nats.env(Identity::Fetcher))
            .args(["--user-agent", &format!("ministry-feed-test/{name}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the fetcher binary")
    };
    let agent = |r: &LoggedRequest| r.user_agent.clone().unwrap_or_default();
    let mut a = spawn("a");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !h.site.requests().iter().any(|r| agent(r).ends_with("/a")) {
        assert!(Instant::now() < deadline, "replica a never polled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut b = spawn("b");
    // Several polls and lease renewals later, only a has requested anything.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let requests = h.site.requests();
    let feeds = requests
        .iter()
        .filter(|r| r.path.starts_with("/en/rss.php"))
        .count();
    assert!(feeds >= 3, "a polls every second: {feeds} feed requests");
    assert!(
        requests.iter().all(|r| agent(r).ends_with("/a")),
        "the standby made requests: {:?}",
        requests
            .iter()
            .filter(|r| !agent(r).ends_with("/a"))
            .collect::<Vec<_>>()
    );
    // a dies without letting go; a statement appears.
    a.kill().expect("SIGKILL replica a");
    let _ = a.wait();
    let killed = Instant::now();
    h.site.clear_requests();
    h.site.release(&held[0]);
    let deadline = killed + Duration::from_secs(30);
    while !h.raw_pages().await.iter().any(|p| p.doc_id == held[0]) {
        if Instant::now() >= deadline {
            let _ = b.kill();
            panic!("the standby did not take over within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = killed.elapsed();
    let _ = b.kill();
    let _ = b.wait();
    eprintln!("standby took over and published the released statement {took:?} after SIGKILL");
    let requests = h.site.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| agent(r).ends_with("/b")),
        "{requests:?}"
    );
    // Each page is still published once.
    assert_eq!(keys(&h.raw_pages().await), h.visible());
}
