//! The fixture site: a local copy of mid.ru serving the bundled corpus (or a synthetic one)
//! in the site's markup, with held-back statements, edits, a request log and fault injection.
//!
//! Served paths: `/robots.txt`, `/{lang}/rss.php`, listings `/{lang}{section}` (20 items,
//! newest first, `?activeFrom=DD.MM.YYYY&activeTo=DD.MM.YYYY`, `?PAGEN_1=N`) and article pages
//! `/{lang}{section}{id}/` under every section a statement lists. Every response carries ETag
//! and Last-Modified and answers `If-None-Match` / `If-Modified-Since` with 304.

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

/// Errors met while loading a corpus directory.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}; check the corpus layout in tests/fixtures/README.md")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `meta.json` is not valid.
    #[error("{path} is not a valid meta.json: {reason}; see tests/fixtures/README.md")]
    Meta {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A statement's `meta.json`: what listings and the feed show about it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatementMeta {
    /// The site's numeric document id.
    pub doc_id: String,
    /// Moscow local date and time as the site shows it (`2024-07-18T14:30`).
    pub published: String,
    /// Section paths whose listings show it; the first is the canonical one.
    pub sections: Vec<String>,
    /// Title per language; each language here has a page.
    pub titles: BTreeMap<String, String>,
    /// Listing tags per language.
    #[serde(default)]
    pub tags: BTreeMap<String, Vec<String>>,
    /// Languages whose page bytes are in a charset other than UTF-8.
    #[serde(default)]
    pub charset: BTreeMap<String, String>,
    /// Whether the RSS feed lists it.
    #[serde(default = "yes")]
    pub in_feed: bool,
    /// Hidden until [`FixtureSite::release`].
    #[serde(default)]
    pub held_back: bool,
}

fn yes() -> bool {
    true
}

impl StatementMeta {
    /// The publication time, Moscow local (as listed).
    pub fn published_local(&self) -> Option<NaiveDateTime> {
        parse_local(&self.published)
    }

    /// The publication time in UTC (Moscow time through the tz database).
    pub fn published_utc(&self) -> Option<DateTime<Utc>> {
        self.published_local().and_then(moscow_to_utc)
    }

    /// The canonical path of a language version: `/{lang}{first section}{doc_id}/`.
    pub fn canonical_path(&self, lang: &str) -> String {
        let section = self.sections.first().map(String::as_str).unwrap_or("/");
        format!("/{lang}{section}{}/", self.doc_id)
    }
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text.trim(), f).ok())
}

fn moscow_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    chrono_tz::Europe::Moscow
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// One language version of a statement, as served.
#[derive(Debug, Clone)]
struct Page {
    bytes: Bytes,
    /// Charset label as served (`UTF-8`, `windows-1251`).
    charset: String,
    etag: String,
    last_modified: DateTime<Utc>,
    description: String,
}

impl Page {
    fn new(bytes: Bytes, charset: String, last_modified: DateTime<Utc>, title: &str) -> Page {
        let text = decode(&bytes, &charset);
        let description = first_paragraph(&text).unwrap_or_else(|| title.to_string());
        Page {
            etag: etag_of(&bytes),
            bytes,
            charset,
            last_modified,
            description,
        }
    }
}

/// A statement of the corpus with its pages.
#[derive(Debug, Clone)]
pub struct Statement {
    meta: StatementMeta,
    published: NaiveDateTime,
    published_utc: DateTime<Utc>,
    visible: bool,
    pages: BTreeMap<String, Page>,
}

impl Statement {
    /// Its `meta.json`.
    pub fn meta(&self) -> &StatementMeta {
        &self.meta
    }
}

/// A set of statements to serve.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    statements: Vec<Statement>,
    challenge: Option<Bytes>,
}

impl Corpus {
    /// Loads `dir` (`statements/{doc_id}/meta.json` + `{lang}.html`); the challenge page comes
    /// from `dir/../pages/challenge.html` when present.
    pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
        let statements_dir = dir.join("statements");
        let read_dir = |p: &Path| {
            std::fs::read_dir(p).map_err(|source| CorpusError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        let mut dirs: Vec<PathBuf> = read_dir(&statements_dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let mut statements = Vec::new();
        for dir in dirs {
            statements.push(load_statement(&dir)?);
        }
        let challenge = dir
            .parent()
            .map(|p| p.join("pages/challenge.html"))
            .and_then(|p| std::fs::read(p).ok())
            .map(Bytes::from);
        Ok(Corpus {
            statements,
            challenge,
        })
    }

    /// `n` generated statements (ids 3000000 and up, English and Russian), spread from
    /// 2022-01-01 over [`Corpus::synthetic_days`]`(n)` days (365 up to 3,650 statements, more
    /// beyond, so that no day listing of a section has more than about 12 items on average
    /// and none needs a second page).
    pub fn synthetic(n: usize) -> Corpus {
        Corpus {
            statements: (0..n).map(|i| synthetic::statement(i, n)).collect(),
            challenge: None,
        }
    }

    /// [`Corpus::synthetic`]`(n)` plus `held` held-back statements (ids following the visible
    /// ones), dated one per hour from 10:00 Moscow time on the day after the last visible
    /// statement, so that each is the newest item of its listings and feed once released.
    pub fn synthetic_with_held_back(n: usize, held: usize) -> Corpus {
        let mut corpus = Corpus::synthetic(n);
        let last_day = synthetic::first_day() + chrono::Duration::days(synthetic::days(n) as i64);
        corpus
            .statements
            .extend((0..held).map(|k| synthetic::held_back(n + k, last_day, k)));
        corpus
    }

    /// The number of days the `n` statements of [`Corpus::synthetic`] are spread over,
    /// starting on 2022-01-01.
    pub fn synthetic_days(n: usize) -> usize {
        synthetic::days(n)
    }

    /// The statement [`Corpus::synthetic`] generates as its `i`-th (id 3000000+i), published
    /// at `published` (Moscow local time) and held back: for sites that publish while serving
    /// ([`FixtureSite::add`]).
    pub fn generated_statement(i: usize, published: NaiveDateTime) -> Statement {
        synthetic::build(i, published, true)
    }

    /// Its statements (visible and held back).
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Adds the statements of `other` (ids must not collide).
    pub fn extend(&mut self, other: Corpus) {
        self.statements.extend(other.statements);
        if self.challenge.is_none() {
            self.challenge = other.challenge;
        }
    }

    /// Number of statements (visible or held back).
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether it has no statements.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

fn load_statement(dir: &Path) -> Result<Statement, CorpusError> {
    let meta_path = dir.join("meta.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|source| CorpusError::Read {
        path: meta_path.clone(),
        source,
    })?;
    let meta: StatementMeta = serde_json::from_str(&text).map_err(|e| CorpusError::Meta {
        path: meta_path.clone(),
        reason: e.to_string(),
    })?;
    let bad = |reason: String| CorpusError::Meta {
        path: meta_path.clone(),
        reason,
    };
    if meta.doc_id.is_empty() || !meta.doc_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("doc_id {:?} is not numeric", meta.doc_id)));
    }
    if meta.sections.is_empty() {
        return Err(bad("sections is empty".into()));
    }
    if let Some(s) = meta
        .sections
        .iter()
        .find(|s| !s.starts_with('/') || !s.ends_with('/'))
    {
        return Err(bad(format!("section {s:?} must start and end with '/'")));
    }
    let mut pages = BTreeMap::new();
    for (lang, title) in &meta.titles {
        let path = dir.join(format!("{lang}.html"));
        let bytes = std::fs::read(&path).map_err(|source| CorpusError::Read { path, source })?;
        let charset = meta
            .charset
            .get(lang)
            .cloned()
            .unwrap_or_else(|| "UTF-8".to_string());
        pages.insert(lang.clone(), (Bytes::from(bytes), charset, title.clone()));
    }
    build_statement(meta, pages).map_err(bad)
}

fn build_statement(
    meta: StatementMeta,
    pages: BTreeMap<String, (Bytes, String, String)>,
) -> Result<Statement, String> {
    let published = meta.published_local().ok_or_else(|| {
        format!(
            "published {:?} is not YYYY-MM-DDTHH:MM (Moscow time)",
            meta.published
        )
    })?;
    let published_utc = moscow_to_utc(published)
        .ok_or_else(|| format!("published {:?} does not exist in Moscow", meta.published))?;
    let pages = pages
        .into_iter()
        .map(|(lang, (bytes, charset, title))| {
            (lang, Page::new(bytes, charset, published_utc, &title))
        })
        .collect();
    Ok(Statement {
        visible: !meta.held_back,
        meta,
        published,
        published_utc,
        pages,
    })
}

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
    log_requests: bool,
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
                log_requests,
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

// ---------------------------------------------------------------------------------------------
// Connections that a handler can drop without answering (Fault::Reset).

/// Per-connection handle given to handlers as connect info.
#[derive(Debug, Clone)]
struct ConnHandle(Arc<AtomicBool>);

impl ConnHandle {
    fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct KillableListener(TcpListener);

struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> std::io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            // Close with RST rather than FIN, like a peer that resets the connection.
            let _ = self.inner.set_zero_linger();
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fixture site: injected connection reset",
            ));
        }
        Ok(())
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, _)) => {
                    let _ = inner.set_nodelay(true);
                    let killed = Arc::new(AtomicBool::new(false));
                    return (
                        KillableStream {
                            inner,
                            killed: killed.clone(),
                        },
                        ConnHandle(killed),
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "fixture site: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(ConnHandle(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling.

/// A resource ready to serve, before conditional-request handling.
struct Resource {
    status: StatusCode,
    content_type: String,
    body: Bytes,
    etag: String,
    last_modified: DateTime<Utc>,
}

impl Resource {
    fn generated(content_type: &str, body: String, last_modified: DateTime<Utc>) -> Resource {
        let body = Bytes::from(body);
        Resource {
            status: StatusCode::OK,
            content_type: content_type.to_string(),
            etag: etag_of(&body),
            body,
            last_modified,
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let path_q = uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut logged = LoggedRequest {
        method: method.to_string(),
        path: path_q.clone(),
        status: 0,
        if_none_match: header_text(header::IF_NONE_MATCH),
        if_modified_since: header_text(header::IF_MODIFIED_SINCE),
        user_agent: header_text(header::USER_AGENT),
    };

    let fault = {
        let mut state = shared.lock();
        let rule = state
            .faults
            .iter_mut()
            .find(|r| r.remaining > 0 && path_q.starts_with(&r.prefix));
        rule.map(|r| {
            r.remaining -= 1;
            r.fault.clone()
        })
    };

    let response = match fault {
        Some(Fault::Reset) => {
            conn.kill();
            record(&shared, logged);
            // Never written: the connection fails on the first write.
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "reset");
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n");
            set_header(&mut r, header::RETRY_AFTER, &retry_after_secs.to_string());
            r
        }
        Some(Fault::Unavailable { retry_after_secs }) => {
            let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n");
            set_header(&mut r, header::RETRY_AFTER, &retry_after_secs.to_string());
            r
        }
        Some(Fault::Redirect(location)) => {
            let mut r = plain(StatusCode::FOUND, "Found\n");
            set_header(&mut r, header::LOCATION, &location);
            r
        }
        Some(Fault::Challenge) => {
            let body = shared.lock().challenge.clone();
            let resource = Resource {
                status: StatusCode::OK,
                content_type: "text/html; charset=UTF-8".into(),
                etag: etag_of(&body),
                body,
                last_modified: now_secs(),
            };
            finish(resource, &method, &headers, false)
        }
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            serve_path(&shared, &method, uri.path(), uri.query(), &headers)
        }
        None => serve_path(&shared, &method, uri.path(), uri.query(), &headers),
    };
    logged.status = response.status().as_u16();
    record(&shared, logged);
    response
}

fn record(shared: &Shared, logged: LoggedRequest) {
    let mut state = shared.lock();
    if state.log_requests {
        tracing::info!(
            method = %logged.method,
            path = %logged.path,
            status = logged.status,
            user_agent = logged.user_agent.as_deref().unwrap_or("-"),
            "request"
        );
    }
    state.requests.push(logged);
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    set_header(&mut r, header::CONTENT_TYPE, "text/plain; charset=UTF-8");
    r
}

fn set_header(r: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

fn serve_path(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        set_header(&mut r, header::ALLOW, "GET, HEAD");
        return r;
    }
    let resource = {
        let state = shared.lock();
        // Absolute links (the feed) use the host the client asked for, so that the site
        // works behind any name (`http://fixture-site:8700` in compose); else the bound address.
        let base_url = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            })
            .map(|h| format!("http://{h}"))
            .unwrap_or_else(|| shared.base_url.clone());
        route(&state, &base_url, path, query)
    };
    let resource = resource.unwrap_or_else(|| {
        let mut r = Resource::generated(
            "text/html; charset=UTF-8",
            "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Страница не найдена</h1></body></html>\n".into(),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        r.status = StatusCode::NOT_FOUND;
        r
    });
    finish(resource, method, headers, true)
}

fn finish(resource: Resource, method: &Method, headers: &HeaderMap, conditional: bool) -> Response {
    let not_modified =
        conditional && resource.status == StatusCode::OK && is_not_modified(&resource, headers);
    let mut r = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(resource.body.clone())
        };
        let mut r = Response::new(body);
        *r.status_mut() = resource.status;
        set_header(&mut r, header::CONTENT_TYPE, &resource.content_type);
        if method == Method::HEAD {
            set_header(
                &mut r,
                header::CONTENT_LENGTH,
                &resource.body.len().to_string(),
            );
        }
        r
    };
    set_header(&mut r, header::ETAG, &resource.etag);
    set_header(
        &mut r,
        header::LAST_MODIFIED,
        &http_date(resource.last_modified),
    );
    set_header(&mut r, header::CACHE_CONTROL, "no-cache");
    r
}

fn is_not_modified(resource: &Resource, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').map(str::trim).any(|tag| {
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == resource.etag.as_str()
        });
    }
    if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
    {
        return resource.last_modified <= ims.with_timezone(&Utc);
    }
    false
}

fn route(state: &SiteState, base_url: &str, path: &str, query: Option<&str>) -> Option<Resource> {
    if path == "/robots.txt" {
        return Some(Resource::generated(
            "text/plain; charset=UTF-8",
            ROBOTS.to_string(),
            DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(19_000),
        ));
    }
    let rest = path.strip_prefix('/')?;
    let (lang, rest) = rest.split_once('/')?;
    if !LANGS.contains(&lang) {
        return None;
    }
    let rest = format!("/{rest}");
    if rest == "/rss.php" {
        return Some(feed(state, base_url, lang));
    }
    let with_slash = if rest.ends_with('/') {
        rest
    } else {
        format!("{rest}/")
    };
    if is_listing_section(state, &with_slash) {
        return Some(listing(state, lang, &with_slash, query));
    }
    // Article: {section}{id}/
    let trimmed = with_slash.trim_end_matches('/');
    let (section, id) = trimmed.rsplit_once('/')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let section = format!("{section}/");
    let statement = state
        .statements
        .iter()
        .find(|s| s.visible && s.meta.doc_id == id && s.meta.sections.contains(&section))?;
    let page = statement.pages.get(lang)?;
    Some(Resource {
        status: StatusCode::OK,
        content_type: format!("text/html; charset={}", page.charset),
        body: page.bytes.clone(),
        etag: page.etag.clone(),
        last_modified: page.last_modified,
    })
}

fn is_listing_section(state: &SiteState, section: &str) -> bool {
    SECTIONS.contains(&section)
        || state
            .statements
            .iter()
            .any(|s| s.meta.sections.iter().any(|x| x == section))
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn parse_ru_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%d.%m.%Y").ok()
}

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Listing date: `05.05.2023` (Russian) or `5 May 2023` (other languages).
fn listing_date(lang: &str, t: NaiveDateTime) -> String {
    if lang == "ru" {
        t.format("%d.%m.%Y").to_string()
    } else {
        let month = EN_MONTHS[t.month0() as usize];
        format!("{} {month} {}", t.day(), t.year())
    }
}

fn listing(state: &SiteState, lang: &str, section: &str, query: Option<&str>) -> Resource {
    let from = query_param(query, "activeFrom").and_then(parse_ru_date);
    let to = query_param(query, "activeTo").and_then(parse_ru_date);
    let page_no: usize = query_param(query, "PAGEN_1")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let matching: Vec<&Statement> = state
        .statements
        .iter()
        .filter(|s| s.visible && s.pages.contains_key(lang))
        .filter(|s| s.meta.sections.iter().any(|x| x == section))
        .filter(|s| from.is_none_or(|d| s.published.date() >= d))
        .filter(|s| to.is_none_or(|d| s.published.date() <= d))
        .collect();
    let pages = matching.len().div_ceil(LISTING_PAGE_SIZE).max(1);
    let items = matching
        .iter()
        .skip((page_no - 1) * LISTING_PAGE_SIZE)
        .take(LISTING_PAGE_SIZE);
    let link_class = if lang == "en" {
        "announce__link announce__link_fix_en"
    } else {
        "announce__link"
    };
    let mut html = String::new();
    html.push_str(&page_head(lang, section_title(lang, section)));
    html.push_str(&format!(
        "<main class=\"main\">\n<div class=\"page-body\">\n<h1 class=\"page-title\">{}</h1>\n<ul class=\"announce announce_articles\">\n",
        escape(section_title(lang, section))
    ));
    for s in items {
        let title = s.meta.titles.get(lang).map(String::as_str).unwrap_or("");
        let tags = s
            .meta
            .tags
            .get(lang)
            .map(|t| t.join(", "))
            .unwrap_or_default();
        html.push_str(&format!(
            "  <li class=\"announce__item\">\n    <div class=\"announce__date-wrap\"><span class=\"announce__date\">{date}</span> <span class=\"announce__time\">{time}</span></div>\n    <a class=\"{link_class}\" href=\"/{lang}{section}{id}/\">{title}</a>\n    <div class=\"announce__meta-tags\">{tags}</div>\n  </li>\n",
            date = listing_date(lang, s.published),
            time = s.published.format("%H:%M"),
            id = s.meta.doc_id,
            title = escape(title),
            tags = escape(&tags),
        ));
    }
    html.push_str("</ul>\n");
    if pages > 1 {
        html.push_str("<div class=\"pagination\">");
        for p in 1..=pages {
            html.push_str(&format!(
                "<a class=\"pagination__item\" href=\"/{lang}{section}?PAGEN_1={p}\">{p}</a> "
            ));
        }
        html.push_str("</div>\n");
    }
    html.push_str("</div>\n</main>\n");
    html.push_str(PAGE_FOOT);
    Resource::generated("text/html; charset=UTF-8", html, state.changed_at)
}

fn section_title(lang: &str, section: &str) -> &'static str {
    let ru = lang == "ru";
    match section {
        "/press_service/minister_speeches/" if ru => "Выступления Министра",
        "/press_service/minister_speeches/" => "Minister's speeches",
        "/press_service/deputy_ministers_speeches/" if ru => "Выступления заместителей Министра",
        "/press_service/deputy_ministers_speeches/" => "Deputy ministers' speeches",
        "/press_service/spokesman/briefings/" if ru => "Брифинги официального представителя",
        "/press_service/spokesman/briefings/" => "Briefings",
        "/press_service/spokesman/answers/" if ru => "Ответы на вопросы СМИ",
        "/press_service/spokesman/answers/" => "Answers to media questions",
        "/press_service/spokesman/official_statement/" if ru => "Официальные заявления",
        "/press_service/spokesman/official_statement/" => "Official statements",
        "/foreign_policy/news/" if ru => "Новости",
        "/foreign_policy/news/" => "News",
        _ if ru => "Комментарии",
        _ => "Comments",
    }
}

fn page_head(lang: &str, title: &str) -> String {
    let (search, langs) = if lang == "ru" {
        ("Расширенный поиск", "EN RU DE FR ES PT")
    } else {
        ("Advanced settings", "EN RU DE FR ES PT")
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} - Министерство иностранных дел Российской Федерации</title>\n</head>\n<body>\n<header class=\"header\"><nav class=\"menu\"><a href=\"/{lang}/\">MID</a></nav><div class=\"lang-switcher\">{langs}</div><div class=\"search\">{search}</div></header>\n",
        escape(title)
    )
}

const PAGE_FOOT: &str = "<footer class=\"footer\">© Министерство иностранных дел Российской Федерации</footer>\n</body>\n</html>\n";

fn feed(state: &SiteState, base_url: &str, lang: &str) -> Resource {
    let moscow = chrono_tz::Europe::Moscow;
    let channel = if lang == "ru" {
        "Министерство иностранных дел Российской Федерации"
    } else {
        "The Ministry of Foreign Affairs of the Russian Federation"
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n<channel>\n<title>{channel}</title>\n<link>{base_url}/{lang}/</link>\n<description>{channel}</description>\n<language>{lang}</language>\n<lastBuildDate>{}</lastBuildDate>\n",
        state.changed_at.with_timezone(&moscow).to_rfc2822()
    );
    let items = state
        .statements
        .iter()
        .filter(|s| s.visible && s.meta.in_feed)
        .filter_map(|s| s.pages.get(lang).map(|p| (s, p)))
        .take(FEED_SIZE);
    for (s, page) in items {
        let link = format!("{base_url}{}", s.meta.canonical_path(lang));
        let title = s.meta.titles.get(lang).map(String::as_str).unwrap_or("");
        xml.push_str(&format!(
            "<item>\n<title>{}</title>\n<link>{link}</link>\n<description>{}</description>\n<pubDate>{}</pubDate>\n<guid>{link}</guid>\n</item>\n",
            escape(title),
            escape(&page.description),
            s.published_utc.with_timezone(&moscow).to_rfc2822(),
        ));
    }
    xml.push_str("</channel>\n</rss>\n");
    Resource::generated("application/rss+xml; charset=UTF-8", xml, state.changed_at)
}

// ---------------------------------------------------------------------------------------------
// Synthetic corpus.

mod synthetic {
    use super::*;

    use crate::rng::Rng;

    const PLACES_EN: [&str; 6] = [
        "Moscow",
        "New Delhi",
        "Beijing",
        "Ankara",
        "Geneva",
        "Astana",
    ];
    const PLACES_RU: [&str; 6] = ["Москва", "Нью-Дели", "Пекин", "Анкара", "Женева", "Астана"];
    const TOPICS_EN: [&str; 6] = [
        "the situation in the Middle East",
        "strategic stability",
        "cooperation within the SCO",
        "the grain deal",
        "the work of the UN Security Council",
        "visa facilitation",
    ];
    const TOPICS_RU: [&str; 6] = [
        "ситуации на Ближнем Востоке",
        "стратегической стабильности",
        "сотрудничестве в рамках ШОС",
        "зерновой сделке",
        "работе Совета Безопасности ООН",
        "упрощении визового режима",
    ];
    const RU_MONTHS: [&str; 12] = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ];
    const SENTENCES_EN: [&str; 10] = [
        "We have discussed the full range of bilateral relations and agreed to continue regular contacts.",
        "Our countries share the view that disputes must be settled by political and diplomatic means.",
        "The parties noted the steady growth of trade and the use of national currencies in settlements.",
        "We reaffirmed our commitment to the principles of the UN Charter in their entirety.",
        "Attempts to impose unilateral approaches only make the situation worse.",
        "We are ready to work with all partners who are interested in an equal dialogue.",
        "Particular attention was paid to cooperation in education, culture and science.",
        "The ministers exchanged views on preparations for the upcoming summit.",
        "We will continue to coordinate our positions at international platforms.",
        "I would like to thank our hosts for their hospitality and the excellent organisation.",
    ];
    const SENTENCES_RU: [&str; 10] = [
        "Мы обсудили весь спектр двусторонних отношений и договорились продолжать регулярные контакты.",
        "Наши страны разделяют мнение, что споры должны решаться политико-дипломатическими средствами.",
        "Стороны отметили устойчивый рост товарооборота и расчётов в национальных валютах.",
        "Мы подтвердили приверженность принципам Устава ООН во всей их полноте.",
        "Попытки навязать односторонние подходы лишь усугубляют ситуацию.",
        "Мы готовы работать со всеми партнёрами, которые заинтересованы в равноправном диалоге.",
        "Особое внимание было уделено сотрудничеству в сфере образования, культуры и науки.",
        "Министры обменялись мнениями о подготовке к предстоящему саммиту.",
        "Мы продолжим координировать позиции на международных площадках.",
        "Хотел бы поблагодарить хозяев за гостеприимство и прекрасную организацию.",
    ];
    const QUESTIONS_EN: [&str; 4] = [
        "How do you assess the prospects for a settlement?",
        "What will be the main topic of the next round of talks?",
        "Is Moscow ready to resume the dialogue?",
        "Could you comment on the latest statements by Western officials?",
    ];
    const QUESTIONS_RU: [&str; 4] = [
        "Как Вы оцениваете перспективы урегулирования?",
        "Какой будет главная тема следующего раунда переговоров?",
        "Готова ли Москва возобновить диалог?",
        "Не могли бы Вы прокомментировать последние заявления западных официальных лиц?",
    ];

    /// The first day of the synthetic corpus.
    pub(super) fn first_day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default()
    }

    /// Days the `n` statements are spread over: 365 (a year) up to 3,650 statements, then
    /// one day per 10 statements (the "all news" day listing then averages 10 items, well
    /// under the 20 of one listing page).
    pub(super) fn days(n: usize) -> usize {
        n.div_ceil(10).max(365)
    }

    /// The `i`-th synthetic statement of `n`: id 3000000+i, dated within the first
    /// [`days`]`(n)` days from 2022-01-01 (within 2022 for n ≤ 3,650).
    pub(super) fn statement(i: usize, n: usize) -> Statement {
        let start = first_day().and_hms_opt(9, 0, 0).unwrap_or_default();
        // Spread over the days, with minutes so that ids are not in date order everywhere.
        let span = days(n) as i64 * 24 * 60 - 600;
        let minutes = (i as i64 * 7919) % span;
        build(i, start + chrono::Duration::minutes(minutes), false)
    }

    /// The `k`-th held-back statement (index `i`, after the visible ones), on `day`.
    pub(super) fn held_back(i: usize, day: NaiveDate, k: usize) -> Statement {
        let start = day.and_hms_opt(10, 0, 0).unwrap_or_default();
        build(i, start + chrono::Duration::minutes(60 * k as i64), true)
    }

    pub(super) fn build(i: usize, published: NaiveDateTime, held_back: bool) -> Statement {
        let mut rng = Rng::new(i as u64);
        let doc_id = (3_000_000 + i).to_string();
        let place = rng.next(PLACES_EN.len());
        let topic = rng.next(TOPICS_EN.len());
        let en_date = format!(
            "{} {}, {}",
            EN_MONTHS[published.month0() as usize],
            published.day(),
            published.year()
        );
        let ru_date = format!(
            "{} {} {} года",
            published.day(),
            RU_MONTHS[published.month0() as usize],
            published.year()
        );
        let variant = i % 5;
        let (section, en_title, ru_title, qa, speaker_en, speaker_ru) = match variant {
            0 => (
                "/press_service/minister_speeches/",
                format!(
                    "Foreign Minister Sergey Lavrov's remarks at talks on {}, {}, {en_date}",
                    TOPICS_EN[topic], PLACES_EN[place]
                ),
                format!(
                    "Выступление Министра иностранных дел Российской Федерации С.В.Лаврова на переговорах о {}, {}, {ru_date}",
                    TOPICS_RU[topic], PLACES_RU[place]
                ),
                false,
                "Sergey Lavrov:",
                "С.В.Лавров:",
            ),
            1 => (
                "/press_service/minister_speeches/",
                format!(
                    "Foreign Minister Sergey Lavrov's statement and answers to media questions at a news conference, {}, {en_date}",
                    PLACES_EN[place]
                ),
                format!(
                    "Выступление и ответы на вопросы СМИ Министра иностранных дел Российской Федерации С.В.Лаврова в ходе пресс-конференции, {}, {ru_date}",
                    PLACES_RU[place]
                ),
                true,
                "Sergey Lavrov:",
                "С.В.Лавров:",
            ),
            2 => (
                "/press_service/spokesman/briefings/",
                format!(
                    "Briefing by Foreign Ministry Spokeswoman Maria Zakharova, Moscow, {en_date}"
                ),
                format!(
                    "Брифинг официального представителя МИД России М.В.Захаровой, Москва, {ru_date}"
                ),
                true,
                "Maria Zakharova:",
                "М.В.Захарова:",
            ),
            3 => (
                "/press_service/spokesman/official_statement/",
                format!("Foreign Ministry statement on {}", TOPICS_EN[topic]),
                format!("Заявление МИД России о {}", TOPICS_RU[topic]),
                false,
                "",
                "",
            ),
            _ => (
                "/foreign_policy/news/",
                format!("Press release on {}", TOPICS_EN[topic]),
                format!("О {}", TOPICS_RU[topic]),
                false,
                "",
                "",
            ),
        };
        let mut sections = vec![section.to_string()];
        if section != "/foreign_policy/news/" {
            sections.push("/foreign_policy/news/".to_string());
        }
        let paragraphs = 3 + rng.next(6);
        let mut en_body = Vec::new();
        let mut ru_body = Vec::new();
        for p in 0..paragraphs {
            let n = 1 + rng.next(3);
            let picks: Vec<usize> = (0..n).map(|_| rng.next(SENTENCES_EN.len())).collect();
            let en: Vec<&str> = picks.iter().map(|&k| SENTENCES_EN[k]).collect();
            let ru: Vec<&str> = picks.iter().map(|&k| SENTENCES_RU[k]).collect();
            if qa && p > 0 {
                let q = rng.next(QUESTIONS_EN.len());
                en_body.push(format!("<p><b>Question:</b> {}</p>", QUESTIONS_EN[q]));
                ru_body.push(format!("<p><b>Вопрос:</b> {}</p>", QUESTIONS_RU[q]));
                en_body.push(format!("<p><b>{speaker_en}</b> {}</p>", en.join(" ")));
                ru_body.push(format!("<p><b>{speaker_ru}</b> {}</p>", ru.join(" ")));
            } else {
                en_body.push(format!("<p>{}</p>", en.join(" ")));
                ru_body.push(format!("<p>{}</p>", ru.join(" ")));
            }
        }
        let number = format!("{}-{}", 1000 + rng.next(1000), published.format("%d-%m-%Y"));
        let tags_en = if speaker_en.is_empty() {
            vec![]
        } else {
            vec![speaker_en.trim_end_matches(':').to_string()]
        };
        let tags_ru = if speaker_ru.is_empty() {
            vec![]
        } else {
            vec![speaker_ru.trim_end_matches(':').to_string()]
        };
        let meta = StatementMeta {
            doc_id: doc_id.clone(),
            published: published.format("%Y-%m-%dT%H:%M").to_string(),
            sections,
            titles: BTreeMap::from([
                ("en".to_string(), en_title.clone()),
                ("ru".to_string(), ru_title.clone()),
            ]),
            tags: BTreeMap::from([("en".to_string(), tags_en), ("ru".to_string(), tags_ru)]),
            charset: BTreeMap::new(),
            in_feed: true,
            held_back,
        };
        let en_page = article("en", &meta, &en_title, published, &en_body, &number);
        let ru_page = article("ru", &meta, &ru_title, published, &ru_body, &number);
        let pages = BTreeMap::from([
            (
                "en".to_string(),
                (Bytes::from(en_page), "UTF-8".to_string(), en_title),
            ),
            (
                "ru".to_string(),
                (Bytes::from(ru_page), "UTF-8".to_string(), ru_title),
            ),
        ]);
        // The generated meta is always valid.
        build_statement(meta, pages).unwrap_or_else(|e| panic!("synthetic statement {i}: {e}"))
    }

    fn article(
        lang: &str,
        meta: &StatementMeta,
        title: &str,
        published: NaiveDateTime,
        body: &[String],
        number: &str,
    ) -> String {
        let path = meta.canonical_path(lang);
        let other = if lang == "en" { "ru" } else { "en" };
        let (photos, more) = if lang == "ru" {
            ("1 из 1 фотографий в альбоме", "Дополнительные материалы")
        } else {
            ("1 of 1 photos in album", "Additional materials")
        };
        let mut html = page_head(lang, title);
        html = html.replacen(
            "</head>",
            &format!(
                "<link rel=\"canonical\" href=\"https://mid.ru{path}\">\n<meta property=\"og:url\" content=\"https://mid.ru{path}\">\n<link rel=\"alternate\" hreflang=\"{other}\" href=\"https://mid.ru{}\">\n</head>",
                meta.canonical_path(other)
            ),
            1,
        );
        html.push_str(&format!(
            "<div class=\"breadcrumbs\"><a href=\"/{lang}/\">MID</a></div>\n<main class=\"main\">\n<div class=\"photo-content\">\n<h1 class=\"photo-content__title\">{}</h1>\n<div class=\"photo-content__date\">{} <span class=\"photo-content__time\">{}</span></div>\n<div class=\"photo-gallery\">{photos}</div>\n<div class=\"text article-content\">\n{}\n<p class=\"article-line__note article-line__note_small\">{number}</p>\n</div>\n<div class=\"share\">Share</div>\n<div class=\"additional-materials\">{more}</div>\n</div>\n</main>\n",
            escape(title),
            listing_date(lang, published),
            published.format("%H:%M"),
            body.join("\n"),
        ));
        html.push_str(PAGE_FOOT);
        html
    }
}

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
