//! Pure helpers shared by both stores: the columns and versions a batch of records becomes
//! (the write plan), sort keys, search text, LIKE patterns and the pages of a listing. No I/O.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use shared::{Lang, SpeechRecord};

use super::{Cursor, Hit, Page, Query, StoreOutcome};

/// The columns made from a record alone, before a write's transaction begins (so that the
/// transaction waits for no CPU work): its JSON, sort key, speakers and searchable body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Derived {
    pub json: String,
    pub published_us: i64,
    pub speakers_json: String,
    pub body_text: String,
}

/// [`Derived`] of each record, in order.
pub(crate) fn derive_columns(records: &[SpeechRecord]) -> Result<Vec<Derived>, serde_json::Error> {
    records
        .iter()
        .map(|record| {
            Ok(Derived {
                json: serde_json::to_string(record)?,
                published_us: sort_key(record),
                speakers_json: serde_json::to_string(&record.speakers)?,
                body_text: body_text(record),
            })
        })
        .collect()
}

/// A version to write: the record, its place in the batch, its version number and columns.
#[derive(Debug, Clone)]
pub(crate) struct Row<'a> {
    pub record: &'a SpeechRecord,
    /// Its index in the batch.
    pub index: usize,
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
/// two sinks catching up after a database outage). `derived` holds each record's columns, in
/// order ([`derive_columns`]).
pub(crate) fn plan<'a>(
    records: &'a [SpeechRecord],
    derived: Vec<Derived>,
    mut latest: HashMap<String, Latest>,
    mut known: HashSet<(String, String)>,
) -> Plan<'a> {
    let mut plan = Plan::default();
    let mut latest_index: HashMap<&str, usize> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (index, (record, derived)) in records.iter().zip(derived).enumerate() {
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
            index,
            version,
            json: derived.json,
            published_us: derived.published_us,
            speakers_json: derived.speakers_json,
            body_text: derived.body_text,
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
    plan
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
/// SQLite's view `speeches_text` (migration 0021) computes the same text from the stored JSON
/// for its full-text index: the two must agree token for token (a test runs FTS5's integrity
/// check).
fn body_text(record: &SpeechRecord) -> String {
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
    use crate::store::tests::record;

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
        let plan = plan(&records, derive_columns(&records).unwrap(), latest, known);
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
        let older = std::slice::from_ref(&older);
        let skipped = plan(
            older,
            derive_columns(older).unwrap(),
            latest.clone(),
            HashSet::new(),
        );
        assert_eq!(skipped.outcomes, vec![StoreOutcome::Unchanged]);
        assert!(skipped.versions.is_empty());
        // Fetched later than the stored version: a new version.
        let mut later = record("a", "rev3");
        later.fetched_at = newer_fetch + chrono::Duration::seconds(6);
        let later = std::slice::from_ref(&later);
        let stored = plan(
            later,
            derive_columns(later).unwrap(),
            latest,
            HashSet::new(),
        );
        assert_eq!(stored.outcomes, vec![StoreOutcome::NewVersion]);
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("a%_\\b"), "%a\\%\\_\\\\b%");
    }
}
