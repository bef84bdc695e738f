//! The PostgreSQL store: batched writes with `UNNEST`, full-text search with the language's
//! text search configuration.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::{Lang, SpeechRecord};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, Postgres, QueryBuilder};

use super::{
    Cursor, Derived, Latest, ListRow, Page, Query, Store, StoreError, StoreOutcome, StoredEvent,
    VersionEntry, contains_pattern, derive_columns, page_of, plan, redact_url, ts_config,
};

/// Advisory lock key held while numbering events, so that sequence order is commit order
/// even with several sinks writing ("ministry-feed events" in ASCII, truncated).
const EVENTS_LOCK: i64 = 0x6d66_5f65_7665_6e74;

mod search;

use crate::search::lexemes::document_vector;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Longest body text indexed for search (tsvector values are limited to 1 MiB).
const MAX_INDEXED_CHARS: usize = 250_000;

/// The `tsv_version` of search vectors made by [`search_vector`]; rows with an older one are
/// made again when the store opens ([`PgStore::reindex_outdated`], migration 0018).
const SEARCH_VECTOR_VERSION: i16 = 1;

/// Rows made again per statement by [`PgStore::reindex_outdated`].
const REINDEX_BATCH: i64 = 500;

/// A record's search vector (`tsvector` text): its title, and its body up to
/// [`MAX_INDEXED_CHARS`] characters.
fn search_vector(lang: Lang, title: &str, body: &str) -> String {
    let indexed = body
        .char_indices()
        .nth(MAX_INDEXED_CHARS)
        .map_or(body, |(end, _)| &body[..end]);
    document_vector(lang, title, indexed)
}

/// A group of records to write with the columns made from each alone, search vectors
/// included (in the order of `records`).
struct Prepared {
    records: Vec<SpeechRecord>,
    derived: Vec<Derived>,
    vectors: Vec<String>,
}

impl Prepared {
    /// Makes the columns on a blocking thread (~0.1 ms of CPU a record, most of it the search
    /// vector) before any transaction begins, so that a transaction never waits for the sink's
    /// CPU and the groups of a batch are prepared on different cores.
    async fn new(records: Vec<SpeechRecord>) -> Result<Prepared, StoreError> {
        let prepared = tokio::task::spawn_blocking(move || {
            let derived = derive_columns(&records)?;
            let vectors = records
                .iter()
                .zip(&derived)
                .map(|(r, d)| search_vector(r.lang, &r.title, &d.body_text))
                .collect();
            Ok::<_, StoreError>(Prepared {
                records,
                derived,
                vectors,
            })
        })
        .await;
        joined(prepared)?
    }
}

/// The output of a task of a write: its panic goes on, and a task stopped because the runtime
/// is shutting down is [`StoreError::Stopped`].
fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, StoreError> {
    match result {
        Ok(output) => Ok(output),
        Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
        Err(_) => Err(StoreError::Stopped),
    }
}

/// Transactions writing one batch at once: a write is CPU in the server (`to_tsvector` and
/// the search index), and one transaction uses one server process, so a batch is split by id
/// over this many (this machine class has two cores).
const PARALLEL_WRITERS: usize = 2;

/// Batches smaller than this are written in one transaction (the live pipeline's usual case).
const SPLIT_FROM: usize = 32;

/// PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct LatestRow {
    id: String,
    content_hash: String,
    version: i32,
    fetched_at: Option<String>,
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
        let store = PgStore { pool };
        store.reindex_outdated().await?;
        Ok(store)
    }

    /// Makes the search vectors of rows written before [`SEARCH_VECTOR_VERSION`] (by
    /// PostgreSQL's `to_tsvector`, before migration 0018) again, as the sink makes them now, so
    /// that every record is searched by the words its queries are made of. Once per archive;
    /// a write of the same row meanwhile wins (it has the new version already).
    async fn reindex_outdated(&self) -> Result<(), StoreError> {
        let mut done = 0_usize;
        loop {
            let rows: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT id, lang, title, body_text FROM speeches
                 WHERE tsv_version < $1 ORDER BY id LIMIT $2",
            )
            .bind(SEARCH_VECTOR_VERSION)
            .bind(REINDEX_BATCH)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            if done == 0 {
                tracing::info!("making the search vectors of records stored by an earlier version");
            }
            let ids: Vec<&str> = rows.iter().map(|(id, ..)| id.as_str()).collect();
            let vectors: Vec<String> = rows
                .iter()
                .map(|(_, lang, title, body)| {
                    let lang = lang.parse().unwrap_or(Lang::En);
                    search_vector(lang, title, body)
                })
                .collect();
            sqlx::query(
                "UPDATE speeches s SET tsv = u.tsv::tsvector, tsv_version = $3
                 FROM UNNEST($1::text[], $2::text[]) AS u(id, tsv)
                 WHERE s.id = u.id AND s.tsv_version < $3",
            )
            .bind(&ids)
            .bind(&vectors)
            .bind(SEARCH_VECTOR_VERSION)
            .execute(&self.pool)
            .await?;
            done += rows.len();
            tracing::info!(records = done, "search vectors made again");
        }
        Ok(())
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
    /// Writes a prepared group of records in one transaction; one outcome per record, in
    /// order. Every version of one id must be in the same group.
    async fn store_group(&self, group: Prepared) -> Result<Vec<StoreOutcome>, StoreError> {
        let Prepared {
            records,
            derived,
            vectors,
        } = group;
        let records = records.as_slice();
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let mut tx = self.pool.begin().await?;
        let latest: Vec<LatestRow> = sqlx::query_as(
            "SELECT s.id, s.content_hash, s.version, v.record::jsonb ->> 'fetched_at' AS fetched_at
             FROM speeches s JOIN speech_versions v ON v.id = s.id AND v.version = s.version
             WHERE s.id = ANY($1) FOR UPDATE OF s",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let known: Vec<(String, String)> =
            sqlx::query_as("SELECT id, content_hash FROM speech_versions WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        let latest: HashMap<String, Latest> = latest
            .into_iter()
            .map(|r| {
                let version = i64::from(r.version);
                let latest = Latest::new(r.content_hash, version, r.fetched_at.as_deref());
                (r.id, latest)
            })
            .collect();
        let known: HashSet<(String, String)> = known.into_iter().collect();
        let plan = plan(records, derived, latest, known);
        if plan.versions.is_empty() {
            tx.commit().await?;
            return Ok(plan.outcomes);
        }

        let v_ids: Vec<String> = plan.versions.iter().map(|r| r.record.id.clone()).collect();
        let v_versions: Vec<i32> = plan
            .versions
            .iter()
            .map(|r| i32::try_from(r.version).unwrap_or(i32::MAX))
            .collect();
        let v_hashes: Vec<String> = plan
            .versions
            .iter()
            .map(|r| pg_text(&r.record.content_hash))
            .collect();
        let v_records: Vec<String> = plan.versions.iter().map(|r| r.json.clone()).collect();
        sqlx::query(
            "INSERT INTO speech_versions (id, version, content_hash, record)
             SELECT * FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::text[])",
        )
        .bind(&v_ids)
        .bind(&v_versions)
        .bind(&v_hashes)
        .bind(&v_records)
        .execute(&mut *tx)
        .await?;

        let rows: Vec<_> = plan.latest.iter().map(|&i| &plan.versions[i]).collect();
        let col = |f: &dyn Fn(&super::Row<'_>) -> String| -> Vec<String> {
            rows.iter().map(|r| f(r)).collect()
        };
        let ids = col(&|r| r.record.id.clone());
        let sources = col(&|r| pg_text(&r.record.source));
        let doc_ids = col(&|r| pg_text(&r.record.doc_id));
        let langs = col(&|r| r.record.lang.as_str().to_string());
        let kinds = col(&|r| r.record.kind.as_str().to_string());
        let titles = col(&|r| pg_text(&r.record.title));
        let urls = col(&|r| pg_text(&r.record.url));
        let speakers = col(&|r| r.speakers_json.clone());
        let hashes = col(&|r| pg_text(&r.record.content_hash));
        let configs = col(&|r| ts_config(r.record.lang).to_string());
        let bodies = col(&|r| pg_text(&r.body_text));
        let vectors: Vec<&str> = rows.iter().map(|r| vectors[r.index].as_str()).collect();
        let published: Vec<i64> = rows.iter().map(|r| r.published_us).collect();
        let versions: Vec<i32> = rows
            .iter()
            .map(|r| i32::try_from(r.version).unwrap_or(i32::MAX))
            .collect();
        sqlx::query(
            "INSERT INTO speeches (id, source, doc_id, lang, kind, title, url, speakers,
                 published_us, content_hash, version, ts_config, body_text, tsv, tsv_version,
                 updated_at)
             SELECT u.id, u.source, u.doc_id, u.lang, u.kind, u.title, u.url, u.speakers::jsonb,
                 u.published_us, u.content_hash, u.version, u.ts_config, u.body_text,
                 u.tsv::tsvector, $15, now()
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::int8[], $10::text[], $11::int4[],
                         $12::text[], $13::text[], $14::text[])
                  AS u(id, source, doc_id, lang, kind, title, url, speakers, published_us,
                       content_hash, version, ts_config, body_text, tsv)
             ON CONFLICT (id) DO UPDATE SET
                 source = EXCLUDED.source, doc_id = EXCLUDED.doc_id, lang = EXCLUDED.lang,
                 kind = EXCLUDED.kind, title = EXCLUDED.title, url = EXCLUDED.url,
                 speakers = EXCLUDED.speakers, published_us = EXCLUDED.published_us,
                 content_hash = EXCLUDED.content_hash, version = EXCLUDED.version,
                 ts_config = EXCLUDED.ts_config, body_text = EXCLUDED.body_text,
                 tsv = EXCLUDED.tsv, tsv_version = EXCLUDED.tsv_version, updated_at = now()",
        )
        .bind(&ids)
        .bind(&sources)
        .bind(&doc_ids)
        .bind(&langs)
        .bind(&kinds)
        .bind(&titles)
        .bind(&urls)
        .bind(&speakers)
        .bind(&published)
        .bind(&hashes)
        .bind(&versions)
        .bind(&configs)
        .bind(&bodies)
        .bind(&vectors)
        .bind(SEARCH_VECTOR_VERSION)
        .execute(&mut *tx)
        .await?;
        // Last, so the lock is held only until the commit that follows.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENTS_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO speech_events (id, version)
             SELECT * FROM UNNEST($1::text[], $2::int4[])",
        )
        .bind(&v_ids)
        .bind(&v_versions)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(plan.outcomes)
    }
}

impl Store for PgStore {
    /// Splits the batch by id over [`PARALLEL_WRITERS`] transactions written at once (all
    /// versions of one id in one of them). A failure may leave some ids stored: the caller
    /// retries the batch, and the retry finds them unchanged, so nothing is lost or doubled.
    async fn store_batch(&self, records: &[SpeechRecord]) -> Result<Vec<StoreOutcome>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let groups = writer_groups(records, PARALLEL_WRITERS, SPLIT_FROM);
        // Each group on a task of its own, so that one group's statements are encoded and its
        // results read on another core while the other's transaction runs.
        let tasks = groups.iter().map(|group| {
            let records: Vec<SpeechRecord> = group.iter().map(|&i| records[i].clone()).collect();
            let store = self.clone();
            let task = tokio::spawn(async move {
                let prepared = Prepared::new(records).await?;
                store.store_group(prepared).await
            });
            async move { joined(task.await)? }
        });
        let results = futures_util::future::try_join_all(tasks).await?;
        let mut outcomes = vec![StoreOutcome::Unchanged; records.len()];
        for (group, result) in groups.iter().zip(results) {
            for (&i, outcome) in group.iter().zip(result) {
                outcomes[i] = outcome;
            }
        }
        Ok(outcomes)
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

/// The positions of `records` split into at most `writers` non-empty groups by a hash of
/// the id (every version of one id in the same group); one group below `split_from` records.
fn writer_groups(records: &[SpeechRecord], writers: usize, split_from: usize) -> Vec<Vec<usize>> {
    if records.len() < split_from || writers < 2 {
        return vec![(0..records.len()).collect()];
    }
    let mut groups = vec![Vec::new(); writers];
    for (i, record) in records.iter().enumerate() {
        // FNV-1a: stable and cheap; any even spread will do.
        let hash = record.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        groups[(hash % writers as u64) as usize].push(i);
    }
    groups.retain(|g| !g.is_empty());
    groups
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

#[cfg(test)]
mod tests {
    use super::*;

    fn records(ids: &[&str]) -> Vec<SpeechRecord> {
        ids.iter()
            .map(|id| super::super::tests::record(id, "h"))
            .collect()
    }

    #[test]
    fn small_batches_are_one_group_and_large_ones_split_by_id() {
        let ids: Vec<String> = (0..64).map(|i| format!("mid.ru:{i}:en")).collect();
        let mut refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(
            writer_groups(&records(&refs[..8]), 2, 32),
            vec![(0..8).collect::<Vec<_>>()]
        );
        // A second version of an id goes where its first went.
        refs.push("mid.ru:5:en");
        let batch = records(&refs);
        let groups = writer_groups(&batch, 2, 32);
        assert_eq!(groups.len(), 2);
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, (0..batch.len()).collect::<Vec<_>>());
        for group in &groups {
            assert!(group.len() >= 16, "uneven split: {groups:?}");
            assert!(group.windows(2).all(|w| w[0] < w[1]), "order kept");
        }
        let holding = |i: usize| groups.iter().position(|g| g.contains(&i));
        assert_eq!(holding(5), holding(64));
    }
}
