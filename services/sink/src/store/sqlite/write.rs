//! The SQLite store's write path: a batch in one transaction of a few multi-row statements.
//!
//! The store's connection runs on a worker thread of its own, and every statement is a hand-off
//! to that thread and back: a statement per row and table made ~1,300 hand-offs a batch of
//! 256, and the writer waited for them more than it wrote. Here a batch is the lookups, one
//! statement for its search keys, one each for the versions, the events, the served rows and
//! the full-text rows (in chunks of [`ROWS_PER_STATEMENT`]), and the commit.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use shared::SpeechRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::search::{FREE_KEY_SQL, KEY_SLOTS, key_base};
use crate::store::{Latest, Row, StoreError, StoreOutcome, derive_columns, plan};

/// Rows in one multi-row statement at most: the widest row binds 13 values, and SQLite
/// takes 32,766 a statement.
const ROWS_PER_STATEMENT: usize = 1_024;

#[derive(sqlx::FromRow)]
struct LatestRow {
    id: String,
    content_hash: String,
    version: i64,
    fetched_at: Option<String>,
    fts_key: i64,
    published_us: i64,
}

/// A served row to write: the version it shows and its search key (`None`: to be found
/// after the others are written, see [`assign_keys`]).
struct Served<'r, 'a> {
    row: &'r Row<'a>,
    key: Option<i64>,
}

/// Stores `records` in one transaction on the writing connection `conn` (see
/// [`crate::store::Store::store_batch`]).
pub(super) async fn store_batch(
    conn: &mut SqliteConnection,
    records: &[SpeechRecord],
) -> Result<Vec<StoreOutcome>, StoreError> {
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let ids_json = serde_json::to_string(&ids)?;
    let derived = derive_columns(records)?;
    // IMMEDIATE: take the write lock now, so two writers wait instead of deadlocking.
    let mut tx = sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?;
    let latest: Vec<LatestRow> = sqlx::query_as(
        "SELECT s.id, s.content_hash, s.version,
                json_extract(v.record, '$.fetched_at') AS fetched_at, s.fts_key, s.published_us
         FROM speeches s JOIN speech_versions v ON v.id = s.id AND v.version = s.version
         WHERE s.id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&ids_json)
    .fetch_all(&mut *tx)
    .await?;
    let known: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, content_hash FROM speech_versions
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&ids_json)
    .fetch_all(&mut *tx)
    .await?;
    // Each known record's search key and the publication time it was made for.
    let mut keys: HashMap<String, (i64, i64)> = latest
        .iter()
        .map(|r| (r.id.clone(), (r.fts_key, r.published_us)))
        .collect();
    let latest: HashMap<String, Latest> = latest
        .into_iter()
        .map(|r| {
            let latest = Latest::new(r.content_hash, r.version, r.fetched_at.as_deref());
            (r.id, latest)
        })
        .collect();
    let known: HashSet<(String, String)> = known.into_iter().collect();
    let plan = plan(records, derived, latest, known);
    if plan.versions.is_empty() {
        tx.commit().await?;
        return Ok(plan.outcomes);
    }
    let now = Utc::now().to_rfc3339();
    for chunk in plan.versions.chunks(ROWS_PER_STATEMENT) {
        QueryBuilder::<Sqlite>::new(
            "INSERT INTO speech_versions (id, version, content_hash, record, stored_at) ",
        )
        .push_values(chunk, |mut values, row| {
            values
                .push_bind(&row.record.id)
                .push_bind(row.version)
                .push_bind(&row.record.content_hash)
                .push_bind(&row.json)
                .push_bind(&now);
        })
        .build()
        .persistent(false)
        .execute(&mut *tx)
        .await?;
        // The events' sequence follows the versions' order.
        QueryBuilder::<Sqlite>::new("INSERT INTO speech_events (id, version) ")
            .push_values(chunk, |mut values, row| {
                values.push_bind(&row.record.id).push_bind(row.version);
            })
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await?;
    }
    // A record keeps its search key unless its publication time changed; then its full-text
    // row moves to a free key of the new time. Every stored record's old full-text row goes
    // first.
    let mut moved_from = Vec::new();
    let mut served: Vec<Served> = Vec::with_capacity(plan.latest.len());
    for &index in &plan.latest {
        let row = &plan.versions[index];
        let old = keys.remove(&row.record.id);
        if let Some((old_key, _)) = old {
            moved_from.push(old_key);
        }
        let key = old
            .filter(|&(_, published_us)| published_us == row.published_us)
            .map(|(key, _)| key);
        served.push(Served { row, key });
    }
    if !moved_from.is_empty() {
        // The index holds no copy of the text: FTS5 reads what it unindexes from
        // `speeches_text` (migration 0021), which shows the version indexed until the served
        // rows below move on.
        sqlx::query("DELETE FROM speeches_fts WHERE rowid IN (SELECT value FROM json_each(?1))")
            .bind(serde_json::to_string(&moved_from)?)
            .execute(&mut *tx)
            .await?;
    }
    assign_keys(&mut tx, &mut served).await?;
    let (keyed, unkeyed): (Vec<Served>, Vec<Served>) =
        served.into_iter().partition(|s| s.key.is_some());
    for chunk in keyed.chunks(ROWS_PER_STATEMENT) {
        upsert_served(chunk, &now)
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await?;
    }
    // Keys past their microsecond's slots, one at a time: each sees the ones written before.
    let mut searchable: Vec<(i64, &Row)> =
        keyed.iter().filter_map(|s| Some((s.key?, s.row))).collect();
    for mut served in unkeyed {
        let key: i64 = sqlx::query_scalar(FREE_KEY_SQL)
            .bind(key_base(served.row.published_us))
            .fetch_one(&mut *tx)
            .await?;
        served.key = Some(key);
        upsert_served(std::slice::from_ref(&served), &now)
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await?;
        searchable.push((key, served.row));
    }
    // Full-text rows in ascending key order: FTS5 flushes its pending terms to a new segment
    // whenever a row's key is not above the previous one, so rows in publication order
    // (random, or newest first in a backfill) would make a segment per record and merges
    // without end.
    searchable.sort_unstable_by_key(|&(key, _)| key);
    for chunk in searchable.chunks(ROWS_PER_STATEMENT) {
        QueryBuilder::<Sqlite>::new("INSERT INTO speeches_fts (rowid, title, body) ")
            .push_values(chunk, |mut values, &(key, row)| {
                values
                    .push_bind(key)
                    .push_bind(&row.record.title)
                    .push_bind(&row.body_text);
            })
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(plan.outcomes)
}

/// Gives each served row without a key the first free key of its publication time's slots:
/// not taken by a stored record (one statement reads the taken keys of every time the batch
/// needs) nor by an earlier row of the batch. A row whose slots are all taken (more than
/// [`KEY_SLOTS`] records published in one microsecond) keeps `None`, and gets its key from
/// [`FREE_KEY_SQL`] once the others are written.
async fn assign_keys(
    conn: &mut SqliteConnection,
    served: &mut [Served<'_, '_>],
) -> Result<(), StoreError> {
    let mut bases: Vec<i64> = served
        .iter()
        .filter(|s| s.key.is_none())
        .map(|s| key_base(s.row.published_us))
        .collect();
    if bases.is_empty() {
        return Ok(());
    }
    bases.sort_unstable();
    bases.dedup();
    let taken: Vec<i64> = sqlx::query_scalar(
        "SELECT s.fts_key FROM json_each(?1) b CROSS JOIN speeches s
         ON s.fts_key >= b.value AND s.fts_key < b.value + ?2",
    )
    .bind(serde_json::to_string(&bases)?)
    .bind(KEY_SLOTS)
    .fetch_all(conn)
    .await?;
    let mut taken: HashSet<i64> = taken.into_iter().collect();
    for served in served.iter_mut().filter(|s| s.key.is_none()) {
        let base = key_base(served.row.published_us);
        if let Some(key) = (base..base + KEY_SLOTS).find(|key| !taken.contains(key)) {
            taken.insert(key);
            served.key = Some(key);
        }
    }
    Ok(())
}

/// The statement writing `served` rows (each with its key) into `speeches`, replacing the
/// row of a stored record.
fn upsert_served<'q>(served: &'q [Served<'_, '_>], now: &'q str) -> QueryBuilder<Sqlite> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO speeches (fts_key, id, source, doc_id, lang, kind, title, url,
             speakers, published_us, content_hash, version, updated_at) ",
    );
    sql.push_values(served, |mut values, s: &'q Served| {
        let (row, r) = (s.row, s.row.record);
        values
            .push_bind(s.key)
            .push_bind(&r.id)
            .push_bind(&r.source)
            .push_bind(&r.doc_id)
            .push_bind(r.lang.as_str())
            .push_bind(r.kind.as_str())
            .push_bind(&r.title)
            .push_bind(&r.url)
            .push_bind(&row.speakers_json)
            .push_bind(row.published_us)
            .push_bind(&r.content_hash)
            .push_bind(row.version)
            .push_bind(now);
    });
    sql.push(
        " ON CONFLICT (id) DO UPDATE SET
             fts_key = excluded.fts_key,
             source = excluded.source, doc_id = excluded.doc_id, lang = excluded.lang,
             kind = excluded.kind, title = excluded.title, url = excluded.url,
             speakers = excluded.speakers, published_us = excluded.published_us,
             content_hash = excluded.content_hash, version = excluded.version,
             updated_at = excluded.updated_at",
    );
    sql
}
