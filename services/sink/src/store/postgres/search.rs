//! Full-text search on PostgreSQL.
//!
//! A search is one branch per language, each naming that language's search expression
//! `(CASE WHEN lang = 'xx' THEN tsv END)` so that it runs on the language's GIN index and is
//! planned with the language's own statistics (migration 0016). The searched text becomes a
//! `tsquery` per language in the sink ([`parse`], by the code that makes the records' search
//! vectors, [`crate::search::lexemes`]) and is bound as a constant.
//!
//! The newest [`SEARCH_RANK_WINDOW`] matches are ranked by relevance (`ts_rank`); older
//! matches follow, newest first. Records and snippets are read for the returned page only.
//! `ts_headline` parses and stems all the text it is given, so a snippet is first cut from a
//! window of [`SNIPPET_WINDOW_CHARS`] characters around the first place where one of the
//! query's words (its stem, in lower case) occurs in the body; when that window has no match
//! (a stem that is not a prefix of the written word, a word only in the title), from the first
//! [`SNIPPET_PREFIX_CHARS`] characters, and then from the rest of the body.

use shared::Lang;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::push_filters;
use crate::search::Terms;
use crate::search::lexemes::{TsQuery, tsquery};
use crate::store::{Cursor, Query, SEARCH_RANK_WINDOW, records_in_order};

/// The options of `ts_headline` for snippets.
const HEADLINE_OPTIONS: &str = "'StartSel=<mark>, StopSel=</mark>, MaxWords=32, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"'";

/// A snippet is first looked for in this many characters at the start of the body:
/// `ts_headline` parses and stems all the text it is given, and a common word occurs early.
const SNIPPET_PREFIX_CHARS: i32 = 2_000;

/// Characters of the body given to `ts_headline` around the first occurrence of a query word.
const SNIPPET_WINDOW_CHARS: i32 = 800;

/// How many of the window's characters come before that occurrence.
const SNIPPET_WINDOW_BEFORE: i32 = 250;

/// How far the rest of the body, quoted when the prefix has no match, reaches back into the
/// prefix (longer than any word, so a word cut at the prefix's end is whole in the rest).
const SNIPPET_OVERLAP_CHARS: i32 = 100;

/// The searched languages with the search as each one's `tsquery`; languages where the
/// search has only stop words are left out.
pub(super) type Parsed = Vec<(Lang, TsQuery)>;

/// The latest versions' JSON of the records `ids`, in that order (for a cached search page).
pub(super) async fn records(
    pool: &PgPool,
    ids: &[String],
) -> Result<Vec<Option<String>>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.id, v.record FROM speeches s \
         JOIN speech_versions v ON v.id = s.id AND v.version = s.version WHERE s.id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(records_in_order(ids, rows))
}

/// `q` as a `tsquery` in every language `query` searches; empty when nothing is left to
/// search for in any of them.
pub(super) fn parse(query: &Query, q: &str) -> Parsed {
    let Some(terms) = Terms::parse(q) else {
        return Vec::new();
    };
    let langs = query.lang.map_or_else(|| Lang::ALL.to_vec(), |l| vec![l]);
    langs
        .into_iter()
        .filter_map(|lang| Some((lang, tsquery(lang, &terms)?)))
        .collect()
}

/// `WHERE` of one language's branch: its search expression (as indexed by migration 0016)
/// matching its parsed query, and the filters of `query`.
fn push_branch_where(
    sql: &mut QueryBuilder<Postgres>,
    query: &Query,
    lang: Lang,
    tsquery: &TsQuery,
) {
    // The language is a constant of a closed set, never input.
    let code = lang.as_str();
    sql.push(format!(
        " WHERE s.lang = '{code}' AND (CASE WHEN s.lang = '{code}' THEN s.tsv END) @@ "
    ))
    .push_bind(tsquery.text.clone())
    .push("::tsquery");
    push_filters(
        sql,
        &Query {
            lang: None,
            ..query.clone()
        },
    );
}

/// The statement of a search page (`prefix` is empty, or `EXPLAIN …`).
pub(super) fn search_sql(prefix: &str, query: &Query, parsed: &Parsed) -> QueryBuilder<Postgres> {
    let offset = match query.cursor {
        Some(Cursor::Offset(offset)) => i64::try_from(offset).unwrap_or(i64::MAX),
        _ => 0,
    };
    let limit = i64::from(query.limit) + 1;
    let window = i64::try_from(SEARCH_RANK_WINDOW).unwrap_or(i64::MAX);
    let depth = window.max(offset.saturating_add(limit));
    // The rest of the body, from a little before the prefix's end (a word cut there was not
    // matched in the prefix); the first, possibly cut, word is dropped.
    let rest_from = SNIPPET_PREFIX_CHARS - SNIPPET_OVERLAP_CHARS + 1;
    let mut sql = QueryBuilder::new(format!(
        "{prefix}WITH matches AS (SELECT m.*, row_number() OVER (ORDER BY m.published_us DESC, m.id DESC) AS recency FROM (SELECT * FROM ("
    ));
    for (i, (lang, tsquery)) in parsed.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("(SELECT s.id, s.published_us, s.tsv, s.ts_config, ")
            .push_bind(tsquery.text.clone())
            .push("::tsquery AS query, ")
            .push_bind(tsquery.lexemes.clone())
            .push("::text[] AS words FROM speeches s");
        push_branch_where(&mut sql, query, *lang, tsquery);
        sql.push(" ORDER BY s.published_us DESC, s.id DESC LIMIT ")
            .push_bind(depth)
            .push(")");
    }
    sql.push(") u ORDER BY published_us DESC, id DESC LIMIT ")
        .push_bind(depth)
        .push(
            ") m), page AS (SELECT id, recency, ts_config, query, words, CASE WHEN recency <= ",
        )
        .push_bind(window)
        .push(" THEN ts_rank(tsv, query) END AS rank FROM matches ORDER BY recency > ")
        .push_bind(window)
        .push(", rank DESC, recency LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset)
        .push(format!(
            ") SELECT v.record, s.published_us, s.id, \
             CASE WHEN strpos(n.near, '<mark>') > 0 THEN n.near \
             WHEN strpos(h.head, '<mark>') > 0 THEN h.head \
             ELSE ts_headline(page.ts_config::regconfig, regexp_replace(substr(s.body_text, {rest_from}), '^\\S*\\s+', ''), page.query, {HEADLINE_OPTIONS}) END AS snippet \
             FROM page JOIN speeches s ON s.id = page.id \
             JOIN speech_versions v ON v.id = s.id AND v.version = s.version \
             CROSS JOIN LATERAL (SELECT CASE WHEN a.at > 0 THEN greatest(a.at - {SNIPPET_WINDOW_BEFORE}, 1) END AS start \
                 FROM (SELECT (SELECT min(p) FROM (SELECT lower(s.body_text) AS b OFFSET 0) l, unnest(page.words) w, \
                 strpos(l.b, w) p WHERE p > 0) AS at OFFSET 0) a) f \
             CROSS JOIN LATERAL (SELECT CASE WHEN f.start > 0 THEN ts_headline(page.ts_config::regconfig, \
                 regexp_replace(regexp_replace(substr(s.body_text, f.start, {SNIPPET_WINDOW_CHARS}), \
                 CASE WHEN f.start > 1 THEN '^\\S*\\s+' ELSE '^$' END, ''), \
                 CASE WHEN f.start + {SNIPPET_WINDOW_CHARS} <= char_length(s.body_text) THEN '\\s+\\S*$' ELSE '^$' END, ''), \
                 page.query, {HEADLINE_OPTIONS}) END AS near OFFSET 0) n \
             CROSS JOIN LATERAL (SELECT CASE WHEN strpos(n.near, '<mark>') > 0 THEN NULL \
                 ELSE ts_headline(page.ts_config::regconfig, left(s.body_text, {SNIPPET_PREFIX_CHARS}), page.query, {HEADLINE_OPTIONS}) END AS head OFFSET 0) h \
             ORDER BY page.recency > "
        ))
        .push_bind(window)
        .push(", page.rank DESC, page.recency");
    sql
}

/// The statement counting every match of a search.
pub(super) fn count_sql(query: &Query, parsed: &Parsed) -> QueryBuilder<Postgres> {
    let mut sql = QueryBuilder::new("SELECT COALESCE(SUM(n), 0)::int8 FROM (");
    for (i, (lang, tsquery)) in parsed.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT COUNT(*) AS n FROM speeches s");
        push_branch_where(&mut sql, query, *lang, tsquery);
    }
    sql.push(") c");
    sql
}
