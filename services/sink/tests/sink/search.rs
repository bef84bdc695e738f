//! Search order on many matches, run on both stores by the suite in `store.rs`: the newest
//! `SEARCH_RANK_WINDOW` matches ranked, older ones newest first, every match on exactly one
//! page; edits that move a record in time; records published in the same microsecond.

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset};
use shared::{Kind, Lang, SpeechRecord, Turn};
use sink::store::{Cursor, Query, SEARCH_RANK_WINDOW, Store, StoreOutcome, sort_key};

use crate::support::{edited, generated, record};

/// How many records the window holds.
fn window() -> usize {
    usize::try_from(SEARCH_RANK_WINDOW).expect("a small window")
}

/// Every result of `query`, walking its pages by cursor.
pub async fn walk<S: Store>(store: &S, mut query: Query) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let page = store.list(&query).await.expect("search");
        assert!(page.items.iter().all(|h| h.snippet.is_some()));
        seen.extend(page.items.into_iter().map(|h| h.id));
        match page.next_cursor {
            Some(cursor) => {
                assert!(matches!(cursor, Cursor::Offset(_)));
                query.cursor = Some(cursor);
            }
            None => return seen,
        }
    }
}

fn search(q: &str, limit: u32) -> Query {
    Query {
        q: Some(q.into()),
        limit,
        ..Query::default()
    }
}

/// `records`' ids, newest first.
fn newest_first(records: &[SpeechRecord]) -> Vec<String> {
    let mut sorted: Vec<&SpeechRecord> = records.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(sort_key(r)));
    sorted.into_iter().map(|r| r.id.clone()).collect()
}

/// `record` published at `at` instead (a new version).
fn republished(record: &SpeechRecord, at: DateTime<FixedOffset>) -> SpeechRecord {
    let mut moved = record.clone();
    moved.published_at = Some(at);
    moved.content_hash = moved.compute_content_hash();
    moved
}

/// With more matches than the window: the first pages rank the newest matches only (a loud
/// old record does not jump ahead), the rest follow newest first, each match once.
pub async fn search_ranks_the_newest_matches_then_older_ones_newest_first<S: Store>(store: S) {
    let mut records = generated(u32::try_from(window()).expect("window") + 60, 1_000);
    let loud = |doc: u32, at: &str| {
        record(
            doc,
            Lang::En,
            Kind::Statement,
            at,
            "Economy, economy and the economy",
            &[],
            &["The economy: economy, economy, economy."],
        )
    };
    // Inside the window (generated records are one a day back from 2024-06-30), and older
    // than every other match.
    records.push(loud(1, "2024-06-20T12:00:00+03:00"));
    records.push(loud(2, "2001-01-01T12:00:00+03:00"));
    store.store_batch(&records).await.expect("store");
    let order = newest_first(&records);
    let seen = walk(&store, search("economy", 50)).await;
    assert_eq!(seen.len(), records.len(), "every match once: {seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), records.len());
    assert_eq!(seen[0], "mid.ru:1:en", "the loudest of the window leads");
    let ranked: HashSet<&String> = seen[..window()].iter().collect();
    assert_eq!(
        ranked,
        order[..window()].iter().collect(),
        "the first pages hold the newest matches"
    );
    assert_eq!(
        &seen[window()..],
        &order[window()..],
        "older ones newest first"
    );
    assert_eq!(seen.last().map(String::as_str), Some("mid.ru:2:en"));
    // Filters apply before the window: Zakharova's matches are counted from her newest.
    let hers = Query {
        speaker: Some("Zakharova".into()),
        ..search("economy", 20)
    };
    let theirs: Vec<String> = newest_first(
        &records
            .iter()
            .filter(|r| r.speakers.iter().any(|s| s.contains("Zakharova")))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let seen = walk(&store, hers.clone()).await;
    assert_eq!(seen.len(), theirs.len());
    assert_eq!(seen.iter().collect::<HashSet<_>>(), theirs.iter().collect());
    assert_eq!(
        store.count(&hers).await.expect("count"),
        theirs.len() as u64
    );
    assert_eq!(
        store.count(&search("economy", 20)).await.expect("count"),
        records.len() as u64
    );
}

/// An edit that changes the publication time moves the record among the matches.
pub async fn search_follows_a_changed_publication_time<S: Store>(store: S) {
    let records = generated(u32::try_from(window()).expect("window") + 40, 2_000);
    store.store_batch(&records).await.expect("store");
    let newest = records.first().expect("records").clone();
    let oldest = records.last().expect("records").clone();
    let at = |s: &str| DateTime::parse_from_rfc3339(s).expect("date");
    let edits = [
        republished(&newest, at("1999-01-01T00:00:00+00:00")),
        republished(&oldest, at("2025-01-01T00:00:00+00:00")),
    ];
    assert_eq!(
        store.store_batch(&edits).await.expect("edit"),
        vec![StoreOutcome::NewVersion; 2]
    );
    let seen = walk(&store, search("economy", 30)).await;
    assert_eq!(seen.len(), records.len());
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), records.len());
    assert_eq!(seen.last(), Some(&newest.id), "moved back in time: last");
    assert!(
        seen[..window()].contains(&oldest.id),
        "moved forward: among the newest"
    );
    // A `since` that only the moved record meets.
    let since = Query {
        since: Some(at("2024-12-01T00:00:00+00:00").to_utc()),
        ..search("economy", 30)
    };
    assert_eq!(walk(&store, since).await, vec![oldest.id.clone()]);
    let until = Query {
        until: Some(at("2000-01-01T00:00:00+00:00").to_utc()),
        ..search("economy", 30)
    };
    assert_eq!(walk(&store, until).await, vec![newest.id.clone()]);
}

/// Records published in the same microsecond, more of them than the window (and than the
/// 2,048 search keys SQLite gives a microsecond), are each found once, with `since` and
/// `until` bounding exactly that microsecond.
pub async fn search_finds_every_record_published_at_once<S: Store>(store: S) {
    let at = DateTime::parse_from_rfc3339("2024-03-01T10:00:00.000001+03:00").expect("date");
    let same: Vec<SpeechRecord> = generated(2_100, 5_000)
        .iter()
        .map(|r| republished(r, at))
        .collect();
    let before = record(
        1,
        Lang::En,
        Kind::Speech,
        "2024-03-01T10:00:00+03:00",
        "A microsecond earlier",
        &[],
        &["The economy, a microsecond earlier."],
    );
    let after = record(
        2,
        Lang::En,
        Kind::Speech,
        "2024-03-01T10:00:00.000002+03:00",
        "A microsecond later",
        &[],
        &["The economy, a microsecond later."],
    );
    for batch in same.chunks(256) {
        store.store_batch(batch).await.expect("store");
    }
    store
        .store_batch(&[before.clone(), after.clone()])
        .await
        .expect("store");
    let seen = walk(&store, search("economy", 500)).await;
    assert_eq!(seen.len(), same.len() + 2);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), same.len() + 2);
    assert_eq!(seen.last(), Some(&before.id), "the earlier record last");
    let exactly = Query {
        since: Some(at.to_utc()),
        until: Some((at + Duration::microseconds(1)).to_utc()),
        ..search("economy", 500)
    };
    let seen = walk(&store, exactly.clone()).await;
    assert_eq!(seen.len(), same.len(), "since/until hold every one");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        same.iter().map(|r| &r.id).collect()
    );
    assert_eq!(
        store.count(&exactly).await.expect("count"),
        same.len() as u64
    );
}

/// The searchable body as the store writes it (paragraphs, blank lines between).
fn body(record: &SpeechRecord) -> String {
    record.paragraphs.join("\n\n")
}

/// A database written in the layout before migration 0017 (the full-text rowid was the
/// record's implicit rowid, in the order records arrived) searches newest first once opened
/// (migrated), and takes edits that move a record in time.
#[tokio::test]
async fn an_archive_of_the_old_layout_searches_newest_first_after_migrating() {
    let dir = testkit::TempDir::new("sink-sqlite-old");
    let path = dir.path().join("old.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("create the database");
    sqlx::migrate!("./migrations/sqlite")
        .run_to(14, &pool)
        .await
        .expect("the layout before 0017");
    let records = generated(u32::try_from(window()).expect("window") + 30, 3_000);
    // Arrival order unrelated to publication: odd records first, then even ones.
    let arrival = records
        .iter()
        .skip(1)
        .step_by(2)
        .chain(records.iter().step_by(2));
    for r in arrival {
        let json = serde_json::to_string(r).expect("JSON");
        let rowid: i64 = sqlx::query_scalar(
            "INSERT INTO speeches (id, source, doc_id, lang, kind, title, url, speakers,
                 published_us, content_hash, version, record, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, '2025-01-01T00:00:00Z')
             RETURNING rowid",
        )
        .bind(&r.id)
        .bind(&r.source)
        .bind(&r.doc_id)
        .bind(r.lang.as_str())
        .bind(r.kind.as_str())
        .bind(&r.title)
        .bind(&r.url)
        .bind(serde_json::to_string(&r.speakers).expect("JSON"))
        .bind(sort_key(r))
        .bind(&r.content_hash)
        .bind(&json)
        .fetch_one(&pool)
        .await
        .expect("old row");
        sqlx::query("INSERT INTO speeches_fts (rowid, title, body) VALUES (?1, ?2, ?3)")
            .bind(rowid)
            .bind(&r.title)
            .bind(body(r))
            .execute(&pool)
            .await
            .expect("old index row");
        sqlx::query(
            "INSERT INTO speech_versions (id, version, content_hash, record, stored_at)
             VALUES (?1, 1, ?2, ?3, '2025-01-01T00:00:00Z')",
        )
        .bind(&r.id)
        .bind(&r.content_hash)
        .bind(&json)
        .execute(&pool)
        .await
        .expect("old version");
        sqlx::query("INSERT INTO speech_events (id, version) VALUES (?1, 1)")
            .bind(&r.id)
            .execute(&pool)
            .await
            .expect("old event");
    }
    pool.close().await;

    let store = sink::store::SqliteStore::open(&path)
        .await
        .expect("open and migrate");
    assert_index_matches_text(&path).await;
    let order = newest_first(&records);
    let seen = walk(&store, search("economy", 50)).await;
    assert_eq!(seen.len(), records.len());
    assert_eq!(
        seen[..window()].iter().collect::<HashSet<_>>(),
        order[..window()].iter().collect()
    );
    assert_eq!(&seen[window()..], &order[window()..]);
    let first = store.list(&search("economy", 1)).await.expect("search");
    let snippet = first.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("<mark>economy</mark>"), "{snippet}");
    // An edit after migrating moves the oldest record to the front of the matches.
    let oldest = records.last().expect("records");
    let moved = republished(
        oldest,
        DateTime::parse_from_rfc3339("2025-01-01T00:00:00+00:00").expect("date"),
    );
    assert_eq!(
        store.store_batch(&[moved]).await.expect("edit"),
        vec![StoreOutcome::NewVersion]
    );
    let since = Query {
        since: Some(
            DateTime::parse_from_rfc3339("2024-12-01T00:00:00+00:00")
                .expect("date")
                .to_utc(),
        ),
        ..search("economy", 10)
    };
    assert_eq!(walk(&store, since).await, vec![oldest.id.clone()]);
    assert_eq!(
        walk(&store, search("economy", 50)).await.len(),
        records.len()
    );
    store.close().await;
}

/// Fails unless the full-text index of the SQLite database at `path` holds exactly the text
/// its records show (`speeches_text`), token for token (FTS5's integrity check against its
/// content).
async fn assert_index_matches_text(path: &std::path::Path) {
    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
            .await
            .expect("open the database");
    sqlx::query("INSERT INTO speeches_fts (speeches_fts, rank) VALUES ('integrity-check', 1)")
        .execute(&pool)
        .await
        .expect("the full-text index matches the records' text");
    pool.close().await;
}

/// The SQLite index keeps no copy of the text (migration 0021): it reads a record's text from
/// its latest version to unindex it, so edits of the body, of the publication time and of both,
/// on records of paragraphs, of Q&A turns only and of no text at all, leave an index that
/// matches the records, finds the new words and not the old ones, and marks snippets in turns.
#[tokio::test]
async fn the_sqlite_index_follows_edits_without_a_copy_of_the_text() {
    let db = crate::support::SqliteDb::new().await;
    let store = db.store.clone();
    let mut records = generated(40, 7_000);
    let mut turns = record(
        7_100,
        Lang::En,
        Kind::Interview,
        "2024-07-02T10:00:00+03:00",
        "Interview to a newspaper",
        &["Sergey Lavrov"],
        &[],
    );
    turns.turns = vec![
        Turn {
            speaker: "Question".into(),
            text: "Will the pipeline be finished?\n\nAnd when?".into(),
            interpreted: false,
            outlet: Some("Kommersant".into()),
        },
        Turn {
            speaker: "Sergey Lavrov".into(),
            text: "The pipeline will be finished on schedule.".into(),
            interpreted: true,
            outlet: None,
        },
    ];
    turns.content_hash = turns.compute_content_hash();
    let empty = record(
        7_101,
        Lang::En,
        Kind::Statement,
        "2024-07-03T10:00:00+03:00",
        "A statement without text",
        &[],
        &[],
    );
    records.extend([turns.clone(), empty.clone()]);
    store.store_batch(&records).await.expect("store");
    assert_index_matches_text(&db.path).await;

    let moved_at = DateTime::parse_from_rfc3339("2025-03-01T12:00:00+03:00").expect("date");
    let rewritten = |r: &SpeechRecord| edited(r, &["Nothing but a zebra crossing now."]);
    let mut turns_edited = turns.clone();
    turns_edited.turns[1].text = "The pipeline is finished; the zebra was late.".into();
    turns_edited.content_hash = turns_edited.compute_content_hash();
    let edits = vec![
        rewritten(&records[0]),
        republished(&records[1], moved_at),
        republished(&rewritten(&records[2]), moved_at),
        turns_edited,
        republished(&empty, moved_at),
    ];
    assert_eq!(
        store.store_batch(&edits).await.expect("edits"),
        vec![StoreOutcome::NewVersion; edits.len()]
    );
    assert_index_matches_text(&db.path).await;

    let zebra: HashSet<String> = walk(&store, search("zebra", 50))
        .await
        .into_iter()
        .collect();
    let expected = [&records[0], &records[2], &turns]
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(zebra, expected);
    let strategic = walk(&store, search("strategic", 50)).await;
    assert_eq!(strategic.len(), 40 - 2, "{strategic:?}");
    assert!(!strategic.contains(&records[0].id) && !strategic.contains(&records[2].id));
    let hit = store.list(&search("schedule", 5)).await.expect("search");
    assert!(hit.items.is_empty(), "the old answer is unindexed");
    let hit = store
        .list(&search("finished zebra", 5))
        .await
        .expect("search");
    let snippet = hit.items[0].snippet.clone().expect("snippet");
    assert!(
        snippet.contains("Sergey Lavrov: The pipeline is <mark>finished</mark>"),
        "{snippet}"
    );
    store.close().await;
}

/// Prose written as the ministry writes (no hyphenated compounds, addresses or decimals,
/// which PostgreSQL's tokeniser keeps whole): the sink's search vector is PostgreSQL's own
/// `to_tsvector` of the title (weight A) and body (weight B), lexeme for lexeme and position
/// for position, so `ts_headline` marks the words the sink's queries find.
#[tokio::test]
async fn the_sinks_search_vectors_are_postgresqls_for_prose() {
    let cases = [
        (
            Lang::En,
            "Foreign Minister Sergey Lavrov's remarks at the G20 ministerial meeting",
            "Colleagues, we have discussed the situation in the Middle East and the \
             prospects of strategic stability. Russia's position has not changed since 2023: \
             the sanctions imposed by Washington and Brussels are illegitimate. Question: \
             Will the negotiations resume? Sergey Lavrov: We are ready for talks, as we have \
             always been, provided our partners respect the agreements they signed.",
        ),
        (
            Lang::Ru,
            "Выступление Министра иностранных дел России С.В.Лаврова на заседании СМИД ШОС",
            "Уважаемые коллеги, мы обсудили ситуацию на Ближнем Востоке и перспективы \
             стратегической стабильности. Позиция России не изменилась с 2023 года: \
             санкции, введённые Вашингтоном и Брюсселем, нелегитимны. Вопрос: возобновятся \
             ли переговоры? С.В.Лавров: Мы готовы к переговорам, как всегда были, если наши \
             партнёры уважают подписанные ими договорённости, включая решения NATO и \
             Security Council.",
        ),
    ];
    let db = crate::support::PgDb::create().await;
    let mut conn = {
        use sqlx::Connection as _;
        sqlx::PgConnection::connect(&db.url)
            .await
            .expect("connect to the test database")
    };
    for (lang, title, body) in cases {
        let config = match lang {
            Lang::En => "english",
            _ => "russian",
        };
        let (ours, theirs): (String, String) = sqlx::query_as(
            "SELECT $1::text,
                 (setweight(to_tsvector($2::regconfig, $3), 'A')
                  || setweight(to_tsvector($2::regconfig, $4), 'B'))::text",
        )
        .bind(sink::search::lexemes::document_vector(lang, title, body))
        .bind(config)
        .bind(title)
        .bind(body)
        .fetch_one(&mut conn)
        .await
        .expect("vectors");
        assert_eq!(ours, theirs, "{lang:?}");
    }
    drop(conn);
    db.drop_db().await;
}

/// Records whose search vectors PostgreSQL made (before migration 0018) get the sink's when
/// the store opens, and are found by the sink's queries.
#[tokio::test]
async fn records_indexed_by_an_earlier_version_are_indexed_again_when_the_store_opens() {
    let db = crate::support::PgDb::create().await;
    let records = generated(12, 5_000);
    let store = sink::store::PgStore::open(&db.url).await.expect("open");
    store.store_batch(&records).await.expect("write");
    store.close().await;
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        // As an earlier version left them: vectors of other words, version 0.
        sqlx::query(
            "UPDATE speeches SET tsv = to_tsvector('simple', 'elsewhere'), tsv_version = 0",
        )
        .execute(&mut conn)
        .await
        .expect("age the rows");
    }
    let store = sink::store::PgStore::open(&db.url).await.expect("reopen");
    assert_eq!(
        walk(&store, search("economy", 5)).await.len(),
        records.len(),
        "every record is found by its words again"
    );
    assert_eq!(
        store.count(&search("elsewhere", 5)).await.expect("count"),
        0
    );
    store.close().await;
    db.drop_db().await;
}

/// The English and Russian search indexes' pending entries (`pgstatginindex`).
async fn pending_entries(conn: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT SUM(pending_tuples)::int8 FROM (
             SELECT (pgstatginindex('speeches_tsv_en')).pending_tuples
             UNION ALL SELECT (pgstatginindex('speeches_tsv_ru')).pending_tuples) p",
    )
    .fetch_one(conn)
    .await
    .expect("read the search indexes' pending lists")
}

#[tokio::test]
async fn new_search_entries_are_merged_in_the_background_and_found_meanwhile() {
    use sqlx::Connection as _;
    let db = crate::support::PgDb::create().await;
    let store = sink::store::PgStore::open(&db.url).await.expect("open");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .execute(&mut conn)
        .await
        .expect("pgstattuple (PostgreSQL's contrib modules) to read the pending lists");
    // Far below PostgreSQL's own 4 MB limit: without the upkeep these entries would stay
    // pending until autovacuum (off here) or a later write filled the list.
    let records = generated(40, 5_000);
    store.store_batch(&records).await.expect("write");
    // Found at once, merged or not.
    assert_eq!(
        walk(&store, search("economy", 5)).await.len(),
        records.len()
    );
    let mut pending = pending_entries(&mut conn).await;
    for _ in 0..60 {
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        pending = pending_entries(&mut conn).await;
    }
    assert_eq!(
        pending, 0,
        "the pending entries were not merged within 30 s"
    );
    assert_eq!(
        walk(&store, search("economy", 5)).await.len(),
        records.len()
    );
    drop(conn);
    store.close().await;
    db.drop_db().await;
}
