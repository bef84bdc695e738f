use super::*;

/// A nats-server whose max payload is `max_payload` bytes, killed on drop.
struct SmallPayloadNats {
    child: std::process::Child,
    port: u16,
    _dir: testkit::TempDir,
}

impl SmallPayloadNats {
    fn start(max_payload: usize) -> Self {
        let dir = testkit::TempDir::new("nats-small");
        let port = testkit::free_port();
        let config = dir.path().join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1:{port}\nmax_payload: {max_payload}\njetstream {{ store_dir: {:?} }}\n",
                dir.path().join("js")
            ),
        )
        .expect("write nats.conf");
        let child = std::process::Command::new(testkit::nats::nats_server_bin())
            .arg("-c")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server with a small max_payload did not start"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        SmallPayloadNats {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for SmallPayloadNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn pages_over_the_max_payload_go_through_the_object_store() {
    let site = FixtureSite::start().await;
    let nats = SmallPayloadNats::start(6000);
    let base = site.base_url();
    let url = nats.url();
    let cli = Cli::try_parse_from([
        "fetcher",
        "--once",
        "--base-url",
        &base,
        "--nats-url",
        &url,
        "--request-interval",
        "0s",
        "--sections",
        "/foreign_policy/news/",
    ])
    .expect("flags");
    fetcher::run(cli, CancellationToken::new())
        .await
        .expect("poll");

    let client = async_nats::connect(url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream(RAW_STREAM).await.expect("stream");
    let info = stream.get_info().await.expect("info");
    let (mut inline, mut stored) = (0, 0);
    let mut seen = Vec::new();
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let msg = stream.get_raw_message(seq).await.expect("message");
        assert!(msg.payload.len() <= 6000);
        let page = RawPage::from_json(&msg.payload).expect("raw page");
        match page.body {
            shared::messages::Body::Inline { .. } => inline += 1,
            shared::messages::Body::ObjectStore { .. } => stored += 1,
        }
        let body = shared::nats::raw_page_body(&js, &page).await.expect("body");
        let served = site
            .page_bytes(&page.doc_id, page.lang.as_str())
            .expect("page");
        assert_eq!(body, served.to_vec(), "{} {}", page.doc_id, page.lang);
        assert_eq!(page.body_sha256, hex_digest(&body));
        seen.push((page.doc_id.clone(), page.lang.to_string()));
    }
    seen.sort();
    let mut visible: Vec<(String, String)> = site
        .statements()
        .into_iter()
        .flat_map(|(id, langs)| langs.into_iter().map(move |l| (id.clone(), l)))
        .filter(|(_, l)| l == "en" || l == "ru")
        .collect();
    visible.sort();
    assert_eq!(seen, visible);
    assert!(
        stored > 0 && inline > 0,
        "inline {inline}, object store {stored}"
    );
}
