//! Full-text search on SQLite (FTS5).
//!
//! The rowid of a record's row in `speeches_fts` is its search key `fts_key` (migration 0017),
//! which follows publication order: `published_us` × [`KEY_SLOTS`] plus a slot, the first
//! free key at or after that (records published in the same microsecond take the next free
//! keys, in the order they were stored). FTS5 returns the matches of `MATCH` in rowid order
//! straight from its doclists, so a search walks its matches newest first, joins each to
//! `speeches` for the filters, and stops as soon as it has what the page needs: a rare word
//! reads its few matches, a common word stops after [`SEARCH_RANK_WINDOW`] of them instead of
//! scoring every one. `since` and `until` bound the walk by key.
//!
//! The observable order is PostgreSQL's: the newest [`SEARCH_RANK_WINDOW`] matches (after
//! the filters) are ranked by relevance ([`super::rank`]: BM25 without the rarity weights, a
//! title match weighing ten body matches; equal scores newest first), older matches follow,
//! newest first. Pages are offsets into that order; a page past the window walks its offset
//! and ranks nothing. Records and snippets (`<mark>` around the matches) are read for the
//! returned page only. Among records published in the same microsecond the newest stored
//! comes first in the older matches.

use sqlx::{QueryBuilder, Sqlite};

use super::push_filters;
use super::rank::RANK_FUNCTION;
use crate::store::{Cursor, Query, SEARCH_RANK_WINDOW};

/// Search keys per microsecond of publication time.
pub(super) const KEY_SLOTS: i64 = 2048;

/// Publication times are clamped to ±this many microseconds (about the year 2112) for their
/// key, so that every key fits an `i64` with room for 1,024 × [`KEY_SLOTS`] keys above the
/// last microsecond. Migration 0017 writes it as a literal.
pub(super) const KEY_MAX_US: i64 = i64::MAX / KEY_SLOTS - 1024;

/// A record whose key lies past its microsecond's slots (more than [`KEY_SLOTS`] records
/// published in one microsecond): the condition of the partial index `speeches_displaced`
/// (migration 0017), which an `until` bound consults (written out in the same words, so
/// that SQLite uses that index).
const DISPLACED: &str =
    "d.fts_key >= (MAX(MIN(d.published_us, 4503599627369471), -4503599627369471) + 1) * 2048";

/// The free search key at or after `?1` (the first key of a microsecond): `?1` itself, or the
/// one after the first taken key from there whose successor is free.
pub(super) const FREE_KEY_SQL: &str = "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM speeches WHERE fts_key = ?1) THEN ?1 \
     ELSE (SELECT a.fts_key + 1 FROM speeches a WHERE a.fts_key >= ?1 \
     AND NOT EXISTS (SELECT 1 FROM speeches b WHERE b.fts_key = a.fts_key + 1) \
     ORDER BY a.fts_key LIMIT 1) END";

/// The first search key of records published at `published_us` (microseconds since the
/// epoch): where [`FREE_KEY_SQL`] starts looking.
pub(super) fn key_base(published_us: i64) -> i64 {
    published_us.clamp(-KEY_MAX_US, KEY_MAX_US) * KEY_SLOTS
}

/// `FROM` and `WHERE` of the walk over the matches of `fts`: the full-text index joined to
/// the records, the filters of `query`, and the key range its `since`/`until` allow. `CROSS
/// JOIN` keeps the full-text index the outer loop: without fresh statistics (right after
/// migration 0017 rebuilt the table) SQLite walked a language's or kind's index and looked
/// each record up in the full-text index instead (10 s for a common word and `lang`).
fn push_matches(sql: &mut QueryBuilder<Sqlite>, query: &Query, fts: &str) {
    sql.push(
        " FROM speeches_fts f CROSS JOIN speeches s ON s.fts_key = f.rowid WHERE speeches_fts MATCH ",
    )
    .push_bind(fts.to_string());
    if let Some(since) = query.since {
        // Every key of a record published at or after `since` is at least since's first key.
        sql.push(" AND f.rowid >= ")
            .push_bind(key_base(since.timestamp_micros()));
    }
    if let Some(until) = query.until.map(|t| t.timestamp_micros())
        && (1 - KEY_MAX_US..=KEY_MAX_US).contains(&until)
    {
        // (Past ±KEY_MAX_US keys are clamped: no bound.) Before until's first key, but for a displaced record (whose key lies past its
        // microsecond's slots) published before `until`. (`+` keeps SQLite from finding the
        // largest key by walking the table backwards instead of reading that index.)
        sql.push(" AND f.rowid < MAX(")
            .push_bind(key_base(until))
            .push(format!(
                ", COALESCE((SELECT MAX(+d.fts_key) + 1 FROM speeches d WHERE {DISPLACED} AND d.published_us < "
            ))
            .push_bind(until)
            .push("), 0))");
    }
    push_filters(sql, query);
}

/// The statement of a search page (`prefix` is empty, or `EXPLAIN QUERY PLAN `); `fts` is the
/// FTS5 query of `q`.
pub(super) fn search_sql(prefix: &str, query: &Query, fts: &str) -> QueryBuilder<Sqlite> {
    let offset = match query.cursor {
        Some(Cursor::Offset(o)) => i64::try_from(o).unwrap_or(i64::MAX),
        _ => 0,
    };
    let limit = i64::from(query.limit) + 1;
    let window = i64::try_from(SEARCH_RANK_WINDOW).unwrap_or(i64::MAX);
    let mut sql = QueryBuilder::new(format!(
        "{prefix}SELECT v.record, s.published_us, s.id, snippet(speeches_fts, -1, '<mark>', '</mark>', '…', 32) AS snippet FROM ("
    ));
    if offset >= window {
        // Past the ranked window: the matches newest first.
        sql.push("SELECT f.rowid AS key, 1 AS older, NULL AS rank");
        push_matches(&mut sql, query, fts);
        sql.push(" ORDER BY f.rowid DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
    } else {
        // The newest matches this page reaches (at least the window), the window ranked.
        let depth = window.max(offset.saturating_add(limit));
        sql.push("SELECT key, recency > ")
            .push_bind(window)
            .push(" AS older, CASE WHEN recency <= ")
            .push_bind(window)
            .push(format!(" THEN rank END AS rank FROM (SELECT key, rank, ROW_NUMBER() OVER (ORDER BY key DESC) AS recency FROM (SELECT f.rowid AS key, {RANK_FUNCTION}(speeches_fts, 10.0, 1.0) AS rank"));
        push_matches(&mut sql, query, fts);
        sql.push(" ORDER BY f.rowid DESC LIMIT ")
            .push_bind(depth)
            .push(")) ORDER BY older, rank, key DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
    }
    sql.push(
        ") page JOIN speeches s ON s.fts_key = page.key \
         JOIN speech_versions v ON v.id = s.id AND v.version = s.version \
         JOIN speeches_fts ON speeches_fts.rowid = page.key WHERE speeches_fts MATCH ",
    )
    .push_bind(fts.to_string())
    .push(" ORDER BY page.older, page.rank, page.key DESC");
    sql
}

/// The statement counting every match of `fts` that passes the filters of `query`.
pub(super) fn count_sql(query: &Query, fts: &str) -> QueryBuilder<Sqlite> {
    let filtered = query.source.is_some()
        || query.lang.is_some()
        || query.kind.is_some()
        || query.speaker.is_some()
        || query.since.is_some()
        || query.until.is_some();
    if filtered {
        let mut sql = QueryBuilder::new("SELECT COUNT(*)");
        push_matches(&mut sql, query, fts);
        sql
    } else {
        // The records are not read: every row of the index is a record.
        let mut sql =
            QueryBuilder::new("SELECT COUNT(*) FROM speeches_fts WHERE speeches_fts MATCH ");
        sql.push_bind(fts.to_string());
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_publication_order_and_fit_an_i64() {
        assert_eq!(key_base(0), 0);
        assert_eq!(key_base(1), KEY_SLOTS);
        assert_eq!(key_base(-1), -KEY_SLOTS);
        // 2024-03-01 and one microsecond later: a full set of slots apart.
        let t = 1_709_276_400_000_000;
        assert_eq!(key_base(t + 1) - key_base(t), KEY_SLOTS);
        assert!(key_base(t) + KEY_SLOTS - 1 < key_base(t + 1));
        // Far dates are clamped; the last microsecond's slots and 1,024 more still fit.
        assert_eq!(key_base(i64::MAX), key_base(KEY_MAX_US));
        assert_eq!(key_base(i64::MIN), -key_base(KEY_MAX_US));
        assert!(
            key_base(i64::MAX)
                .checked_add(KEY_SLOTS * 1025 - 1)
                .is_some()
        );
        // Migration 0017 and DISPLACED write the bound as a literal.
        assert_eq!(KEY_MAX_US, 4_503_599_627_369_471);
        assert!(DISPLACED.contains(&KEY_MAX_US.to_string()));
    }
}
