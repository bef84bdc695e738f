//! The fixture site: a local copy of a source's site serving a corpus in that site's markup,
//! with held-back statements, edits, a request log and fault injection. Every response
//! carries ETag and Last-Modified and answers `If-None-Match` / `If-Modified-Since` with 304.
//!
//! * mid.ru ([`Flavor::Mid`], `mid`): the bundled corpus (or a synthetic one): `/robots.txt`,
//!   `/{lang}/rss.php`, listings `/{lang}{section}` (20 items, newest first,
//!   `?activeFrom=DD.MM.YYYY&activeTo=DD.MM.YYYY`, `?PAGEN_1=N`) and article pages
//!   `/{lang}{section}{id}/` under every section a statement lists.
//! * kremlin.ru ([`Flavor::Kremlin`], `kremlin`): one server per host (language).
//! * fmprc.gov.cn ([`Flavor::Fmprc`], `fmprc`).
//! * A user's site ([`Flavor::Files`], `files`): its listings and feeds as files.
//!
//! [`SourceSite`] starts the servers of any source (`sources`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Listing sections the site serves (from mid-ru.md), besides any section a statement lists.
pub const SECTIONS: [&str; 8] = [
    "/press_service/minister_speeches/",
    "/press_service/deputy_ministers_speeches/",
    "/press_service/spokesman/briefings/",
    "/press_service/spokesman/answers/",
    "/press_service/spokesman/comments/",
    "/press_service/spokesman/kommentarii/",
    "/press_service/spokesman/official_statement/",
    "/foreign_policy/news/",
];

/// Languages the site has (listings and feeds exist for each, possibly empty).
pub const LANGS: [&str; 6] = ["en", "ru", "de", "fr", "es", "pt"];

/// Items per listing page, as on the real site.
pub const LISTING_PAGE_SIZE: usize = 20;
/// Items in `/{lang}/rss.php`.
pub const FEED_SIZE: usize = 50;

const ROBOTS: &str = "User-agent: *\nDisallow: /*?PAGEN\nDisallow: /bitrix/\nDisallow: /search/\nDisallow: /upload/tmp/\n";

/// Fallback challenge page, used when the corpus has no `pages/challenge.html`.
const BUILTIN_CHALLENGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title></title>
<script type="text/javascript" src="/TSPD/08a1b2c3d4e5f6?type=7"></script>
<script>window["bobcmn"] = "1011111111111";</script>
</head><body><noscript>Please enable JavaScript to view the page content.</noscript>
<div>Data processing... Please, wait.</div></body></html>
"#;

/// One request the site answered (or dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Status sent; 0 when the connection was dropped ([`Fault::Reset`]).
    pub status: u16,
    /// The `If-None-Match` header sent.
    pub if_none_match: Option<String>,
    /// The `If-Modified-Since` header sent.
    pub if_modified_since: Option<String>,
    /// The `User-Agent` header sent.
    pub user_agent: Option<String>,
}

/// A misbehaviour injected with [`FixtureSite::inject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`.
    TooManyRequests {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`.
    Unavailable {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// The connection is closed without a response.
    Reset,
    /// The anti-bot challenge page (`pages/challenge.html`) with status 200.
    Challenge,
    /// The normal answer, after this delay.
    Slow(Duration),
    /// 302 to this `Location`.
    Redirect(String),
}

#[derive(Debug)]
struct FaultRule {
    prefix: String,
    fault: Fault,
    remaining: usize,
}

#[derive(Debug)]
struct SiteState {
    /// Newest first.
    statements: Vec<Statement>,
    requests: Vec<LoggedRequest>,
    faults: Vec<FaultRule>,
    /// Last change to listings and feeds (start, release, edit).
    changed_at: DateTime<Utc>,
    challenge: Bytes,
    /// Pages that are not statements, by file name.
    pages: BTreeMap<String, Bytes>,
    /// Whose markup and paths.
    flavor: Flavor,
    log_requests: bool,
    /// Where clients reach the site when that is not what they send as `Host` (behind a TLS
    /// proxy): the base of absolute links.
    public_url: Option<String>,
}

/// Which site the fixture site plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    /// mid.ru (every language on one host).
    Mid,
    /// One host of kremlin.ru: `ru` (kremlin.ru) or `en` (en.kremlin.ru).
    Kremlin {
        /// The language of the host.
        lang: String,
    },
    /// fmprc.gov.cn (English).
    Fmprc,
    /// A user's site: its listings, feeds and robots.txt are files under `dir` (served as
    /// they are), its statements the corpus's pages at their `paths`.
    Files {
        /// The folder of served files (`served/`).
        dir: PathBuf,
    },
}

#[derive(Debug)]
struct Shared {
    state: Mutex<SiteState>,
    base_url: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SiteState> {
        // A panic while holding the lock (in a test) must not hide the site from other tests.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The fixture site. Dropping it stops the server.
#[derive(Debug)]
pub struct FixtureSite {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FixtureSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FixtureSite {
    /// The bundled corpus directory: `tests/fixtures/site`.
    pub fn corpus_dir() -> PathBuf {
        crate::workspace_root().join("tests/fixtures/site")
    }

    /// Serves the bundled corpus (tests/fixtures/site) on 127.0.0.1:0.
    pub async fn start() -> FixtureSite {
        Self::start_with(&Self::corpus_dir()).await
    }

    /// Serves another corpus directory (same layout).
    pub async fn start_with(corpus: &Path) -> FixtureSite {
        let corpus = Corpus::load(corpus).unwrap_or_else(|e| panic!("fixture site: {e}"));
        Self::start_corpus(corpus).await
    }

    /// Serves `n` generated statements (synthetic, for load tests), plus nothing else.
    pub async fn start_synthetic(n: usize) -> FixtureSite {
        Self::start_corpus(Corpus::synthetic(n)).await
    }

    /// Serves `corpus` on 127.0.0.1:0.
    pub async fn start_corpus(corpus: Corpus) -> FixtureSite {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::serve(addr, corpus, false)
            .await
            .unwrap_or_else(|e| panic!("fixture site cannot listen on 127.0.0.1: {e}"))
    }

    /// Serves `corpus` on `listen`; with `log_requests` every request is logged (tracing, info).
    pub async fn serve(
        listen: SocketAddr,
        corpus: Corpus,
        log_requests: bool,
    ) -> std::io::Result<FixtureSite> {
        Self::serve_as(listen, corpus, Flavor::Mid, log_requests).await
    }

    /// Serves `corpus` on `listen` in the markup and paths of `flavor`.
    pub async fn serve_as(
        listen: SocketAddr,
        corpus: Corpus,
        flavor: Flavor,
        log_requests: bool,
    ) -> std::io::Result<FixtureSite> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let mut statements = corpus.statements;
        sort_newest_first(&mut statements);
        let shared = Arc::new(Shared {
            state: Mutex::new(SiteState {
                statements,
                requests: Vec::new(),
                faults: Vec::new(),
                changed_at: now_secs(),
                challenge: corpus
                    .challenge
                    .unwrap_or_else(|| Bytes::from_static(BUILTIN_CHALLENGE.as_bytes())),
                pages: corpus.pages,
                flavor,
                log_requests,
                public_url: None,
            }),
            base_url: format!("http://{addr}"),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<ConnHandle>();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(KillableListener(listener), app).await {
                tracing::error!(error = %e, "fixture site stopped");
            }
        });
        Ok(FixtureSite { shared, addr, task })
    }

    /// "http://127.0.0.1:PORT" — pass as the fetcher's --base-url.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Absolute links (the feed) name `url` (`https://127.0.0.1:PORT` of a TLS proxy in front
    /// of the site) instead of `http://` and the host the client asked for.
    pub fn set_public_url(&self, url: &str) {
        self.shared.lock().public_url = Some(url.trim_end_matches('/').to_string());
    }

    /// A held-back statement appears (listings, feed, page). Panics on an unknown id.
    pub fn release(&self, doc_id: &str) {
        let mut state = self.shared.lock();
        let statement = state
            .statements
            .iter_mut()
            .find(|s| s.meta.doc_id == doc_id)
            .unwrap_or_else(|| panic!("fixture site has no statement {doc_id}"));
        statement.visible = true;
        state.changed_at = bump(state.changed_at);
    }

    /// Adds a statement while serving; a held-back one stays hidden until
    /// [`FixtureSite::release`]. Panics when its id is already served.
    pub fn add(&self, statement: Statement) {
        let mut state = self.shared.lock();
        let id = &statement.meta.doc_id;
        assert!(
            !state.statements.iter().any(|s| &s.meta.doc_id == id),
            "fixture site already has statement {id}"
        );
        if statement.visible {
            state.changed_at = bump(state.changed_at);
        }
        state.statements.push(statement);
        sort_newest_first(&mut state.statements);
    }

    /// Releases every held-back statement; returns their ids.
    pub fn release_all(&self) -> Vec<String> {
        let held = self.held_back();
        for id in &held {
            self.release(id);
        }
        held
    }

    /// Ids of the statements still held back.
    pub fn held_back(&self) -> Vec<String> {
        self.shared
            .lock()
            .statements
            .iter()
            .filter(|s| !s.visible)
            .map(|s| s.meta.doc_id.clone())
            .collect()
    }

    /// Changes a page's body (new ETag/Last-Modified): an edit after publication.
    /// The closure gets and returns the decoded text; it is re-encoded in the page's charset.
    /// Panics on an unknown statement or language.
    pub fn edit(&self, doc_id: &str, lang: &str, edit: impl FnOnce(String) -> String) {
        let (text, charset) = {
            let state = self.shared.lock();
            let page = find_page(&state, doc_id, lang);
            (decode(&page.bytes, &page.charset), page.charset.clone())
        };
        let edited = edit(text);
        let bytes = encode(&edited, &charset);
        let mut state = self.shared.lock();
        let changed_at = bump(state.changed_at);
        state.changed_at = changed_at;
        let title = state
            .statements
            .iter()
            .find(|s| s.meta.doc_id == doc_id)
            .and_then(|s| s.meta.titles.get(lang).cloned())
            .unwrap_or_default();
        let page = find_page_mut(&mut state, doc_id, lang);
        let last_modified = changed_at.max(bump(page.last_modified));
        *page = Page::new(bytes, charset, last_modified, &title);
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the requests served so far.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The next `times` requests whose path (with query) starts with `path_prefix` get `fault`.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: usize) {
        self.shared.lock().faults.push(FaultRule {
            prefix: path_prefix.to_string(),
            fault,
            remaining: times,
        });
    }

    /// How many injected faults are still waiting for a matching request.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.iter().map(|r| r.remaining).sum()
    }

    /// Removes every injected fault not yet used.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Ids of the statements currently visible, and their language versions (newest first).
    pub fn statements(&self) -> Vec<(String, Vec<String>)> {
        self.shared
            .lock()
            .statements
            .iter()
            .filter(|s| s.visible)
            .map(|s| (s.meta.doc_id.clone(), s.pages.keys().cloned().collect()))
            .collect()
    }

    /// The `meta.json` of a statement (visible or not).
    pub fn meta(&self, doc_id: &str) -> Option<StatementMeta> {
        self.shared
            .lock()
            .statements
            .iter()
            .find(|s| s.meta.doc_id == doc_id)
            .map(|s| s.meta.clone())
    }

    /// The page bytes of a language version as currently served (visible or not).
    pub fn page_bytes(&self, doc_id: &str, lang: &str) -> Option<Bytes> {
        let state = self.shared.lock();
        state
            .statements
            .iter()
            .find(|s| s.meta.doc_id == doc_id)
            .and_then(|s| s.pages.get(lang))
            .map(|p| p.bytes.clone())
    }

    /// Full URL of a statement's canonical page on this site.
    pub fn page_url(&self, doc_id: &str, lang: &str) -> Option<String> {
        self.meta(doc_id)
            .map(|m| format!("{}{}", self.shared.base_url, m.canonical_path(lang)))
    }
}

fn find_page<'a>(state: &'a SiteState, doc_id: &str, lang: &str) -> &'a Page {
    state
        .statements
        .iter()
        .find(|s| s.meta.doc_id == doc_id)
        .and_then(|s| s.pages.get(lang))
        .unwrap_or_else(|| panic!("fixture site has no page {doc_id}/{lang}"))
}

fn find_page_mut<'a>(state: &'a mut SiteState, doc_id: &str, lang: &str) -> &'a mut Page {
    state
        .statements
        .iter_mut()
        .find(|s| s.meta.doc_id == doc_id)
        .and_then(|s| s.pages.get_mut(lang))
        .unwrap_or_else(|| panic!("fixture site has no page {doc_id}/{lang}"))
}

fn sort_newest_first(statements: &mut [Statement]) {
    statements.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| b.meta.doc_id.cmp(&a.meta.doc_id))
    });
}

fn now_secs() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_nanosecond(0).unwrap_or(now)
}

/// A time strictly later (by at least a second) than `previous`, and not before now, so that
/// `If-Modified-Since` (second resolution) sees every change.
fn bump(previous: DateTime<Utc>) -> DateTime<Utc> {
    now_secs().max(previous + chrono::Duration::seconds(1))
}

fn etag_of(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), bytes.len())
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn decode(bytes: &[u8], charset: &str) -> String {
    let encoding =
        encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    encoding.decode(bytes).0.into_owned()
}

fn encode(text: &str, charset: &str) -> Bytes {
    let encoding =
        encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    Bytes::from(encoding.encode(text).0.into_owned())
}

/// Text of the first substantial paragraph of the article body, for the feed's description.
fn first_paragraph(html: &str) -> Option<String> {
    let start = html.find("article-content")?;
    let mut rest = &html[start..];
    while let Some(i) = rest.find("<p") {
        rest = &rest[i + 2..];
        // `<p>` or `<p class=…>`, not `<param` etc.
        if !rest.starts_with('>') && !rest.starts_with(' ') {
            continue;
        }
        let open_end = rest.find('>').map(|i| i + 1).unwrap_or(0);
        let end = rest.find("</p>").unwrap_or(rest.len()).max(open_end);
        let text = strip_tags(&rest[open_end..end]);
        if text.chars().count() >= 40 {
            let short: String = text.chars().take(240).collect();
            return Some(if short.len() < text.len() {
                format!("{}…", short.trim_end())
            } else {
                short
            });
        }
    }
    None
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&laquo;", "«")
        .replace("&raquo;", "»")
        .replace("&mdash;", "—")
        .replace("&ndash;", "–")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

mod conn;
mod corpus;
mod files;
mod fmprc;
mod handler;
mod kremlin;
mod mid;
mod sources;
mod synthetic;

pub use sources::SourceSite;

use conn::{ConnHandle, KillableListener};
pub use corpus::{Corpus, CorpusError, Statement, StatementMeta};
use corpus::{Page, build_statement};
#[cfg(test)]
use corpus::{moscow_to_utc, parse_local};
use handler::{Resource, handle};
#[cfg(test)]
use mid::listing_date;
use mid::route;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_dates_follow_the_site() {
        let t = NaiveDate::from_ymd_opt(2023, 5, 5)
            .and_then(|d| d.and_hms_opt(15, 4, 0))
            .expect("valid");
        assert_eq!(listing_date("ru", t), "05.05.2023");
        assert_eq!(listing_date("en", t), "5 May 2023");
    }

    #[test]
    fn moscow_time_uses_the_tz_database() {
        let summer_2012 = parse_local("2012-07-01T12:00").expect("parses");
        assert_eq!(
            moscow_to_utc(summer_2012).map(|t| t.to_rfc3339()),
            Some("2012-07-01T08:00:00+00:00".to_string())
        );
        let now = parse_local("2024-07-18T14:30").expect("parses");
        assert_eq!(
            moscow_to_utc(now).map(|t| t.to_rfc3339()),
            Some("2024-07-18T11:30:00+00:00".to_string())
        );
    }

    #[test]
    fn http_dates_round_trip_through_if_modified_since() {
        let t = Utc
            .with_ymd_and_hms(2024, 7, 18, 11, 30, 0)
            .single()
            .expect("valid");
        let text = http_date(t);
        assert_eq!(text, "Thu, 18 Jul 2024 11:30:00 GMT");
        let parsed = DateTime::parse_from_rfc2822(&text).expect("parses");
        assert_eq!(parsed.with_timezone(&Utc), t);
    }

    #[test]
    fn first_paragraph_skips_chrome_and_short_lines() {
        let html = "<div class=\"menu\"><p>Menu item that is long enough to count here</p></div>\
            <div class=\"text article-content\"><p>&nbsp;</p><p><b>Question:</b> What do you think about the talks in Geneva this week?</p></div>";
        assert_eq!(
            first_paragraph(html).as_deref(),
            Some("Question: What do you think about the talks in Geneva this week?")
        );
    }

    #[test]
    fn large_synthetic_corpus_fits_one_listing_page_per_day() {
        for n in [1000, 5000, 12_000] {
            let corpus = Corpus::synthetic_with_held_back(n, 3);
            assert_eq!(corpus.len(), n + 3);
            let mut per_day: BTreeMap<(NaiveDate, &str), usize> = BTreeMap::new();
            let mut last_visible = NaiveDate::MIN;
            for s in corpus.statements.iter().filter(|s| s.visible) {
                last_visible = last_visible.max(s.published.date());
                for section in &s.meta.sections {
                    *per_day.entry((s.published.date(), section)).or_insert(0) += 1;
                }
            }
            let max = per_day.values().copied().max().unwrap_or(0);
            assert!(max <= LISTING_PAGE_SIZE, "n = {n}: {max} items on one day");
            let days = (last_visible - synthetic::first_day()).num_days() + 1;
            assert!(
                days <= Corpus::synthetic_days(n) as i64,
                "n = {n}: {days} days"
            );
            let held: Vec<&Statement> = corpus.statements.iter().filter(|s| !s.visible).collect();
            assert_eq!(held.len(), 3);
            assert!(held.iter().all(|s| s.published.date() > last_visible));
        }
        // Up to 3,650 statements the corpus stays within 2022, as before.
        assert_eq!(Corpus::synthetic_days(1000), 365);
    }

    #[test]
    fn synthetic_corpus_is_deterministic_and_varied() {
        let a = Corpus::synthetic(20);
        let b = Corpus::synthetic(20);
        assert_eq!(a.len(), 20);
        for (x, y) in a.statements.iter().zip(&b.statements) {
            assert_eq!(x.meta, y.meta);
            assert_eq!(x.pages["en"].bytes, y.pages["en"].bytes);
            assert_eq!(x.published.year(), 2022);
        }
        let kinds: std::collections::BTreeSet<&str> = a
            .statements
            .iter()
            .map(|s| s.meta.sections[0].as_str())
            .collect();
        assert!(kinds.len() >= 4, "{kinds:?}");
        let ru = String::from_utf8(a.statements[1].pages["ru"].bytes.to_vec()).expect("utf-8");
        assert!(ru.contains("<b>Вопрос:</b>"), "{ru}");
    }

    #[test]
    fn etags_differ_with_the_body() {
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
        assert!(etag_of(b"a").starts_with('"') && etag_of(b"a").ends_with('"'));
    }
}
