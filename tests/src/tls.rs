//! A test certificate authority made with the `openssl` command: a CA, and a server
//! certificate for `127.0.0.1` and `localhost` signed by it (for nats-server and PostgreSQL).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TempDir;

/// A CA and one server certificate, in a temporary directory removed on drop.
#[derive(Debug)]
pub struct TestCa {
    dir: TempDir,
    ca_pem: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

impl TestCa {
    /// Makes a fresh CA (`name` in its subject) and a server certificate it signs. Panics with
    /// instructions when `openssl` is missing.
    pub fn new(name: &str) -> TestCa {
        let dir = TempDir::new("test-ca");
        let ca = TestCa {
            ca_pem: dir.path().join("ca.pem"),
            server_cert: dir.path().join("server.pem"),
            server_key: dir.path().join("server.key"),
            dir,
        };
        let p = |file: &str| ca.dir.path().join(file).display().to_string();
        std::fs::write(
            ca.dir.path().join("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .unwrap_or_else(|e| panic!("cannot write the certificate extensions: {e}"));
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(&[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", &p("ca.key"), "-out", &p("ca.pem"), "-days", "2"],
            &["-subj", &format!("/CN={name} test CA")],
        ]);
        openssl(&[
            &["req"][..],
            &ec,
            &["-keyout", &p("server.key"), "-out", &p("server.csr")],
            &["-subj", "/CN=localhost"],
        ]);
        openssl(&[
            &["x509", "-req", "-in", &p("server.csr"), "-CA", &p("ca.pem")][..],
            &["-CAkey", &p("ca.key"), "-CAcreateserial", "-days", "2"],
            &["-out", &p("server.pem"), "-extfile", &p("san.ext")],
        ]);
        ca
    }

    /// The CA certificate (PEM): what clients trust.
    pub fn ca_pem(&self) -> &Path {
        &self.ca_pem
    }

    /// The server certificate (PEM).
    pub fn server_cert(&self) -> &Path {
        &self.server_cert
    }

    /// The server's private key (PEM).
    pub fn server_key(&self) -> &Path {
        &self.server_key
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn openssl(parts: &[&[&str]]) {
    let args: Vec<&str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let out = Command::new("openssl")
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): apt-get install openssl"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
