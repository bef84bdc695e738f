use super::*;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A test CA and a certificate for 127.0.0.1 it signed (valid until 2125; made with
/// openssl, see services/fetcher/README.md). Test material only.
fn certs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/certs")
}

/// HTTPS on 127.0.0.1 with the test certificate, passing the bytes on to `upstream`.
async fn tls_proxy(upstream: std::net::SocketAddr) -> String {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(certs().join("server.pem"))
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("server certificate");
    let key = PrivateKeyDer::from_pem_file(certs().join("server.key")).expect("server.key");
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                }
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

fn flags<'a>(base: &'a str, ca: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec![
        "--once",
        "--base-url",
        base,
        "--langs",
        "en",
        "--max-attempts",
        "1",
    ];
    if let Some(ca) = ca {
        args.extend(["--extra-ca-file", ca]);
    }
    args
}

#[tokio::test]
async fn a_site_signed_by_the_extra_ca_is_trusted_and_is_not_without_it() {
    let h = Harness::start().await;
    let base = tls_proxy(h.site.addr()).await;
    h.site.set_public_url(&base);
    // Without the bundle: the certificate is not trusted, nothing is fetched.
    let err = h
        .run(&flags(&base, None))
        .await
        .expect_err("an unknown CA is refused");
    assert!(err.to_string().contains("could not finish"), "{err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(h.site.requests().is_empty(), "{:?}", h.site.requests());
    assert!(h.raw_pages().await.is_empty());
    // With it: the poll goes through TLS to the site.
    let ca = certs().join("ca.pem");
    let ca = ca.to_str().expect("utf-8 path");
    h.run(&flags(&base, Some(ca)))
        .await
        .unwrap_or_else(|e| panic!("poll over HTTPS with the extra CA: {e}"));
    let en: Vec<(String, String)> = h.visible().into_iter().filter(|(_, l)| l == "en").collect();
    assert_eq!(keys(&h.raw_pages().await), en);
}

#[tokio::test]
async fn a_missing_or_invalid_bundle_is_a_clear_error() {
    let h = Harness::start().await;
    let dir = testkit::TempDir::new("fetcher-ca");
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").expect("write");
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    for (path, why) in [
        (&missing, "No such file"),
        (&garbage, "holds no certificate"),
        (&broken, ""),
    ] {
        let path = path.to_str().expect("utf-8 path");
        let err = h
            .run(&["--once", "--extra-ca-file", path])
            .await
            .expect_err("a bad bundle is refused");
        let message = err.to_string();
        assert!(
            message.contains("--extra-ca-file") && message.contains(path),
            "{message}"
        );
        assert!(message.contains(why), "{message}");
        assert!(message.contains("give a PEM file"), "{message}");
    }
    assert!(h.site.requests().is_empty());
}
