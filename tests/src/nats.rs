//! A private nats-server per test: free port, temporary store, stopped on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TempDir;

/// A nats-server (2.10+) with JetStream, on loopback, owned by one test.
pub struct NatsServer {
    bin: PathBuf,
    port: u16,
    store: TempDir,
    extra_args: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a single server on a free port with a fresh store directory.
    ///
    /// Panics with instructions when no suitable nats-server is found: a missing service
    /// fails the test, it never skips it.
    pub fn start() -> Self {
        let mut server = NatsServer {
            bin: nats_server_bin(),
            port: free_port(),
            store: TempDir::new("nats"),
            extra_args: Vec::new(),
            child: None,
        };
        server.spawn();
        server
    }

    /// Starts a three-node JetStream cluster on loopback. Returns the nodes; give clients
    /// [`cluster_url`] of all of them.
    pub fn start_cluster(nodes: usize) -> Vec<NatsServer> {
        let bin = nats_server_bin();
        let ports: Vec<(u16, u16)> = (0..nodes).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, cluster)| format!("nats://127.0.0.1:{cluster}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut servers: Vec<NatsServer> = ports
            .iter()
            .enumerate()
            .map(|(i, (client, cluster))| NatsServer {
                bin: bin.clone(),
                port: *client,
                store: TempDir::new(&format!("nats-node{i}")),
                extra_args: vec![
                    "-n".into(),
                    format!("node{i}"),
                    "--cluster_name".into(),
                    "testcluster".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{cluster}"),
                    "--routes".into(),
                    routes.clone(),
                ],
                child: None,
            })
            .collect();
        for server in &mut servers {
            server.spawn_no_wait();
        }
        for server in &mut servers {
            server.wait_ready();
        }
        servers
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (kept across [`NatsServer::restart`]).
    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// Kills the server at once (SIGKILL), keeping its store.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn spawn(&mut self) {
        self.spawn_no_wait();
        self.wait_ready();
    }

    fn spawn_no_wait(&mut self) {
        let log = self.store.path().join("server.log");
        let child = Command::new(&self.bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .args(&self.extra_args)
            .args(["-l"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Read;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 4];
                if stream.read_exact(&mut buf).is_ok() && &buf == b"INFO" {
                    return;
                }
            }
            if !self.is_running() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.store.path().join("server.log"))
                    .unwrap_or_default();
                panic!(
                    "nats-server on port {} did not become ready; its log:\n{log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A comma-separated URL list of every node, for `NATS_URL`.
pub fn cluster_url(nodes: &[NatsServer]) -> String {
    nodes
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",")
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port")
}

/// The nats-server to test with: `NATS_SERVER_BIN`, else the one `scripts/ensure-nats-server`
/// installs under `.tools/`, else `nats-server` on PATH if it is 2.10 or newer.
pub fn nats_server_bin() -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        candidates.push(PathBuf::from(bin));
    }
    candidates.push(crate::workspace_root().join(".tools/venv/bin/nats-server"));
    candidates.push(PathBuf::from("nats-server"));
    for candidate in &candidates {
        if server_version(candidate).is_some_and(|version| version >= (2, 10)) {
            return candidate.clone();
        }
    }
    panic!(
        "no nats-server 2.10 or newer found (tried {candidates:?}); run scripts/test, or \
         scripts/ensure-nats-server and set NATS_SERVER_BIN to the path it prints"
    );
}

fn server_version(bin: &Path) -> Option<(u32, u32)> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.rsplit(" v").next()?.trim();
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
