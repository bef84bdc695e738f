//! Headless Chromium driven over WebDriver (the W3C protocol, spoken by `chromedriver`), for
//! the reading room's browser test. A few commands over the test kit's HTTP client: open a
//! page, find, click, type, read, run a script, take a screenshot.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`scripts/test` installs them);
//! `CHROMIUM_BIN` and `CHROMEDRIVER_BIN` override the paths. A missing browser fails the test
//! with what to install; it never skips.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{TempDir, free_port, http_client};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long [`Browser::wait_for`] and friends wait by default.
pub const WAIT: Duration = Duration::from_secs(15);

/// A headless Chromium session; the browser and its driver are killed on drop.
pub struct Browser {
    driver: Child,
    endpoint: String,
    client: reqwest::Client,
    shots: PathBuf,
    _profile: TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

fn program(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} is missing: install the Debian packages chromium and chromium-driver \
         (scripts/test does: apt-get install -y chromium chromium-driver) or set {var}",
        path.display()
    );
    path
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile. Screenshots go to
    /// `shots` (created).
    pub async fn start(shots: &Path) -> Browser {
        let chromium = program("CHROMIUM_BIN", "/usr/bin/chromium");
        let chromedriver = program("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
        std::fs::create_dir_all(shots)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", shots.display()));
        let profile = TempDir::new("chromium-profile");
        let port = free_port();
        // Its own process group, so that dropping it kills the browser processes too.
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut browser = Browser {
            driver,
            endpoint: format!("http://127.0.0.1:{port}"),
            client: http_client(),
            shots: shots.to_path_buf(),
            _profile: profile,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = browser
                .call(reqwest::Method::GET, "/status", None)
                .await
                .ok()
                .and_then(|v| v["ready"].as_bool());
            if ready == Some(true) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {} within {WAIT:?}",
                browser.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }}
        });
        let session = browser
            .call(reqwest::Method::POST, "/session", Some(capabilities))
            .await
            .unwrap_or_else(|e| panic!("chromedriver cannot start Chromium: {e}"));
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {session}"));
        browser.endpoint = format!("{}/session/{id}", browser.endpoint);
        browser
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.endpoint);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .timeout(Duration::from_secs(60));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{method} {url}: {e}: {text}"))?;
        if status.is_success() {
            Ok(value["value"].clone())
        } else {
            Err(format!(
                "{method} {url} answered {status}: {}",
                value["value"]
            ))
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        let value = self.command(reqwest::Method::GET, "/url", None).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Finds the first element matching `css` now.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .ok()?;
        found[ELEMENT].as_str().map(|id| Element(id.to_string()))
    }

    /// Waits up to [`WAIT`] for an element matching `css`; panics with the page's URL.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_within(css, WAIT).await
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for_within(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.find(css).await {
                return element;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no element matches {css:?} on {} after {timeout:?}",
                    self.url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css` (waiting for it).
    pub async fn click(&self, css: &str) {
        let Element(id) = self.wait_for(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clicks a link or submit button matching `css` and waits until the page it leads to has
    /// replaced the current one (a click only starts a navigation: without this wait, the next
    /// step could read the old page or race its own navigation against this one).
    pub async fn follow(&self, css: &str) {
        self.execute("window.__mf_old_page = true; return true", vec![])
            .await;
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        loop {
            let loaded = self
                .call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({
                        "script": "return window.__mf_old_page !== true && document.readyState === 'complete'",
                        "args": [],
                    })),
                )
                .await;
            if matches!(loaded, Ok(Value::Bool(true))) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "clicking {css:?} did not lead to a new page within {WAIT:?} (still on {})",
                    self.url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field matching `css` (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) {
        let Element(id) = self.wait_for(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The visible text of the element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let Element(id) = self.wait_for(css).await;
        let value = self
            .command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Saves a PNG of the window as `{name}.png` in the screenshot directory.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let value = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("the screenshot is not base64: {e}"));
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Resizes the window (e.g. to a phone's width).
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Ends the session (Chromium exits) and stops the driver.
    pub async fn close(mut self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
        self.kill();
    }

    fn kill(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}
