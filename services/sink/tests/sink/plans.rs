//! Every query shape of the API runs on an index, never on a sequential scan of the records:
//! the plans are read with EXPLAIN on an archive of a few thousand generated records (varied
//! texts, Zipf vocabulary, two languages, 2003–2026) whose statistics are fresh, so the
//! planner chooses as it would on a real archive.

use chrono::{TimeZone as _, Utc};
use shared::{Kind, Lang};
use sink::store::{Cursor, PgStore, Query, Store};
use testkit::archive::Archive;

/// Records in the test archive.
const RECORDS: u64 = 4_000;

/// Every query shape the API sends to the store: listings with each filter, deep cursor
/// pages, the feed (a listing with `limit`), export pages (`limit` 500 plus the cursor),
/// searches for rare and common words, phrases, OR and exclusion, with each filter and on
/// later pages.
fn shapes(archive: &Archive) -> Vec<(String, Query)> {
    let en = archive.vocabulary(Lang::En);
    let ru = archive.vocabulary(Lang::Ru);
    let common = en.word(0).to_string();
    let rare = en.word(en.len() - 100).to_string();
    // Shapes that combine words are planned with a word of middling frequency: on a table of
    // a few thousand rows, reading it whole is rightly cheaper than any index for a query
    // that matches most of it (`scripts/bench archive` checks those on 300,000 records).
    let middling = en.word(60).to_string();
    let since = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).single();
    let until = Utc.with_ymd_and_hms(2016, 1, 1, 0, 0, 0).single();
    let deep = Cursor::After {
        published_us: Utc
            .with_ymd_and_hms(2010, 6, 1, 0, 0, 0)
            .single()
            .map(|t| t.timestamp_micros())
            .unwrap_or_default(),
        id: "mid.ru:100500:en".into(),
    };
    let search = |q: &str| Query {
        q: Some(q.to_string()),
        ..Query::default()
    };
    let mut shapes = vec![
        ("list".to_string(), Query::default()),
        (
            "list lang".into(),
            Query {
                lang: Some(Lang::Ru),
                ..Query::default()
            },
        ),
        (
            "list kind".into(),
            Query {
                kind: Some(Kind::Greetings),
                ..Query::default()
            },
        ),
        (
            "list lang kind".into(),
            Query {
                lang: Some(Lang::En),
                kind: Some(Kind::Briefing),
                ..Query::default()
            },
        ),
        (
            "list speaker".into(),
            Query {
                speaker: Some("Lavrov".into()),
                ..Query::default()
            },
        ),
        (
            "list since".into(),
            Query {
                since,
                ..Query::default()
            },
        ),
        (
            "list until".into(),
            Query {
                until,
                ..Query::default()
            },
        ),
        (
            "list since until".into(),
            Query {
                since,
                until,
                ..Query::default()
            },
        ),
        (
            "list deep cursor".into(),
            Query {
                cursor: Some(deep.clone()),
                ..Query::default()
            },
        ),
        (
            "export page".into(),
            Query {
                limit: 500,
                cursor: Some(deep.clone()),
                kind: Some(Kind::Statement),
                ..Query::default()
            },
        ),
        (
            "feed".into(),
            Query {
                limit: 20,
                lang: Some(Lang::En),
                ..Query::default()
            },
        ),
        ("search rare".into(), search(&rare)),
        ("search common".into(), search(&common)),
        ("search no match".into(), search("zzyzxqq")),
        ("search phrase".into(), search("\"strategic stability\"")),
        ("search or".into(), search(&format!("{rare} OR {middling}"))),
        ("search not".into(), search(&format!("{middling} -{rare}"))),
        ("search russian".into(), search(ru.word(3))),
        (
            "search page 5".into(),
            Query {
                cursor: Some(Cursor::Offset(200)),
                ..search(&common)
            },
        ),
        (
            "search export page".into(),
            Query {
                limit: 500,
                cursor: Some(Cursor::Offset(1_500)),
                ..search(&middling)
            },
        ),
    ];
    let filters: Vec<(&str, Query)> = vec![
        (
            "lang",
            Query {
                lang: Some(Lang::En),
                ..Query::default()
            },
        ),
        (
            "kind",
            Query {
                kind: Some(Kind::Comment),
                ..Query::default()
            },
        ),
        (
            "speaker",
            Query {
                speaker: Some("Zakharova".into()),
                ..Query::default()
            },
        ),
        (
            "since until",
            Query {
                since,
                until,
                ..Query::default()
            },
        ),
    ];
    for (name, filter) in filters {
        for (word, q) in [("rare", &rare), ("common", &common)] {
            shapes.push((
                format!("search {word} + {name}"),
                Query {
                    q: Some(q.clone()),
                    ..filter.clone()
                },
            ));
        }
    }
    shapes
}

async fn load<S: Store>(store: &S, archive: &Archive) {
    let records: Vec<_> = (0..archive.len()).map(|i| archive.record(i)).collect();
    for batch in records.chunks(256) {
        store.store_batch(batch).await.expect("store the archive");
    }
}

/// The plan lines that read a records table whole.
fn full_scans(plan: &str, is_full_scan: impl Fn(&str) -> bool) -> Vec<String> {
    plan.lines()
        .filter(|line| is_full_scan(line))
        .map(str::to_string)
        .collect()
}

/// Search shapes whose words match a large share of this small archive: here reading the
/// table whole is rightly the cheapest plan (the planner knows each language's word
/// frequencies, migration 0016), so they are checked with sequential scans disabled, which
/// shows that they have an index plan (the newest-first walk or the search index) and that
/// it is the one chosen on an archive large enough for a scan to cost more
/// (`scripts/bench archive` measures them on 300,000 records).
fn broad(name: &str) -> bool {
    [
        "search common",
        "search or",
        "search not",
        "search page 5",
        "search export page",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

#[tokio::test]
async fn postgres_queries_use_indexes() {
    let db = crate::support::PgDb::create().await;
    let store = PgStore::open(&db.url).await.expect("open the store");
    let separator = if db.url.contains('?') { '&' } else { '?' };
    let no_seqscan_url = format!("{}{separator}options=-c%20enable_seqscan%3Doff", db.url);
    let no_seqscan = PgStore::open(&no_seqscan_url)
        .await
        .expect("open the store without sequential scans");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&no_seqscan_url)
        .await
        .expect("connect");
    let setting: String = sqlx::query_scalar("SHOW enable_seqscan")
        .fetch_one(&mut conn)
        .await
        .expect("SHOW");
    assert_eq!(setting, "off", "the URL's options did not apply");
    drop(conn);
    let outcome = tokio::spawn(async move {
        let archive = Archive::new(RECORDS);
        load(&store, &archive).await;
        let seq = |line: &str| {
            line.contains("Seq Scan on speeches ") || line.contains("Seq Scan on speech_versions")
        };
        let mut failures = Vec::new();
        // A write's lookups, planned before any statistics exist (a new archive, autovacuum
        // off): by key, or every write reads the whole archive.
        let batch: Vec<_> = (0..128).map(|i| archive.record(i * 29)).collect();
        let plan = store.explain_write_lookups(&batch).await.expect("EXPLAIN");
        if !full_scans(&plan, seq).is_empty() {
            failures.push(format!("a write's lookups without statistics:\n{plan}"));
        }
        store.analyze().await.expect("ANALYZE");
        for (name, query) in shapes(&archive) {
            let planner = if broad(&name) { &no_seqscan } else { &store };
            let plan = planner.explain_list(&query).await.expect("EXPLAIN");
            assert!(plan.contains("speeches"), "{name}: no plan:\n{plan}");
            if !full_scans(&plan, seq).is_empty() {
                failures.push(format!("{name}:\n{plan}"));
            }
            // A search reads its language's search index, or walks the language's
            // newest-first index when the words are common.
            if query.q.is_some()
                && !plan.contains("speeches_tsv_")
                && !(broad(&name) && plan.contains("_newest"))
            {
                failures.push(format!("{name} does not use a search index:\n{plan}"));
            }
        }
        let id = archive.record(7).id;
        let plan = store.explain_get_and_versions(&id).await.expect("EXPLAIN");
        if !full_scans(&plan, seq).is_empty() {
            failures.push(format!("get/versions:\n{plan}"));
        }
        store.close().await;
        no_seqscan.close().await;
        assert!(
            failures.is_empty(),
            "sequential scans:\n{}",
            failures.join("\n\n")
        );
    })
    .await;
    db.drop_db().await;
    if let Err(join) = outcome {
        std::panic::resume_unwind(join.into_panic());
    }
}

/// Whether an SQLite plan walks the full-text matches (`f`) in FTS5's own rowid order,
/// descending: the search key follows publication time (migration 0017), so the walk reads
/// the newest matches and stops at its `LIMIT`, instead of sorting every match in a temporary
/// B-tree. FTS5 reports the order it serves in its index number (0x40 rowid, 0x80
/// descending).
fn walks_newest_first(plan: &str) -> bool {
    plan.lines().any(|line| {
        line.trim()
            .strip_prefix("SCAN f VIRTUAL TABLE INDEX ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n & 0xc0 == 0xc0)
    })
}

#[tokio::test]
async fn sqlite_queries_use_indexes() {
    let db = crate::support::SqliteDb::new().await;
    let archive = Archive::new(RECORDS);
    load(&db.store, &archive).await;
    db.store.analyze().await.expect("ANALYZE");
    // `SCAN s` without `USING … INDEX` reads the table whole.
    let full = |line: &str| {
        let line = line.trim();
        (line.starts_with("SCAN s") || line.starts_with("SCAN speech"))
            && !line.contains("USING")
            && !line.contains("VIRTUAL TABLE")
    };
    let mut failures = Vec::new();
    for (name, query) in shapes(&archive) {
        let plan = db.store.explain_list(&query).await.expect("EXPLAIN");
        if !full_scans(&plan, full).is_empty() {
            failures.push(format!("{name}:\n{plan}"));
        }
        if query.q.is_some() && !plan.contains("VIRTUAL TABLE") {
            failures.push(format!("{name} does not use the full-text index:\n{plan}"));
        }
        if query.q.is_some() && !walks_newest_first(&plan) {
            failures.push(format!(
                "{name} does not walk the matches newest first:\n{plan}"
            ));
        }
        if query.until.is_some() && query.q.is_some() && !plan.contains("speeches_displaced") {
            failures.push(format!(
                "{name} bounds its walk without the displaced-key index:\n{plan}"
            ));
        }
    }
    let plan = db
        .store
        .explain_get_and_versions(&archive.record(7).id)
        .await
        .expect("EXPLAIN");
    if !full_scans(&plan, full).is_empty() {
        failures.push(format!("get/versions:\n{plan}"));
    }
    assert!(
        failures.is_empty(),
        "full scans:\n{}",
        failures.join("\n\n")
    );
}
