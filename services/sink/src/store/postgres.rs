//! The PostgreSQL store: batched writes with `UNNEST`, full-text search with the language's
//! text search configuration.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::SpeechRecord;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, Postgres, QueryBuilder};

use super::{
    Cursor, ListRow, Page, Query, Store, StoreError, StoreOutcome, StoredEvent, VersionEntry,
    contains_pattern, page_of, redact_url,
};

mod search;
mod upkeep;
mod write;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    upkeep: upkeep::SearchUpkeep,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i32,
    content_hash: String,
    stored_at: DateTime<Utc>,
    record: String,
}

/// The latest version of one record.
const GET_SQL: &str = "SELECT v.record FROM speeches s \
     JOIN speech_versions v ON v.id = s.id AND v.version = s.version WHERE s.id = $1";

/// Every version of one record.
const VERSIONS_SQL: &str = "SELECT version, content_hash, stored_at, record FROM speech_versions \
     WHERE id = $1 ORDER BY version";

/// PostgreSQL text cannot hold NUL characters.
fn pg_text(text: &str) -> String {
    text.replace('\0', "")
}

/// Checks that the certificate and key files named in `url` (`sslrootcert`, `sslcert`,
/// `sslkey`) or in libpq's variables (`PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`) can be read,
/// so that a wrong path is an error at once rather than a connection retried forever.
fn check_tls_files(url: &str) -> Result<(), StoreError> {
    let mut files: Vec<(String, String)> = [
        ("PGSSLROOTCERT", "sslrootcert"),
        ("PGSSLCERT", "sslcert"),
        ("PGSSLKEY", "sslkey"),
    ]
    .into_iter()
    .filter_map(|(var, param)| Some((param.to_string(), std::env::var(var).ok()?)))
    .collect();
    if let Ok(parsed) = url::Url::parse(url) {
        for (key, value) in parsed.query_pairs() {
            let param = match key.as_ref() {
                "sslrootcert" | "ssl-root-cert" | "ssl-ca" => "sslrootcert",
                "sslcert" | "ssl-cert" => "sslcert",
                "sslkey" | "ssl-key" => "sslkey",
                _ => continue,
            };
            files.push((param.to_string(), value.into_owned()));
        }
    }
    for (param, path) in files {
        if let Err(source) = std::fs::File::open(&path) {
            return Err(StoreError::TlsFile {
                param,
                path,
                source,
            });
        }
    }
    Ok(())
}

impl PgStore {
    /// Connects to `url` and migrates the database. With `sslmode=verify-full` (and the CA
    /// in `sslrootcert`) the server must prove its name with a certificate that CA signed;
    /// a failed verification is an error, never a fallback to plaintext.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let connect_error = |source| StoreError::Connect {
            url: redact_url(url),
            source,
        };
        check_tls_files(url)?;
        // Plans for the values of each query, never the generic plan of a prepared
        // statement: a search's plan depends on how rare its words are (a generic plan reads
        // a whole language for a word that matches nothing).
        let options = PgConnectOptions::from_str(url)
            .map_err(connect_error)?
            .options([("plan_cache_mode", "force_custom_plan")]);
        // One direct connection first: it fails at once when the server is down, where the
        // pool would keep trying until its acquire timeout.
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(connect_error)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        MIGRATOR.run(&pool).await?;
        let upkeep = upkeep::SearchUpkeep::start(pool.clone());
        let store = PgStore { pool, upkeep };
        store.reindex_outdated().await?;
        Ok(store)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Vacuums the records tables and refreshes the planner's statistics, as autovacuum does
    /// in its own time (this also moves the search indexes' pending entries into place).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("VACUUM (ANALYZE) speeches, speech_versions")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves the search indexes' new entries into place now, as the store's upkeep does in
    /// the background (`store/postgres/upkeep.rs`): a benchmark counts this work in the time
    /// of the writes it follows.
    pub async fn merge_search_entries(&self) -> Result<(), StoreError> {
        upkeep::merge_pending(&self.pool).await
    }

    /// The query plan (`EXPLAIN` text) of the listing or search `query`, as the store runs
    /// it: for tests and for operators checking that an archive's queries use its indexes.
    pub async fn explain_list(&self, query: &Query) -> Result<String, StoreError> {
        let Some(mut sql) = list_sql("EXPLAIN ", query) else {
            return Ok("no statement: the search has only stop words".to_string());
        };
        let lines: Vec<String> = sql.build_query_scalar().fetch_all(&self.pool).await?;
        Ok(lines.join("\n"))
    }

    /// The query plans (`EXPLAIN` text) of reading one record and of its versions.
    pub async fn explain_get_and_versions(&self, id: &str) -> Result<String, StoreError> {
        let mut lines: Vec<String> = Vec::new();
        for sql in [GET_SQL, VERSIONS_SQL] {
            let explain = format!("EXPLAIN {sql}");
            lines.extend(
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(explain))
                    .bind(pg_text(id))
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        Ok(lines.join("\n"))
    }
}

impl Store for PgStore {
    /// See [`PgStore::write_batch`].
    async fn store_batch(&self, records: &[SpeechRecord]) -> Result<Vec<StoreOutcome>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.write_batch(records).await
    }

    async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(GET_SQL)
            .bind(pg_text(id))
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        Ok(search::records(&self.pool, ids).await?)
    }

    async fn list(&self, query: &Query) -> Result<Page, StoreError> {
        let rows: Vec<ListRow> = match list_sql("", query) {
            Some(mut sql) => sql.build_query_as().fetch_all(&self.pool).await?,
            None => Vec::new(),
        };
        Ok(page_of(query, rows))
    }

    async fn versions(&self, id: &str) -> Result<Vec<VersionEntry>, StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(VERSIONS_SQL)
            .bind(pg_text(id))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| VersionEntry {
                version: i64::from(r.version),
                content_hash: r.content_hash,
                stored_at: r.stored_at,
                record: r.record,
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let mut sql: QueryBuilder<Postgres> = match query.q.as_deref().map(pg_text) {
            Some(q) => {
                let parsed = search::parse(query, &q);
                if parsed.is_empty() {
                    return Ok(0);
                }
                search::count_sql(query, &parsed)
            }
            None => {
                let mut sql = QueryBuilder::new("SELECT COUNT(*) FROM speeches s WHERE TRUE");
                push_filters(&mut sql, query);
                sql
            }
        };
        let n: i64 = sql.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<(i64, i32, String)> = sqlx::query_as(
            "SELECT e.seq, e.version, v.record FROM speech_events e
             JOIN speech_versions v ON v.id = e.id AND v.version = e.version
             WHERE e.seq > $1 ORDER BY e.seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, version, record)| StoredEvent {
                seq,
                version: i64::from(version),
                record,
            })
            .collect())
    }

    async fn last_event(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::int8 FROM speech_events")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// Appends the filters of `query` (not `q`, not the cursor) to a `WHERE` clause.
fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &Query) {
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
        sql.push(
            " AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.speakers) sp WHERE sp ILIKE ",
        )
        .push_bind(contains_pattern(&pg_text(speaker)))
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

/// The statement of a listing or search (`prefix` is empty, or `EXPLAIN …`); `None` for a
/// search with nothing to search for (only stop words), which matches nothing.
fn list_sql(prefix: &str, query: &Query) -> Option<QueryBuilder<Postgres>> {
    match query.q.as_deref().map(pg_text) {
        Some(q) => {
            let parsed = search::parse(query, &q);
            (!parsed.is_empty()).then(|| search::search_sql(prefix, query, &parsed))
        }
        None => Some(listing_sql(prefix, query)),
    }
}

/// A listing without `q`: newest first along an index, continuing after the cursor.
fn listing_sql(prefix: &str, query: &Query) -> QueryBuilder<Postgres> {
    let mut sql = QueryBuilder::new(format!(
        "{prefix}SELECT v.record, s.published_us, s.id, NULL::text AS snippet FROM speeches s \
         JOIN speech_versions v ON v.id = s.id AND v.version = s.version WHERE TRUE"
    ));
    push_filters(&mut sql, query);
    if let Some(Cursor::After { published_us, id }) = &query.cursor {
        sql.push(" AND (s.published_us, s.id) < (")
            .push_bind(*published_us)
            .push(", ")
            .push_bind(pg_text(id))
            .push(")");
    }
    sql.push(" ORDER BY s.published_us DESC, s.id DESC LIMIT ")
        .push_bind(i64::from(query.limit) + 1);
    sql
}
