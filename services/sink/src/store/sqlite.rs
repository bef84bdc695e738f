//! The embedded store: SQLite in WAL mode, FTS5 for search ([`search`]: newest matches first,
//! the newest [`super::SEARCH_RANK_WINDOW`] ranked).

mod checkpoint;
mod rank;
mod search;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::SpeechRecord;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::{
    Cursor, ListRow, Page, Query, Store, StoreError, StoreOutcome, StoredEvent, VersionEntry,
    contains_pattern, page_of, records_in_order,
};
use crate::search::Terms;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The latest version of one record.
const GET_SQL: &str = "SELECT v.record FROM speeches s \
     JOIN speech_versions v ON v.id = s.id AND v.version = s.version WHERE s.id = ?1";

/// Every version of one record.
const VERSIONS_SQL: &str = "SELECT version, content_hash, stored_at, record FROM speech_versions WHERE id = ?1 ORDER BY version";

/// Page cache of the store's writing connection, in KiB (SQLite's default is 2 MB): a write
/// reads the full-text index's segments and the tables' B-trees it extends, and through the
/// small cache re-read them from the OS at every batch.
const WRITER_CACHE_KIB: &str = "-32768";

/// SQLite store (WAL journal, one file): a pool of readers, one writing connection, and one
/// that checkpoints the journal in the background.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    checkpoints: SqlitePool,
    checkpointer: checkpoint::Checkpointer,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    content_hash: String,
    stored_at: String,
    record: String,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (or `sqlite:PATH`), creating the file and its directory.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::BadUrl(url.to_string()))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::BadUrl(url.to_string()));
        }
        Self::open(Path::new(path)).await
    }

    /// Opens the database file at `path`, creating it and its directory, and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(PathBuf::from(path))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let connect_error = |source| StoreError::Connect {
            url: format!("sqlite://{}", path.display()),
            source,
        };
        // The readers search: each has the store's ranking function.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    rank::register(handle.as_raw_handle())
                        .map_err(|e| sqlx::Error::Configuration(e.into()))
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        MIGRATOR.run(&pool).await?;
        // SQLite writes one transaction at a time: one connection, with a larger cache.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", WRITER_CACHE_KIB)
                    .pragma("wal_autocheckpoint", checkpoint::WRITER_BACKSTOP_PAGES),
            )
            .await
            .map_err(connect_error)?;
        // Checkpoints run beside the writes, on a connection of their own.
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        let checkpointer = checkpoint::Checkpointer::start(checkpoints.clone());
        Ok(SqliteStore {
            pool,
            writer,
            checkpoints,
            checkpointer,
        })
    }

    /// Refreshes the query planner's statistics (`ANALYZE`).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// The query plan (`EXPLAIN QUERY PLAN` details, one step a line) of the listing or
    /// search `query`, as the store runs it.
    pub async fn explain_list(&self, query: &Query) -> Result<String, StoreError> {
        let fts = fts5_of(query);
        let rows: Vec<(i64, i64, i64, String)> =
            list_sql("EXPLAIN QUERY PLAN ", query, fts.as_deref())
                .build_query_as()
                .fetch_all(&self.pool)
                .await?;
        Ok(plan_text(rows))
    }

    /// The query plans of reading one record and of its versions.
    pub async fn explain_get_and_versions(&self, id: &str) -> Result<String, StoreError> {
        let mut rows = Vec::new();
        for sql in [GET_SQL, VERSIONS_SQL] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            rows.extend(
                sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        Ok(plan_text(rows))
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.writer.close().await;
        self.checkpoints.close().await;
        self.pool.close().await;
    }
}

impl Store for SqliteStore {
    async fn store_batch(&self, records: &[SpeechRecord]) -> Result<Vec<StoreOutcome>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.writer.acquire().await?;
        let outcomes = write::store_batch(&mut conn, records).await?;
        self.checkpointer.committed();
        Ok(outcomes)
    }

    async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(GET_SQL)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = QueryBuilder::<Sqlite>::new(
            "SELECT s.id, v.record FROM speeches s \
             JOIN speech_versions v ON v.id = s.id AND v.version = s.version WHERE s.id IN (",
        );
        let mut list = sql.separated(", ");
        for id in ids {
            list.push_bind(id.clone());
        }
        list.push_unseparated(")");
        let rows: Vec<(String, String)> = sql.build_query_as().fetch_all(&self.pool).await?;
        Ok(records_in_order(ids, rows))
    }

    async fn list(&self, query: &Query) -> Result<Page, StoreError> {
        let fts = fts5_of(query);
        if query.q.is_some() && fts.is_none() {
            // Nothing searchable (validated away by the API; a direct caller gets no hits).
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let rows: Vec<ListRow> = list_sql("", query, fts.as_deref())
            .build_query_as()
            .fetch_all(&self.pool)
            .await?;
        Ok(page_of(query, rows))
    }

    async fn versions(&self, id: &str) -> Result<Vec<VersionEntry>, StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(VERSIONS_SQL)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| VersionEntry {
                version: r.version,
                content_hash: r.content_hash,
                stored_at: DateTime::parse_from_rfc3339(&r.stored_at)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                record: r.record,
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let fts = fts5_of(query);
        if query.q.is_some() && fts.is_none() {
            return Ok(0);
        }
        let mut sql: QueryBuilder<Sqlite> = match fts {
            Some(fts) => search::count_sql(query, &fts),
            None => {
                let mut sql = QueryBuilder::new("SELECT COUNT(*) FROM speeches s WHERE 1 = 1");
                push_filters(&mut sql, query);
                sql
            }
        };
        let n: i64 = sql.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT e.seq, e.version, v.record FROM speech_events e
             JOIN speech_versions v ON v.id = e.id AND v.version = e.version
             WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, version, record)| StoredEvent {
                seq,
                version,
                record,
            })
            .collect())
    }

    async fn last_event(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM speech_events")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// Appends the filters of `query` (not `q`, not the cursor) to a `WHERE` clause.
fn push_filters(sql: &mut QueryBuilder<Sqlite>, query: &Query) {
    if let Some(source) = &query.source {
        sql.push(" AND s.source = ").push_bind(source.clone());
    }
    if let Some(lang) = query.lang {
        sql.push(" AND s.lang = ").push_bind(lang.as_str());
    }
    if let Some(kind) = query.kind {
        sql.push(" AND s.kind = ").push_bind(kind.as_str());
    }
    if let Some(speaker) = &query.speaker {
        sql.push(" AND EXISTS (SELECT 1 FROM json_each(s.speakers) sp WHERE sp.value LIKE ")
            .push_bind(contains_pattern(speaker))
            .push(" ESCAPE '\\')");
    }
    if let Some(since) = query.since {
        sql.push(" AND s.published_us >= ")
            .push_bind(since.timestamp_micros());
    }
    if let Some(until) = query.until {
        sql.push(" AND s.published_us < ")
            .push_bind(until.timestamp_micros());
    }
}

/// The FTS5 query of `query`'s search; `None` without `q` or with nothing in it to search for.
fn fts5_of(query: &Query) -> Option<String> {
    query
        .q
        .as_deref()
        .and_then(Terms::parse)
        .map(|terms| terms.fts5())
}

/// The statement of a listing (`prefix` is empty, or `EXPLAIN QUERY PLAN `); `fts` is the
/// translated `q`.
fn list_sql(prefix: &str, query: &Query, fts: Option<&str>) -> QueryBuilder<Sqlite> {
    match fts {
        Some(fts) => search::search_sql(prefix, query, fts),
        None => {
            let mut sql = QueryBuilder::new(format!(
                "{prefix}SELECT v.record, s.published_us, s.id, NULL AS snippet FROM speeches s \
                 CROSS JOIN speech_versions v ON v.id = s.id AND v.version = s.version WHERE 1 = 1"
            ));
            push_filters(&mut sql, query);
            if let Some(Cursor::After { published_us, id }) = &query.cursor {
                sql.push(" AND (s.published_us < ")
                    .push_bind(*published_us)
                    .push(" OR (s.published_us = ")
                    .push_bind(*published_us)
                    .push(" AND s.id < ")
                    .push_bind(id.clone())
                    .push("))");
            }
            sql.push(" ORDER BY s.published_us DESC, s.id DESC LIMIT ")
                .push_bind(i64::from(query.limit) + 1);
            sql
        }
    }
}

fn plan_text(rows: Vec<(i64, i64, i64, String)>) -> String {
    rows.into_iter()
        .map(|(_, _, _, detail)| detail)
        .collect::<Vec<_>>()
        .join("\n")
}
