//! PostgreSQL over TLS against a private cluster (`ssl = on`, a certificate from a test CA,
//! only TLS clients admitted): `sslmode=verify-full` with the right CA stores and reads; a
//! wrong CA, a missing CA file or a server without TLS are clear errors at once, never a
//! plaintext connection.

use std::time::Duration;

use shared::{Kind, Lang};
use sink::store::{AnyStore, Store, StoreError};
use testkit::{PgCluster, TestCa};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

use crate::support::record;

/// Opening the store must fail at once (no retry loop) when TLS cannot be verified.
const AT_ONCE: Duration = Duration::from_secs(20);

async fn open_refused(url: &str) -> StoreError {
    tokio::time::timeout(
        AT_ONCE,
        AnyStore::open_with_retry(url, &CancellationToken::new()),
    )
    .await
    .expect("a TLS refusal is an error at once, not a connection retried forever")
    .expect_err("the connection must be refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verifies_the_server_and_a_wrong_ca_is_a_clear_error() {
    let ca = TestCa::new("postgres");
    let cluster = PgCluster::start_tls(&ca);

    // The right CA: connected through TLS, migrated, a record stored and read back.
    let url = cluster.verify_full_url(ca.ca_pem());
    let store = AnyStore::open(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", cluster.log()));
    assert_eq!(store.kind(), "postgres");
    let r = record(
        1,
        Lang::En,
        Kind::Statement,
        "2025-01-02T10:00:00+03:00",
        "Statement over TLS",
        &[],
        &["Text."],
    );
    store
        .store_batch(std::slice::from_ref(&r))
        .await
        .expect("store");
    assert!(store.get(&r.id).await.expect("get").is_some());
    store.ping().await.expect("ping");
    store.close().await;

    // The server admits TLS clients only: plaintext is refused by the server itself, so the
    // connections above were encrypted.
    let plaintext = AnyStore::open(&cluster.url("?sslmode=disable"))
        .await
        .expect_err("the cluster refuses plaintext");
    assert!(
        plaintext.to_string().contains("no encryption"),
        "{plaintext}"
    );

    // A CA that did not sign the server's certificate: refused with what to check.
    let other = TestCa::new("other");
    let refused = open_refused(&cluster.verify_full_url(other.ca_pem())).await;
    let text = refused.to_string();
    assert!(!refused.is_transient(), "{text}");
    assert!(
        text.contains("certificate") && text.contains("sslrootcert") && text.contains("TLS"),
        "{text}"
    );
    assert!(!text.contains(cluster.password()), "{text}");
    assert!(
        text.contains("postgres:***@"),
        "the URL is shown redacted: {text}"
    );

    // The right CA but a host name the certificate does not carry: refused too.
    let wrong_host = cluster
        .verify_full_url(ca.ca_pem())
        .replace("127.0.0.1", "127.0.0.2");
    let text = open_refused(&wrong_host).await.to_string();
    assert!(text.contains("TLS failed"), "{text}");

    // A CA file that does not exist: named, at once.
    let missing = open_refused(&cluster.verify_full_url(&ca.dir().join("nope.pem"))).await;
    assert!(
        matches!(&missing, StoreError::TlsFile { param, .. } if param == "sslrootcert"),
        "{missing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_never_falls_back_to_plaintext_when_the_server_offers_no_tls() {
    // A server that answers PostgreSQL's SSLRequest with "N" (no TLS) and would then speak
    // plaintext: the client must stop there, before sending anything else.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).await.expect("SSLRequest");
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47], "an SSLRequest first");
        socket.write_all(b"N").await.expect("answer");
        let mut after = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut after)).await;
        after
    });
    let ca = TestCa::new("no-tls");
    let url = format!(
        "postgres://postgres:pw-never-sent@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca.ca_pem().display()
    );
    let refused = open_refused(&url).await;
    let text = refused.to_string();
    assert!(text.contains("does not support TLS"), "{text}");
    assert!(text.contains("no plaintext fallback"), "{text}");
    let sent_after = server.await.expect("server task");
    assert!(
        sent_after.is_empty(),
        "the client sent {} plaintext bytes after the server refused TLS",
        sent_after.len()
    );
}
