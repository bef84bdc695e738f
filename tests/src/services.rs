//! Launching the service binaries as real processes, HTTP helpers and bounded waits.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::TempDir;

const BUILD_FIRST: &str = "build the binaries first: cargo build --workspace --bins";

/// The path of a built workspace binary (`fetcher`, `parser`, `sink`, `fixture-site`).
///
/// Environment variable naming the directory of the service binaries to test (default: the
/// binaries of the test's own cargo profile).
pub const BIN_DIR_VAR: &str = "MINISTRY_FEED_BIN_DIR";

/// Looks in `$MINISTRY_FEED_BIN_DIR` when set (and only there), else at
/// `CARGO_BIN_EXE_{name}` (when set), then next to the running test executable
/// (`target/<profile>/`), then `$CARGO_TARGET_DIR/<profile>/` and `target/debug/` of the
/// workspace. Panics with "build the binaries first: cargo build --workspace --bins" when
/// none exists.
pub fn bin_path(name: &str) -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os(BIN_DIR_VAR) {
        // An explicit directory (e.g. target/release in CI) wins and must hold the binary.
        let path = PathBuf::from(dir).join(name);
        assert!(
            path.is_file(),
            "{BIN_DIR_VAR} is set but {} does not exist; build it (cargo build --release --bins)",
            path.display()
        );
        return path;
    }
    if let Some(p) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        candidates.push(PathBuf::from(p));
    }
    let mut profile = "debug".to_string();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/e2e-HASH → target/<profile>/
        let mut dir = exe.parent().map(PathBuf::from);
        if dir
            .as_ref()
            .and_then(|d| d.file_name())
            .is_some_and(|n| n == "deps")
        {
            dir = dir.and_then(|d| d.parent().map(PathBuf::from));
        }
        if let Some(dir) = dir {
            if let Some(p) = dir.file_name().and_then(|n| n.to_str()) {
                profile = p.to_string();
            }
            candidates.push(dir.join(name));
        }
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let target = PathBuf::from(target);
        let target = if target.is_absolute() {
            target
        } else {
            crate::workspace_root().join(target)
        };
        candidates.push(target.join(&profile).join(name));
    }
    candidates.push(
        crate::workspace_root()
            .join("target")
            .join(&profile)
            .join(name),
    );
    candidates.push(crate::workspace_root().join("target/debug").join(name));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("{BUILD_FIRST} (no `{name}` binary in {candidates:?})"))
}

/// A service binary running as a child process, its output in a log file. Killed on drop.
#[derive(Debug)]
pub struct Service {
    name: String,
    child: Option<Child>,
    status: Option<ExitStatus>,
    log_path: PathBuf,
    _dir: TempDir,
}

impl Service {
    /// Starts `name` (see [`bin_path`]) with `args` and extra environment `env`; stdout and
    /// stderr go to a log file in a fresh temporary directory.
    pub fn spawn(name: &str, args: &[&str], env: &[(&str, &str)]) -> Service {
        let bin = bin_path(name);
        let dir = TempDir::new(&format!("svc-{name}"));
        let log_path = dir.path().join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share {}: {e}", log_path.display()));
        let mut command = Command::new(&bin);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .env("LOG_FORMAT", "text")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {BUILD_FIRST}", bin.display()));
        Service {
            name: name.to_string(),
            child: Some(child),
            status: None,
            log_path,
            _dir: dir,
        }
    }

    /// The binary's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Process id (None once it exited and was reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything it wrote so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The log file.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Its exit status if it has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.status = Some(status);
            self.child = None;
        }
        self.status
    }

    /// Kills it at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            if let Ok(status) = child.wait() {
                self.status = Some(status);
            }
        }
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn signal_term(&mut self) {
        self.signal("TERM");
    }

    /// Sends the signal named `name` (`TERM`, `STOP`, `CONT`, …) with kill(1); panics when
    /// it cannot be sent to a process that is still running.
    pub fn signal(&mut self, name: &str) {
        if let Some(pid) = self.pid() {
            let sent = Command::new("kill")
                .args([&format!("-{name}"), &pid.to_string()])
                .status();
            if !sent.as_ref().is_ok_and(|s| s.success()) && self.try_status().is_none() {
                panic!(
                    "cannot send SIG{name} to {} (pid {pid}): {sent:?}",
                    self.name
                );
            }
        }
    }

    /// Waits up to `timeout` for it to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits up to `timeout` for the exit; `None` (after a SIGKILL) when it did
    /// not exit in time.
    pub async fn terminate_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.try_status() {
            return Some(status);
        }
        self.signal_term();
        let status = self.wait_exit(timeout).await;
        if status.is_none() {
            self.kill();
        }
        status
    }

    /// SIGTERM and the exit status; panics (with its log) when it does not exit within 15 s.
    pub async fn terminate(&mut self) -> ExitStatus {
        let timeout = Duration::from_secs(15);
        match self.terminate_within(timeout).await {
            Some(status) => status,
            None => panic!(
                "{} did not exit within {timeout:?} of SIGTERM; its log:\n{}",
                self.name,
                self.log()
            ),
        }
    }

    /// Waits for it to exit on its own; panics (with its log) after `timeout`.
    pub async fn expect_exit(&mut self, timeout: Duration) -> ExitStatus {
        match self.wait_exit(timeout).await {
            Some(status) => status,
            None => {
                self.kill();
                panic!(
                    "{} did not exit within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log()
                )
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `condition` every `poll` until it returns true; panics after `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, poll: Duration, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for("condition", timeout, poll, condition).await;
}

/// [`wait_until`] with a description of what is awaited, for the panic message.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, poll: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(poll).await;
    }
}

/// Installs rustls' ring crypto provider (once per process); needed before any reqwest client.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client for tests (10 s timeout, no redirects followed, no proxy).
pub fn http_client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

/// GET `url`: status and body text, or the transport error as text.
pub async fn http_get(url: &str) -> Result<(u16, String), String> {
    let response = http_client()
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {e}"))?;
    Ok((status, text))
}

/// GET `url` and parse the JSON body; panics unless the answer is 200 with valid JSON.
pub async fn http_get_json(url: &str) -> serde_json::Value {
    let (status, text) = http_get(url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200, "GET {url} answered {status}: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("GET {url} did not answer JSON ({e}): {text}"))
}
