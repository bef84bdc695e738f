//! The polite HTTP client: every request of the process goes through [`Http::get`], which
//! enforces URL safety, robots.txt, the per-host interval, the circuit breaker, conditional
//! requests, retries (Retry-After, backoff with jitter), challenge detection and size caps.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use shared::backoff::Backoff;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::metrics::Metrics;
use crate::politeness::{
    AttemptOutcome, CircuitBreaker, Decision, RetryPolicy, decide, is_retryable_status,
    parse_retry_after,
};
use crate::robots::Robots;
use crate::safety::{Site, content_type_allowed};
use shared::profile::fetch::{AntiBot, Soft404};

/// Response headers kept in raw pages.
pub const KEPT_HEADERS: [&str; 5] = [
    "content-type",
    "etag",
    "last-modified",
    "date",
    "content-language",
];
/// How long robots.txt is cached.
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Redirect hops followed at most.
const MAX_REDIRECTS: usize = 5;

/// Validators for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// `ETag` of the last answer.
    pub etag: Option<String>,
    /// `Last-Modified` of the last answer.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A successful response with its body.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL finally fetched (after redirects on the site).
    pub url: Url,
    /// HTTP status (2xx).
    pub status: u16,
    /// The headers of [`KEPT_HEADERS`] that were present.
    pub headers: BTreeMap<String, String>,
    /// The body as served (after transfer decompression).
    pub body: Bytes,
}

impl Page {
    /// The validators this response carries.
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.headers.get("etag").cloned(),
            last_modified: self.headers.get("last-modified").cloned(),
        }
    }
}

/// What a GET gave.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// A fresh body.
    Page(Page),
    /// 304: the resource did not change since the validators were taken.
    NotModified,
}

/// Why a GET did not give a page.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not an http(s) URL on the configured site.
    #[error("refusing to fetch {0}: it is not on the configured site (--base-url)")]
    Unsafe(String),
    /// robots.txt forbids the URL.
    #[error("robots.txt forbids {0}; not fetching it")]
    Disallowed(String),
    /// A final HTTP status that retrying will not change.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// URL.
        url: String,
        /// Status.
        status: u16,
    },
    /// The body exceeds the configured limit.
    #[error(
        "{url} is larger than --max-response-bytes ({limit} bytes); raise the limit if the page is genuine"
    )]
    TooLarge {
        /// URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The answer is not HTML or XML.
    #[error("{url} answered with content type {content_type:?}; only HTML and XML are fetched")]
    ContentType {
        /// URL.
        url: String,
        /// Its content type.
        content_type: String,
    },
    /// Retries exhausted.
    #[error("gave up on {url} after {attempts} attempts; last problem: {last}")]
    GaveUp {
        /// URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last problem.
        last: String,
    },
    /// Too many redirects, or a redirect without a usable Location.
    #[error("{url}: {reason}")]
    Redirect {
        /// URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// robots.txt could not be read, so nothing may be fetched yet.
    #[error(
        "not fetching {url}: robots.txt cannot be read ({reason}); is the site up? It is tried again shortly"
    )]
    RobotsUnreadable {
        /// URL that was not fetched.
        url: String,
        /// Why robots.txt could not be read.
        reason: String,
    },
    /// The site's "not found" page answered with 200 (a soft 404, by the profile's
    /// `fetch.soft_404` markers).
    #[error("{url} is the site's 'page not found' page (a soft 404): there is no such statement")]
    SoftNotFound {
        /// URL.
        url: String,
    },
    /// Shutdown was requested.
    #[error("shutdown requested before the request was sent")]
    Cancelled,
    /// The client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The extra CA bundle could not be used.
    #[error("cannot use --extra-ca-file {path}: {reason}; give a PEM file of CA certificates")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Settings of the client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// User-Agent header.
    pub user_agent: String,
    /// Pause between two requests to one host.
    pub request_interval: Duration,
    /// Body size limit.
    pub max_response_bytes: u64,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Total timeout per request.
    pub timeout: Duration,
    /// Retry limits.
    pub retry: RetryPolicy,
    /// Consecutive failures that open the circuit.
    pub circuit_threshold: u32,
    /// How long an open circuit pauses the host.
    pub circuit_cooldown: Duration,
    /// Extra root certificates (PEM).
    pub extra_ca_file: Option<PathBuf>,
    /// The source's anti-bot challenge markers.
    pub anti_bot: AntiBot,
    /// The source's soft-404 markers.
    pub soft_404: Soft404,
    /// Whether robots.txt is read and obeyed (profiles: `fetch.politeness.robots_txt`).
    pub robots_txt: bool,
}

/// The process's one HTTP client towards the site.
pub struct Http {
    client: reqwest::Client,
    site: Site,
    settings: HttpSettings,
    /// Per host: when the next request may start.
    next_slot: Mutex<HashMap<String, Instant>>,
    /// Held from booking a slot to the end of the response when `request_interval` > 0, so
    /// that concurrent fetches never overlap requests: the site sees one request at a time,
    /// spaced by the interval.
    in_flight: Mutex<()>,
    /// robots.txt per origin (`http://kremlin.ru/`, `http://en.kremlin.ru/`).
    robots: Mutex<HashMap<String, CachedRobots>>,
    breaker: std::sync::Mutex<CircuitBreaker>,
    metrics: Metrics,
    shutdown: CancellationToken,
}

/// robots.txt as last read (or why it could not be), when, and for how long it holds.
type CachedRobots = (Result<Robots, String>, Instant, Duration);

enum Attempt {
    Page(Page),
    NotModified,
    Redirect(Url),
    Outcome(AttemptOutcome, String),
}

impl Http {
    /// Builds the client. Installs the ring TLS provider if none is installed yet.
    pub fn new(
        site: Site,
        settings: HttpSettings,
        metrics: Metrics,
        shutdown: CancellationToken,
    ) -> Result<Self, HttpError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let policy_site = site.clone();
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if policy_site.is_allowed(attempt.url()) {
                // Followed by Http::get itself, with robots and interval checks.
                attempt.stop()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!(
                    "redirect to {to} refused: not on the configured site"
                ))
            }
        });
        let mut builder = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .redirect(redirect)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .https_only(false)
            .referer(false);
        if let Some(path) = &settings.extra_ca_file {
            let pem = std::fs::read(path).map_err(|e| HttpError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| HttpError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(HttpError::CaFile {
                    path: path.clone(),
                    reason: "it holds no certificate".into(),
                });
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| HttpError::Client(e.to_string()))?;
        let breaker = CircuitBreaker::new(settings.circuit_threshold, settings.circuit_cooldown);
        Ok(Http {
            client,
            site,
            settings,
            next_slot: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(()),
            robots: Mutex::new(HashMap::new()),
            breaker: std::sync::Mutex::new(breaker),
            metrics,
            shutdown,
        })
    }

    /// The site.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// GETs `url`, conditionally when `validators` are given.
    pub async fn get(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, HttpError> {
        self.get_inner(url, validators, true).await
    }

    async fn get_inner(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        check_robots: bool,
    ) -> Result<Fetched, HttpError> {
        let policy = self.settings.retry;
        let mut backoff = Backoff::new(policy.base, policy.max);
        let mut url = url.clone();
        let mut attempt: u32 = 0;
        let mut hops = 0usize;
        loop {
            if !self.site.is_allowed(&url) {
                return Err(HttpError::Unsafe(url.to_string()));
            }
            if self.settings.soft_404.matches(url.as_str(), "") {
                return Err(HttpError::SoftNotFound {
                    url: url.to_string(),
                });
            }
            if check_robots && !self.robots_allow(&url).await? {
                return Err(HttpError::Disallowed(url.to_string()));
            }
            self.wait_for_circuit().await?;
            // With an interval, one request at a time (fair queue: tokio's mutex is FIFO);
            // without one, concurrent fetches may overlap.
            let gate = if self.settings.request_interval.is_zero() {
                None
            } else {
                Some(self.in_flight.lock().await)
            };
            self.wait_for_slot(&url).await?;
            attempt += 1;
            let result = self.attempt(&url, validators).await;
            self.release_slot(&url).await;
            drop(gate);
            let (outcome, problem) = match result {
                Ok(Attempt::Page(page)) => {
                    self.circuit_success();
                    return Ok(Fetched::Page(page));
                }
                Ok(Attempt::NotModified) => {
                    self.circuit_success();
                    return Ok(Fetched::NotModified);
                }
                Ok(Attempt::Redirect(next)) => {
                    hops += 1;
                    if hops > MAX_REDIRECTS {
                        return Err(HttpError::Redirect {
                            url: url.to_string(),
                            reason: format!("more than {MAX_REDIRECTS} redirects"),
                        });
                    }
                    tracing::debug!(from = %url, to = %next, "following redirect");
                    url = next;
                    continue;
                }
                Ok(Attempt::Outcome(outcome, problem)) => (outcome, problem),
                Err(err) => return Err(err),
            };
            let proposed = backoff.next_delay();
            // A 404 says nothing about the host's health; resets, 5xx, 429 and challenges do.
            let failure = !matches!(outcome, AttemptOutcome::Status { status, .. } if !is_retryable_status(status));
            if failure {
                self.circuit_failure();
            }
            match decide(&outcome, attempt, &policy, proposed) {
                Decision::RetryAfter(delay) => {
                    // The whole host waits (Retry-After, backoff), not only this fetch: the
                    // other concurrent fetches must not keep hitting a site that asked us to wait.
                    self.defer_host(&url, delay).await;
                    match outcome {
                        AttemptOutcome::Challenge => tracing::warn!(
                            %url, attempt,
                            "the site is serving an anti-bot challenge; retrying in {}",
                            human(delay)
                        ),
                        AttemptOutcome::Status { status, .. } => tracing::warn!(
                            %url, status, attempt,
                            "the site answered {status}; retrying in {}", human(delay)
                        ),
                        AttemptOutcome::Transport => tracing::warn!(
                            %url, attempt, error = %problem,
                            "request failed; retrying in {}", human(delay)
                        ),
                    }
                    self.sleep(delay).await?;
                }
                Decision::GiveUp => {
                    return Err(match outcome {
                        AttemptOutcome::Status { status, .. } if !is_retryable_status(status) => {
                            HttpError::Status {
                                url: url.to_string(),
                                status,
                            }
                        }
                        _ => HttpError::GaveUp {
                            url: url.to_string(),
                            attempts: attempt,
                            last: problem,
                        },
                    });
                }
                Decision::Accept | Decision::NotModified => {
                    // Handled above; a 2xx or 304 never reaches here.
                    return Err(HttpError::GaveUp {
                        url: url.to_string(),
                        attempts: attempt,
                        last: problem,
                    });
                }
            }
        }
    }

    /// One request.
    async fn attempt(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Attempt, HttpError> {
        let mut request = self.client.get(url.clone());
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(err) if err.is_redirect() => {
                self.metrics.request(None);
                return Err(HttpError::Unsafe(format!(
                    "{url} (redirected elsewhere: {err})"
                )));
            }
            Err(err) => {
                self.metrics.request(None);
                return Ok(Attempt::Outcome(
                    AttemptOutcome::Transport,
                    error_chain(&err),
                ));
            }
        };
        let status = response.status().as_u16();
        self.metrics.request(Some(status));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = header("location").ok_or_else(|| HttpError::Redirect {
                url: url.to_string(),
                reason: format!("HTTP {status} without a Location header"),
            })?;
            let next = url.join(&location).map_err(|e| HttpError::Redirect {
                url: url.to_string(),
                reason: format!("bad Location {location:?}: {e}"),
            })?;
            if !self.site.is_allowed(&next) {
                return Err(HttpError::Unsafe(format!(
                    "{next} (redirect target of {url})"
                )));
            }
            return Ok(Attempt::Redirect(next));
        }
        if status == 304 {
            return Ok(Attempt::NotModified);
        }
        if !(200..300).contains(&status) {
            let retry_after = header("retry-after")
                .and_then(|v| parse_retry_after(&v, SystemTime::now(), self.settings.retry.max));
            return Ok(Attempt::Outcome(
                AttemptOutcome::Status {
                    status,
                    retry_after,
                },
                format!("HTTP {status}"),
            ));
        }
        let content_type = header("content-type");
        if !content_type_allowed(content_type.as_deref()) {
            return Err(HttpError::ContentType {
                url: url.to_string(),
                content_type: content_type.unwrap_or_default(),
            });
        }
        let limit = self.settings.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(HttpError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let headers: BTreeMap<String, String> = KEPT_HEADERS
            .iter()
            .filter_map(|name| header(name).map(|v| (name.to_string(), v)))
            .collect();
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    self.metrics.bytes.inc_by(chunk.len() as u64);
                    if body.len() as u64 + chunk.len() as u64 > limit {
                        return Err(HttpError::TooLarge {
                            url: url.to_string(),
                            limit,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => {
                    return Ok(Attempt::Outcome(
                        AttemptOutcome::Transport,
                        error_chain(&err),
                    ));
                }
            }
        }
        let body = body.freeze();
        if self.settings.anti_bot.is_challenge(&body) {
            self.metrics.challenges.inc();
            return Ok(Attempt::Outcome(
                AttemptOutcome::Challenge,
                "anti-bot challenge page".into(),
            ));
        }
        if !self.settings.soft_404.text_markers.is_empty()
            && self
                .settings
                .soft_404
                .matches(url.as_str(), &String::from_utf8_lossy(&body))
        {
            return Err(HttpError::SoftNotFound {
                url: url.to_string(),
            });
        }
        Ok(Attempt::Page(Page {
            url: url.clone(),
            status,
            headers,
            body,
        }))
    }

    /// Whether robots.txt allows `url`, fetching and caching robots.txt as needed.
    async fn robots_allow(&self, url: &Url) -> Result<bool, HttpError> {
        if url.path() == "/robots.txt" || !self.settings.robots_txt {
            return Ok(true);
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let mut all = self.robots.lock().await;
        let cached = all
            .entry(robots_url.to_string())
            .or_insert_with(|| (Err("not read yet".into()), Instant::now(), Duration::ZERO));
        let fresh = cached.1.elapsed() < cached.2;
        if !fresh {
            let fetched = Box::pin(self.get_inner(&robots_url, None, false)).await;
            let (robots, ttl) = match fetched {
                Ok(Fetched::Page(page)) => (
                    Ok(Robots::parse(&String::from_utf8_lossy(&page.body))),
                    ROBOTS_TTL,
                ),
                Ok(Fetched::NotModified) => (Ok(Robots::allow_all()), ROBOTS_TTL),
                Err(HttpError::Status { status, .. }) if (400..500).contains(&status) => {
                    tracing::info!(status, "no robots.txt on the site: everything is allowed");
                    (Ok(Robots::allow_all()), ROBOTS_TTL)
                }
                Err(HttpError::Cancelled) => return Err(HttpError::Cancelled),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read robots.txt: fetching nothing until it can be read");
                    (
                        Err(err.to_string()),
                        self.settings.retry.base.max(Duration::from_secs(1)),
                    )
                }
            };
            *cached = (robots, Instant::now(), ttl);
        }
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        match &cached.0 {
            Ok(robots) => Ok(robots.is_allowed(&self.settings.user_agent, &path)),
            Err(reason) => Err(HttpError::RobotsUnreadable {
                url: url.to_string(),
                reason: reason.clone(),
            }),
        }
    }

    /// Waits until the host's next request slot, and books it.
    async fn wait_for_slot(&self, url: &Url) -> Result<(), HttpError> {
        if self.shutdown.is_cancelled() {
            return Err(HttpError::Cancelled);
        }
        let host = url.host_str().unwrap_or("").to_string();
        let mut slots = self.next_slot.lock().await;
        if let Some(next) = slots.get(&host) {
            let wait = next.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                self.sleep(wait).await?;
            }
        }
        slots.insert(host, Instant::now() + self.settings.request_interval);
        Ok(())
    }

    /// After a response: the interval counts from its end too.
    async fn release_slot(&self, url: &Url) {
        let host = url.host_str().unwrap_or("").to_string();
        let mut slots = self.next_slot.lock().await;
        let after = Instant::now() + self.settings.request_interval;
        let next = slots.entry(host).or_insert(after);
        *next = (*next).max(after);
    }

    /// Pushes the host's next request slot at least `delay` from now.
    async fn defer_host(&self, url: &Url, delay: Duration) {
        let host = url.host_str().unwrap_or("").to_string();
        let mut slots = self.next_slot.lock().await;
        let after = Instant::now() + delay;
        let next = slots.entry(host).or_insert(after);
        *next = (*next).max(after);
    }

    async fn wait_for_circuit(&self) -> Result<(), HttpError> {
        let wait = self
            .breaker
            .lock()
            .map(|b| b.wait(Instant::now()))
            .unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            tracing::warn!(hosts = %self.site.hosts(), "requests to the site are paused by the circuit breaker; resuming in {}", human(wait));
            self.sleep(wait).await?;
        }
        Ok(())
    }

    fn circuit_success(&self) {
        if let Ok(mut b) = self.breaker.lock() {
            b.record_success();
        }
        self.metrics.circuit_open.set(0);
    }

    fn circuit_failure(&self) {
        let opened = self
            .breaker
            .lock()
            .map(|mut b| b.record_failure(Instant::now()))
            .unwrap_or(false);
        if opened {
            self.metrics.circuit_trips.inc();
            self.metrics.circuit_open.set(1);
            tracing::error!(
                hosts = %self.site.hosts(),
                threshold = self.settings.circuit_threshold,
                "circuit opened: too many consecutive failures; pausing requests to the site for {}",
                human(self.settings.circuit_cooldown)
            );
        }
    }

    async fn sleep(&self, delay: Duration) -> Result<(), HttpError> {
        tokio::select! {
            _ = self.shutdown.cancelled() => Err(HttpError::Cancelled),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }
}

/// A duration for log lines (`2s`, `1m 30s`).
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_humans() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(90)), "1m 30s");
        assert_eq!(human(Duration::from_secs(7260)), "2h 1m");
    }
}
