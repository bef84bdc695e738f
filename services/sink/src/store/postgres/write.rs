//! The PostgreSQL store's write path: a batch split over parallel transactions, each
//! group's columns (record JSON, searchable body, search vector) made before its transaction,
//! and the search vectors of rows written by an earlier version made again.

use std::collections::{HashMap, HashSet};

use shared::{Lang, SpeechRecord};

use super::{PgStore, pg_text};
use crate::search::lexemes::document_vector;
use crate::search::tsvector::TsVector;
use crate::store::{
    Derived, Latest, Row, StoreError, StoreOutcome, derive_columns, plan, ts_config,
};

/// Advisory lock key held while numbering events, so that sequence order is commit order
/// even with several sinks writing ("ministry-feed events" in ASCII, truncated).
const EVENTS_LOCK: i64 = 0x6d66_5f65_7665_6e74;

/// Longest body text indexed for search (tsvector values are limited to 1 MiB).
const MAX_INDEXED_CHARS: usize = 250_000;

/// The `tsv_version` of search vectors made by [`search_vector`]; rows with an older one are
/// made again when the store opens ([`PgStore::reindex_outdated`], migration 0018).
const SEARCH_VECTOR_VERSION: i16 = 1;

/// Rows made again per statement by [`PgStore::reindex_outdated`].
const REINDEX_BATCH: i64 = 500;

/// A record's search vector: its title, and its body up to [`MAX_INDEXED_CHARS`] characters.
fn search_vector(lang: Lang, title: &str, body: &str) -> TsVector {
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
    vectors: Vec<TsVector>,
}

impl Prepared {
    /// Makes the columns on a blocking thread (~0.1 ms of CPU a record, most of it the search
    /// vector) before any transaction begins, so that a transaction never waits for the sink's
    /// CPU and the groups of a batch are prepared on different cores. Records that turn out
    /// unchanged get their columns too: which ones they are is known only inside the
    /// transaction, and redelivered batches are rare.
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

/// The latest stored version of each of a group's ids (`$1`), locked until the commit, with
/// the content hashes of all its stored versions (`known`: a redelivered older version is
/// recognised by them). Only ids with a `speeches` row have versions: both are written in
/// one transaction and never deleted. Every lookup is by key, also on a table without
/// statistics (a new archive, autovacuum off), where `speech_versions … WHERE id = ANY($1)`
/// was planned as a read of the whole table, once a group: writes slowed as the archive grew.
const LATEST_SQL: &str = "SELECT s.id, s.content_hash, s.version, \
     v.record::jsonb ->> 'fetched_at' AS fetched_at, \
     ARRAY(SELECT k.content_hash FROM speech_versions k WHERE k.id = s.id) AS known \
     FROM speeches s JOIN speech_versions v ON v.id = s.id AND v.version = s.version \
     WHERE s.id = ANY($1) FOR UPDATE OF s";

/// Begins a write transaction that leaves the search indexes' new entries pending (up to
/// 64 MB) for the store's upkeep to merge, instead of merging them in line when the list is
/// full (used while the upkeep is active). One round trip, like a plain `BEGIN`.
const BEGIN_LEAVING_MERGES: &str = "BEGIN; SET LOCAL gin_pending_list_limit = 65536";

#[derive(sqlx::FromRow)]
struct LatestRow {
    id: String,
    content_hash: String,
    version: i32,
    fetched_at: Option<String>,
    known: Vec<String>,
}

impl PgStore {
    /// Splits the batch by id over [`PARALLEL_WRITERS`] transactions written at once (all
    /// versions of one id in one of them). A failure may leave some ids stored: the caller
    /// retries the batch, and the retry finds them unchanged, so nothing is lost or doubled.
    pub(super) async fn write_batch(
        &self,
        records: &[SpeechRecord],
    ) -> Result<Vec<StoreOutcome>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.upkeep.wait_for_room().await;
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
        let written = outcomes
            .iter()
            .filter(|o| **o != StoreOutcome::Unchanged)
            .count();
        self.upkeep.written(written as u64);
        Ok(outcomes)
    }

    /// The query plan (`EXPLAIN` text) of the lookup a write of `records` makes before it
    /// writes: their latest versions and the contents stored already.
    pub async fn explain_write_lookups(
        &self,
        records: &[SpeechRecord],
    ) -> Result<String, StoreError> {
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let lines: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {LATEST_SQL}")))
                .bind(&ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(lines.join("\n"))
    }

    /// Makes the search vectors of rows written before [`SEARCH_VECTOR_VERSION`] (by
    /// PostgreSQL's `to_tsvector`, before migration 0018) again, as the sink makes them now, so
    /// that every record is searched by the words its queries are made of. Once per archive;
    /// a write of the same row meanwhile wins (it has the new version already).
    pub(super) async fn reindex_outdated(&self) -> Result<(), StoreError> {
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
            let vectors: Vec<TsVector> = rows
                .iter()
                .map(|(_, lang, title, body)| {
                    // Every stored code is one this sink writes; a code it does not know (put
                    // there by hand) is indexed with the English words rather than left behind.
                    let lang = lang.parse().unwrap_or(Lang::En);
                    search_vector(lang, title, body)
                })
                .collect();
            sqlx::query(
                "UPDATE speeches s SET tsv = u.tsv, tsv_version = $3
                 FROM UNNEST($1::text[], $2::tsvector[]) AS u(id, tsv)
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
        let mut tx = if self.upkeep.is_active() {
            self.pool.begin_with(BEGIN_LEAVING_MERGES).await?
        } else {
            self.pool.begin().await?
        };
        let rows: Vec<LatestRow> = sqlx::query_as(LATEST_SQL)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let mut latest: HashMap<String, Latest> = HashMap::with_capacity(rows.len());
        let mut known: HashSet<(String, String)> = HashSet::new();
        for row in rows {
            known.extend(row.known.into_iter().map(|hash| (row.id.clone(), hash)));
            let version = i64::from(row.version);
            let stored = Latest::new(row.content_hash, version, row.fetched_at.as_deref());
            latest.insert(row.id, stored);
        }
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

        let rows: Vec<_> = plan.latest.iter().map(|&i| &plan.versions[i]).collect();
        let col =
            |f: &dyn Fn(&Row<'_>) -> String| -> Vec<String> { rows.iter().map(|r| f(r)).collect() };
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
        let vectors: Vec<&TsVector> = rows.iter().map(|r| &vectors[r.index]).collect();
        let published: Vec<i64> = rows.iter().map(|r| r.published_us).collect();
        let versions: Vec<i32> = rows
            .iter()
            .map(|r| i32::try_from(r.version).unwrap_or(i32::MAX))
            .collect();
        // The versions and the served rows in one statement (one round trip).
        sqlx::query(
            "WITH versions AS (
                 INSERT INTO speech_versions (id, version, content_hash, record)
                 SELECT * FROM UNNEST($16::text[], $17::int4[], $18::text[], $19::text[]))
             INSERT INTO speeches (id, source, doc_id, lang, kind, title, url, speakers,
                 published_us, content_hash, version, ts_config, body_text, tsv, tsv_version,
                 updated_at)
             SELECT u.id, u.source, u.doc_id, u.lang, u.kind, u.title, u.url, u.speakers::jsonb,
                 u.published_us, u.content_hash, u.version, u.ts_config, u.body_text,
                 u.tsv, $15, now()
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::int8[], $10::text[], $11::int4[],
                         $12::text[], $13::text[], $14::tsvector[])
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
        .bind(&v_ids)
        .bind(&v_versions)
        .bind(&v_hashes)
        .bind(&v_records)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn records(ids: &[&str]) -> Vec<SpeechRecord> {
        ids.iter()
            .map(|id| crate::store::tests::record(id, "h"))
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
