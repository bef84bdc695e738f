//! Storage of speech records: one [`Store`] trait, two implementations ([`SqliteStore`],
//! [`PgStore`]) and [`AnyStore`], the one selected by `DATABASE_URL`.
//!
//! Both stores keep the latest version of each record (full JSON plus the columns the API
//! filters on) and every version ever stored. Writing is idempotent: the same id with the same
//! `content_hash` is a no-op, a new `content_hash` for a known id is a new version.

mod postgres;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use shared::backoff::Backoff;
use shared::{Kind, Lang, SpeechRecord};
use tokio_util::sync::CancellationToken;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The default `DATABASE_URL`: an SQLite file created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/speeches.db";
/// Largest page the list endpoint serves.
pub const MAX_LIMIT: u32 = 500;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// A search ranks this many of its newest matches by relevance; older matches follow, newest
/// first. Finding and ranking them reads each candidate's search vector (~4 KB), so a bounded
/// window keeps a search for a common word (half of a large archive) about as fast as one for
/// a rare word: 200 is four pages of the web interface (1,000 took 190 ms on PostgreSQL for a
/// common word at 300,000 records, 200 took 50 ms).
pub const SEARCH_RANK_WINDOW: u64 = 200;

/// Errors of the stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error(
        "DATABASE_URL {0:?} is not supported: use sqlite://PATH (e.g. sqlite://./data/speeches.db) or postgres://USER@HOST:PORT/DB"
    )]
    BadUrl(String),
    /// The SQLite file's directory cannot be created.
    #[error(
        "cannot create the directory {path} for the SQLite database: {source}; choose another path in DATABASE_URL or fix its permissions"
    )]
    CreateDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A certificate or key file named in the PostgreSQL URL cannot be read.
    #[error(
        "cannot read the TLS file {param}={path} (DATABASE_URL or PGSSL* variables): {source}; check the path and that this user may read it"
    )]
    TlsFile {
        /// The libpq parameter (`sslrootcert`, `sslcert`, `sslkey`).
        param: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database cannot be opened or reached.
    #[error("cannot connect to the database {url}: {source}; {}", connect_hint(.source))]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The schema migrations failed.
    #[error(
        "database migrations failed: {0}; the schema was changed by hand or by a newer sink: restore it or use a fresh database"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A record could not be encoded or a stored one decoded.
    #[error("record JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    /// Whether retrying later may succeed (the database is unreachable, busy or restarting),
    /// as opposed to an error that the same input will meet again.
    pub fn is_transient(&self) -> bool {
        match self {
            // A server whose certificate fails verification, or that offers no TLS where the
            // URL demands it, will not change by waiting: the sink stops with the reason.
            StoreError::Connect { source, .. } => {
                !is_tls_refusal(source) && sqlx_error_is_transient(source)
            }
            StoreError::Query(source) => sqlx_error_is_transient(source),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => {
                sqlx_error_is_transient(source)
            }
            _ => false,
        }
    }
}

/// Whether connecting failed in TLS: the server's certificate did not verify (unknown CA,
/// wrong host name, expired) or the server offers no TLS where `sslmode` demands it.
fn is_tls_refusal(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
}

/// What to check after a failed connection.
fn connect_hint(err: &sqlx::Error) -> &'static str {
    if is_tls_refusal(err) {
        "TLS failed: check sslrootcert (in DATABASE_URL or PGSSLROOTCERT: the CA that signed the server's certificate), \
         that the URL's host is named in the certificate, and that the server has TLS on; \
         with sslmode=verify-full there is no plaintext fallback"
    } else {
        "check DATABASE_URL and that the database server runs"
    }
}

fn sqlx_error_is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // PostgreSQL: connection exceptions (08), insufficient resources (53), operator
            // intervention (57), serialization failure, deadlock, and a unique violation
            // from a concurrent writer (retrying sees its row). SQLite: BUSY (5), LOCKED (6),
            // IOERR (10), FULL (13), CANTOPEN (14), and their extended codes.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "40001"
                || code == "40P01"
                || code == "23505"
                || code
                    .parse::<i64>()
                    .map(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14))
                    .unwrap_or(false)
        }
        _ => false,
    }
}

/// What storing one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// The id was new.
    Inserted,
    /// The id was known with other content: a new version was stored and is now served.
    NewVersion,
    /// The id was known with this content (a redelivery): nothing changed.
    Unchanged,
}

/// Where a page of results continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After the record with this sort key and id (newest-first listings).
    After {
        /// Sort key of the last record served, microseconds since the epoch.
        published_us: i64,
        /// Id of the last record served.
        id: String,
    },
    /// After this many results (ranked search results).
    Offset(u64),
}

/// Why a cursor was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor: {0}; pass back the next_cursor of a previous response unchanged")]
pub struct CursorError(&'static str);

impl Cursor {
    /// The opaque form handed to clients (URL-safe base64).
    pub fn encode(&self) -> String {
        let plain = match self {
            Cursor::After { published_us, id } => format!("t:{published_us}:{id}"),
            Cursor::Offset(offset) => format!("o:{offset}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
    }

    /// Parses a cursor a client sent back.
    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        if text.is_empty() || text.len() > 1024 {
            return Err(CursorError("it is empty or too long"));
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError("it is not URL-safe base64"))?;
        let plain = String::from_utf8(bytes).map_err(|_| CursorError("it is not text"))?;
        if let Some(rest) = plain.strip_prefix("t:") {
            let (us, id) = rest
                .split_once(':')
                .ok_or(CursorError("its position is malformed"))?;
            let published_us = us
                .parse::<i64>()
                .map_err(|_| CursorError("its position is malformed"))?;
            if id.is_empty() || id.chars().any(char::is_control) {
                return Err(CursorError("its record id is malformed"));
            }
            Ok(Cursor::After {
                published_us,
                id: id.to_string(),
            })
        } else if let Some(rest) = plain.strip_prefix("o:") {
            let offset = rest
                .parse::<u64>()
                .map_err(|_| CursorError("its offset is malformed"))?;
            if offset > 10_000_000 {
                return Err(CursorError("its offset is out of range"));
            }
            Ok(Cursor::Offset(offset))
        } else {
            Err(CursorError("it was not issued by this API"))
        }
    }
}

/// A validated listing query. Build it with [`crate::params`] from untrusted input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Only this source (`kremlin.ru`).
    pub source: Option<String>,
    /// Only this language.
    pub lang: Option<Lang>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records with a speaker whose name contains this (case-insensitive).
    pub speaker: Option<String>,
    /// Published at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Published strictly before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Full-text search (web-search syntax: words, "phrases", OR, -word).
    pub q: Option<String>,
    /// Page size, 1..=[`MAX_LIMIT`].
    pub limit: u32,
    /// Where to continue.
    pub cursor: Option<Cursor>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            source: None,
            lang: None,
            kind: None,
            speaker: None,
            since: None,
            until: None,
            q: None,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// One listed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The record's id.
    pub id: String,
    /// The record's full JSON.
    pub record: String,
    /// With `q`: an excerpt with the matches between `<mark>` and `</mark>`.
    pub snippet: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records, newest first (or best first with `q`).
    pub items: Vec<Hit>,
    /// Where the next page starts, `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// One stored version of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionEntry {
    /// 1 for the first version stored.
    pub version: i64,
    /// The version's content hash.
    pub content_hash: String,
    /// When the sink stored it.
    pub stored_at: DateTime<Utc>,
    /// The version's full JSON.
    pub record: String,
}

/// One stored version, numbered in the order the versions were stored (a durable,
/// monotonic sequence: the `id:` of `GET /v1/events`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the sequence, from 1.
    pub seq: i64,
    /// The record's version (1 for the first).
    pub version: i64,
    /// The version's full JSON.
    pub record: String,
}

/// The storage operations of the sink.
pub trait Store: Send + Sync {
    /// Stores `records`; one outcome per record, in order. Every version of one id is written
    /// in one transaction; a store may split a batch by id over transactions written at once,
    /// so a failed call may have stored some ids, which its retry then finds unchanged.
    fn store_batch(
        &self,
        records: &[SpeechRecord],
    ) -> impl Future<Output = Result<Vec<StoreOutcome>, StoreError>> + Send;
    /// The latest version's JSON of record `id`.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// The latest versions' JSON of the records `ids`, in that order (`None` for an id that
    /// is not stored).
    fn records(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Option<String>>, StoreError>> + Send;
    /// A page of records matching `query`.
    fn list(&self, query: &Query) -> impl Future<Output = Result<Page, StoreError>> + Send;
    /// How many records match `query` (its cursor and limit aside): the number of search
    /// results.
    fn count(&self, query: &Query) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Every version of record `id`, oldest first (empty when unknown).
    fn versions(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<VersionEntry>, StoreError>> + Send;
    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Versions stored after event `after`, oldest first, at most `limit`: what
    /// `GET /v1/events` streams.
    fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;
    /// The sequence number of the last stored version (0 when nothing is stored).
    fn last_event(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

/// The store selected by `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`) and runs the
    /// migrations.
    pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(AnyStore::Sqlite(SqliteStore::open_url(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PgStore::open(url).await?))
        } else {
            Err(StoreError::BadUrl(redact_url(url)))
        }
    }

    /// Like [`AnyStore::open`], but while the database is unreachable keeps retrying with
    /// backoff, logging what it waits for. Returns `None` when `shutdown` fires first.
    pub async fn open_with_retry(
        url: &str,
        shutdown: &CancellationToken,
    ) -> Result<Option<AnyStore>, StoreError> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        loop {
            let attempt = tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                attempt = AnyStore::open(url) => attempt,
            };
            match attempt {
                Ok(store) => return Ok(Some(store)),
                Err(err) if err.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(database = %redact_url(url), error = %err, retry_in = ?delay, "waiting for the database: cannot open it yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Which database this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl Store for AnyStore {
    async fn store_batch(&self, records: &[SpeechRecord]) -> Result<Vec<StoreOutcome>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.store_batch(records).await,
            AnyStore::Postgres(s) => s.store_batch(records).await,
        }
    }

    async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.get(id).await,
            AnyStore::Postgres(s) => s.get(id).await,
        }
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.records(ids).await,
            AnyStore::Postgres(s) => s.records(ids).await,
        }
    }

    async fn list(&self, query: &Query) -> Result<Page, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.list(query).await,
            AnyStore::Postgres(s) => s.list(query).await,
        }
    }

    async fn count(&self, query: &Query) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.count(query).await,
            AnyStore::Postgres(s) => s.count(query).await,
        }
    }

    async fn versions(&self, id: &str) -> Result<Vec<VersionEntry>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.versions(id).await,
            AnyStore::Postgres(s) => s.versions(id).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.ping().await,
            AnyStore::Postgres(s) => s.ping().await,
        }
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.events_after(after, limit).await,
            AnyStore::Postgres(s) => s.events_after(after, limit).await,
        }
    }

    async fn last_event(&self) -> Result<i64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.last_event().await,
            AnyStore::Postgres(s) => s.last_event().await,
        }
    }
}

pub use shared::config::redact_url;

// ---------------------------------------------------------------------------------------
// Pure helpers shared by both stores.

/// The columns derived from a record.
#[derive(Debug, Clone)]
pub(crate) struct Row<'a> {
    pub record: &'a SpeechRecord,
    pub version: i64,
    pub json: String,
    pub published_us: i64,
    pub speakers_json: String,
    pub body_text: String,
}

/// What a batch writes: every new version, and the latest row per id.
#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    pub outcomes: Vec<StoreOutcome>,
    pub versions: Vec<Row<'a>>,
    /// Indexes into `versions`: the last version of each id in the batch.
    pub latest: Vec<usize>,
}

/// The latest stored version of an id.
#[derive(Debug, Clone)]
pub(crate) struct Latest {
    pub content_hash: String,
    pub version: i64,
    /// When the page of that version was fetched (`None` when the stored JSON has no
    /// readable `fetched_at`).
    pub fetched_at: Option<DateTime<Utc>>,
}

impl Latest {
    /// From the stored columns and the `fetched_at` text of the version's JSON.
    pub fn new(content_hash: String, version: i64, fetched_at: Option<&str>) -> Latest {
        Latest {
            content_hash,
            version,
            fetched_at: fetched_at
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.to_utc()),
        }
    }
}

/// Decides what storing `records` does, given each known id's latest version and every
/// `(id, content_hash)` stored before. The history never goes back: a hash seen before for
/// that id (a late redelivery of an older version) is `Unchanged`, and so is content fetched
/// before the latest stored version's page (an older fetch delayed behind a newer one, e.g.
/// two sinks catching up after a database outage).
pub(crate) fn plan<'a>(
    records: &'a [SpeechRecord],
    mut latest: HashMap<String, Latest>,
    mut known: HashSet<(String, String)>,
) -> Result<Plan<'a>, serde_json::Error> {
    let mut plan = Plan::default();
    let mut latest_index: HashMap<&str, usize> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for record in records {
        let key = (record.id.clone(), record.content_hash.clone());
        let outcome = match latest.get(&record.id) {
            Some(l) if l.content_hash == record.content_hash => StoreOutcome::Unchanged,
            _ if known.contains(&key) => StoreOutcome::Unchanged,
            Some(l) if l.fetched_at.is_some_and(|t| record.fetched_at < t) => {
                tracing::info!(id = %record.id, fetched_at = %record.fetched_at, "an older fetch than the stored version: not a new version");
                StoreOutcome::Unchanged
            }
            Some(_) => StoreOutcome::NewVersion,
            None => StoreOutcome::Inserted,
        };
        plan.outcomes.push(outcome);
        if outcome == StoreOutcome::Unchanged {
            continue;
        }
        let version = latest.get(&record.id).map_or(1, |l| l.version + 1);
        latest.insert(
            record.id.clone(),
            Latest {
                content_hash: record.content_hash.clone(),
                version,
                fetched_at: Some(record.fetched_at),
            },
        );
        known.insert(key);
        plan.versions.push(Row {
            record,
            version,
            json: serde_json::to_string(record)?,
            published_us: sort_key(record),
            speakers_json: serde_json::to_string(&record.speakers)?,
            body_text: body_text(record),
        });
        if latest_index
            .insert(record.id.as_str(), plan.versions.len() - 1)
            .is_none()
        {
            order.push(record.id.as_str());
        }
    }
    plan.latest = order
        .into_iter()
        .filter_map(|id| latest_index.get(id).copied())
        .collect();
    Ok(plan)
}

/// The sort key: publication time, or fetch time when the page showed none, in
/// microseconds since the epoch.
pub fn sort_key(record: &SpeechRecord) -> i64 {
    record
        .published_at
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(record.fetched_at)
        .timestamp_micros()
}

/// The searchable body: the paragraphs, or the turns when there are no paragraphs.
pub(crate) fn body_text(record: &SpeechRecord) -> String {
    if record.paragraphs.is_empty() {
        record
            .turns
            .iter()
            .map(|t| format!("{}: {}", t.speaker, t.text))
            .collect::<Vec<_>>()
            .join("\n\n")
    } else {
        record.paragraphs.join("\n\n")
    }
}

/// PostgreSQL text search configuration for a language.
pub(crate) fn ts_config(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "english",
        Lang::Ru => "russian",
        Lang::De => "german",
        Lang::Fr => "french",
        Lang::Es => "spanish",
        Lang::Pt => "portuguese",
    }
}

/// A `LIKE` pattern matching names that contain `needle` (wildcards in it escaped with `\`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The next cursor of a page that fetched `limit + 1` rows.
/// One row of a listing query, as both stores select it (`LIMIT limit + 1`, so one row more
/// than the page tells whether another page follows).
#[derive(sqlx::FromRow)]
pub(crate) struct ListRow {
    pub record: String,
    pub published_us: i64,
    pub id: String,
    pub snippet: Option<String>,
}

/// The JSON of each of `ids` (in that order) from rows of `(id, record)` in any order.
pub(crate) fn records_in_order(ids: &[String], rows: Vec<(String, String)>) -> Vec<Option<String>> {
    let mut by_id: std::collections::HashMap<String, String> = rows.into_iter().collect();
    ids.iter().map(|id| by_id.remove(id)).collect()
}

/// Turns the rows of a listing query into a page and the cursor of the next one.
pub(crate) fn page_of(query: &Query, mut rows: Vec<ListRow>) -> Page {
    let fetched = rows.len();
    rows.truncate(query.limit as usize);
    let next_cursor = next_cursor(
        query,
        fetched,
        rows.last().map(|r| (r.published_us, r.id.as_str())),
    );
    Page {
        items: rows
            .into_iter()
            .map(|r| Hit {
                id: r.id,
                record: r.record,
                snippet: r.snippet,
            })
            .collect(),
        next_cursor,
    }
}

fn next_cursor(query: &Query, fetched: usize, last: Option<(i64, &str)>) -> Option<Cursor> {
    if fetched <= query.limit as usize {
        return None;
    }
    if query.q.is_some() {
        let start = match query.cursor {
            Some(Cursor::Offset(offset)) => offset,
            _ => 0,
        };
        return Some(Cursor::Offset(start + u64::from(query.limit)));
    }
    last.map(|(published_us, id)| Cursor::After {
        published_us,
        id: id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A small record with this id and content hash.
    pub(super) fn record(id: &str, hash: &str) -> SpeechRecord {
        SpeechRecord {
            schema_version: 1,
            id: id.into(),
            source: "mid.ru".into(),
            doc_id: "1".into(),
            lang: Lang::En,
            url: "https://mid.ru/en/1".into(),
            title: "Title".into(),
            kind: Kind::Interview,
            speakers: vec!["Sergey Lavrov".into()],
            location: None,
            event_date: None,
            published_at: None,
            doc_number: None,
            paragraphs: vec!["One.".into()],
            turns: vec![],
            tags: vec![],
            translations: BTreeMap::new(),
            quality: Default::default(),
            content_hash: hash.into(),
            fetched_at: Utc::now(),
            parser_version: "test".into(),
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let after = Cursor::After {
            published_us: -5,
            id: "mid.ru:1:en".into(),
        };
        assert_eq!(Cursor::decode(&after.encode()).unwrap(), after);
        assert_eq!(
            Cursor::decode(&Cursor::Offset(100).encode()).unwrap(),
            Cursor::Offset(100)
        );
        for junk in ["", "!!!", "dDo", "eDox", "' OR 1=1 --", "o:1"] {
            assert!(Cursor::decode(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn plan_inserts_versions_and_ignores_repeats() {
        let records = vec![
            record("a", "h1"),
            record("a", "h1"),
            record("a", "h2"),
            record("b", "h9"),
            record("c", "old"),
        ];
        let latest = HashMap::from([
            ("b".to_string(), Latest::new("h9".into(), 1, None)),
            ("c".to_string(), Latest::new("new".into(), 2, None)),
        ]);
        let known = HashSet::from([
            ("c".to_string(), "old".to_string()),
            ("c".to_string(), "new".to_string()),
        ]);
        let plan = plan(&records, latest, known).unwrap();
        assert_eq!(
            plan.outcomes,
            vec![
                StoreOutcome::Inserted,
                StoreOutcome::Unchanged,
                StoreOutcome::NewVersion,
                StoreOutcome::Unchanged,
                StoreOutcome::Unchanged,
            ]
        );
        assert_eq!(plan.versions.len(), 2);
        assert_eq!(plan.versions[1].version, 2);
        assert_eq!(plan.latest, vec![1]);
    }

    #[test]
    fn an_older_fetch_never_becomes_a_newer_version() {
        let mut older = record("a", "rev1");
        let newer_fetch = older.fetched_at;
        older.fetched_at = newer_fetch - chrono::Duration::seconds(6);
        let latest = HashMap::from([(
            "a".to_string(),
            Latest::new("rev2".into(), 1, Some(&newer_fetch.to_rfc3339())),
        )]);
        let skipped = plan(std::slice::from_ref(&older), latest.clone(), HashSet::new()).unwrap();
        assert_eq!(skipped.outcomes, vec![StoreOutcome::Unchanged]);
        assert!(skipped.versions.is_empty());
        // Fetched later than the stored version: a new version.
        let mut later = record("a", "rev3");
        later.fetched_at = newer_fetch + chrono::Duration::seconds(6);
        let stored = plan(std::slice::from_ref(&later), latest, HashSet::new()).unwrap();
        assert_eq!(stored.outcomes, vec![StoreOutcome::NewVersion]);
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("a%_\\b"), "%a\\%\\_\\\\b%");
    }
}
