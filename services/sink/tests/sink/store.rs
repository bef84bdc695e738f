//! The store test suite, run against SQLite and PostgreSQL alike.

use std::collections::HashSet;

use shared::{Kind, Lang, SpeechRecord};
use sink::store::{Cursor, Query, Store, StoreOutcome};

use crate::search::{
    search_finds_every_record_published_at_once, search_follows_a_changed_publication_time,
    search_ranks_the_newest_matches_then_older_ones_newest_first,
};
use crate::support::{edited, generated, record};

/// Generates one test per backend for each suite function.
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::support::SqliteDb::new().await;
                    super::$name(db.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::support::PgDb::with_store(|store| super::$name(store)).await;
                }
            )*
        }
    };
}

both_stores!(
    stores_and_gets_records,
    redelivery_is_a_no_op_and_edits_are_versions,
    filters_select_records,
    cursor_paging_visits_every_record_once,
    search_is_ranked_and_highlighted,
    search_ranks_by_mentions_not_by_rarity,
    search_pages_by_offset,
    search_ranks_the_newest_matches_then_older_ones_newest_first,
    search_follows_a_changed_publication_time,
    search_finds_every_record_published_at_once,
    hostile_text_is_only_data,
    full_batch_in_one_transaction,
    stored_versions_are_numbered_events,
);

fn ids(records: &[String]) -> Vec<String> {
    records
        .iter()
        .map(|json| {
            serde_json::from_str::<SpeechRecord>(json)
                .expect("stored JSON is a record")
                .id
        })
        .collect()
}

async fn list_ids<S: Store>(store: &S, query: &Query) -> Vec<String> {
    let page = store.list(query).await.expect("list");
    ids(&page.items.into_iter().map(|h| h.record).collect::<Vec<_>>())
}

fn sample() -> Vec<SpeechRecord> {
    vec![
        record(
            1,
            Lang::En,
            Kind::Interview,
            "2024-03-01T10:00:00+03:00",
            "Interview by Foreign Minister Sergey Lavrov to India Today",
            &["Sergey Lavrov"],
            &[
                "Question: How do you see sanctions against Russia?",
                "Sergey Lavrov: Sanctions have not achieved their aims; our economy adapted.",
            ],
        ),
        record(
            2,
            Lang::Ru,
            Kind::Briefing,
            "2024-03-02T12:00:00+03:00",
            "Брифинг официального представителя МИД России М.В.Захаровой",
            &["Maria Zakharova"],
            &[
                "О ситуации вокруг Украины.",
                "Ответы на вопросы СМИ о санкции.",
            ],
        ),
        record(
            3,
            Lang::En,
            Kind::Speech,
            "2024-02-15T09:30:00+03:00",
            "Foreign Minister Sergey Lavrov's remarks at the UN Security Council",
            &["Sergey Lavrov", "Vassily Nebenzia"],
            &[
                "Mr President, colleagues.",
                "The Security Council must uphold the Charter.",
            ],
        ),
        record(
            4,
            Lang::En,
            Kind::Statement,
            "",
            "Statement by the Foreign Ministry on the trade agreement",
            &[],
            &["The trade agreement was signed today."],
        ),
    ]
}

async fn stores_and_gets_records<S: Store>(store: S) {
    store.ping().await.expect("ping");
    let records = sample();
    let outcomes = store.store_batch(&records).await.expect("store");
    assert_eq!(outcomes, vec![StoreOutcome::Inserted; 4]);
    for record in &records {
        let json = store.get(&record.id).await.expect("get").expect("found");
        let back: SpeechRecord = serde_json::from_str(&json).expect("record JSON");
        assert_eq!(&back, record);
    }
    assert_eq!(store.get("mid.ru:999:en").await.expect("get"), None);
    // Several at once, in the order asked, `None` for an unknown id.
    let asked: Vec<String> = vec![
        records[2].id.clone(),
        "mid.ru:999:en".into(),
        records[0].id.clone(),
    ];
    let found = store.records(&asked).await.expect("records");
    assert_eq!(found.len(), 3);
    assert_eq!(found[1], None);
    for (k, i) in [(0, 2), (2, 0)] {
        let back: SpeechRecord =
            serde_json::from_str(found[k].as_deref().expect("found")).expect("record JSON");
        assert_eq!(back, records[i]);
    }
    assert!(store.records(&[]).await.expect("records").is_empty());
    assert!(
        store
            .versions("mid.ru:999:en")
            .await
            .expect("versions")
            .is_empty()
    );
    // Newest first; the record without a date sorts by its fetch time (2025).
    let all = list_ids(&store, &Query::default()).await;
    assert_eq!(
        all,
        vec!["mid.ru:4:en", "mid.ru:2:ru", "mid.ru:1:en", "mid.ru:3:en"]
    );
}

async fn redelivery_is_a_no_op_and_edits_are_versions<S: Store>(store: S) {
    let original = sample().remove(0);
    let edit = edited(
        &original,
        &[
            "Question: How do you see sanctions against Russia?",
            "Sergey Lavrov: Sanctions failed.",
            "A new closing paragraph.",
        ],
    );
    assert_eq!(
        store
            .store_batch(std::slice::from_ref(&original))
            .await
            .expect("store"),
        vec![StoreOutcome::Inserted]
    );
    assert_eq!(
        store
            .store_batch(&[original.clone(), original.clone()])
            .await
            .expect("store"),
        vec![StoreOutcome::Unchanged, StoreOutcome::Unchanged]
    );
    assert_eq!(
        store
            .store_batch(std::slice::from_ref(&edit))
            .await
            .expect("store"),
        vec![StoreOutcome::NewVersion]
    );
    // A late redelivery of the first version does not roll the record back.
    assert_eq!(
        store
            .store_batch(std::slice::from_ref(&original))
            .await
            .expect("store"),
        vec![StoreOutcome::Unchanged]
    );
    let latest: SpeechRecord =
        serde_json::from_str(&store.get(&original.id).await.expect("get").expect("found"))
            .expect("JSON");
    assert_eq!(latest, edit);
    let versions = store.versions(&original.id).await.expect("versions");
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(versions[0].content_hash, original.content_hash);
    assert_eq!(versions[1].content_hash, edit.content_hash);
    // The search index follows the latest version.
    let hits = list_ids(
        &store,
        &Query {
            q: Some("closing".into()),
            ..Query::default()
        },
    )
    .await;
    assert_eq!(hits, vec![original.id.clone()]);
    // Two versions of a new id inside one batch: both kept, the last served.
    let other = sample().remove(2);
    let other_edit = edited(&other, &["Rewritten."]);
    assert_eq!(
        store
            .store_batch(&[other.clone(), other_edit.clone()])
            .await
            .expect("store"),
        vec![StoreOutcome::Inserted, StoreOutcome::NewVersion]
    );
    assert_eq!(store.versions(&other.id).await.expect("versions").len(), 2);
    let served: SpeechRecord =
        serde_json::from_str(&store.get(&other.id).await.expect("get").expect("found"))
            .expect("JSON");
    assert_eq!(served, other_edit);
    assert_eq!(list_ids(&store, &Query::default()).await.len(), 2);
}

async fn filters_select_records<S: Store>(store: S) {
    let mut records = sample();
    // One record of another source, with the same document id as a mid.ru one.
    let mut kremlin = records[0].clone();
    kremlin.source = "kremlin.ru".into();
    kremlin.id = "kremlin.ru:1:en".into();
    kremlin.kind = Kind::Other;
    kremlin.speakers = vec!["Vladimir Putin".into()];
    kremlin.published_at = chrono::DateTime::parse_from_rfc3339("2023-01-01T10:00:00+03:00").ok();
    records.push(kremlin);
    store.store_batch(&records).await.expect("store");
    let q = |f: fn(&mut Query)| {
        let mut query = Query::default();
        f(&mut query);
        query
    };
    assert_eq!(
        list_ids(&store, &q(|q| q.lang = Some(Lang::Ru))).await,
        vec!["mid.ru:2:ru"]
    );
    assert_eq!(
        list_ids(&store, &q(|q| q.source = Some("kremlin.ru".into()))).await,
        vec!["kremlin.ru:1:en"]
    );
    assert_eq!(
        list_ids(
            &store,
            &q(|q| {
                q.source = Some("mid.ru".into());
                q.kind = Some(Kind::Interview);
            })
        )
        .await,
        vec!["mid.ru:1:en"]
    );
    assert_eq!(
        list_ids(&store, &q(|q| q.kind = Some(Kind::Speech))).await,
        vec!["mid.ru:3:en"]
    );
    assert_eq!(
        list_ids(&store, &q(|q| q.speaker = Some("lavrov".into()))).await,
        vec!["mid.ru:1:en", "mid.ru:3:en"]
    );
    assert_eq!(
        list_ids(&store, &q(|q| q.speaker = Some("Nebenzia".into()))).await,
        vec!["mid.ru:3:en"]
    );
    let since = chrono::DateTime::parse_from_rfc3339("2024-03-01T00:00:00+03:00")
        .expect("date")
        .to_utc();
    let until = chrono::DateTime::parse_from_rfc3339("2024-03-02T00:00:00+03:00")
        .expect("date")
        .to_utc();
    let window = Query {
        since: Some(since),
        until: Some(until),
        ..Query::default()
    };
    assert_eq!(list_ids(&store, &window).await, vec!["mid.ru:1:en"]);
    let combined = Query {
        lang: Some(Lang::En),
        speaker: Some("Sergey".into()),
        until: Some(until),
        limit: 1,
        ..Query::default()
    };
    let page = store.list(&combined).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert!(page.next_cursor.is_some());
    assert!(
        list_ids(
            &store,
            &q(|q| {
                q.lang = Some(Lang::De);
            })
        )
        .await
        .is_empty()
    );
}

async fn cursor_paging_visits_every_record_once<S: Store>(store: S) {
    let mut records = generated(23, 100);
    // Two records at the same instant: the id breaks the tie.
    let mut twin = records[0].clone();
    twin.id = "mid.ru:99999:en".into();
    twin.doc_id = "99999".into();
    records.push(twin);
    store.store_batch(&records).await.expect("store");
    let mut seen = Vec::new();
    let mut query = Query {
        limit: 5,
        ..Query::default()
    };
    let mut pages = 0;
    loop {
        let page = store.list(&query).await.expect("list");
        pages += 1;
        assert!(page.items.len() <= 5);
        seen.extend(ids(&page
            .items
            .into_iter()
            .map(|h| h.record)
            .collect::<Vec<_>>()));
        match page.next_cursor {
            Some(cursor) => {
                assert!(matches!(cursor, Cursor::After { .. }));
                query.cursor = Some(cursor);
            }
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 24);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 24);
    let all = list_ids(
        &store,
        &Query {
            limit: 500,
            ..Query::default()
        },
    )
    .await;
    assert_eq!(seen, all, "paging gives the same order as one big page");
}

async fn search_is_ranked_and_highlighted<S: Store>(store: S) {
    store.store_batch(&sample()).await.expect("store");
    let search = |q: &str| Query {
        q: Some(q.into()),
        ..Query::default()
    };
    let page = store.list(&search("sanctions")).await.expect("search");
    assert_eq!(
        ids(&page
            .items
            .iter()
            .map(|h| h.record.clone())
            .collect::<Vec<_>>()),
        vec!["mid.ru:1:en"]
    );
    let snippet = page.items[0].snippet.clone().expect("snippet");
    assert!(snippet.contains("<mark>"), "{snippet}");
    assert!(
        snippet.to_lowercase().contains("sanctions</mark>"),
        "{snippet}"
    );
    // Russian text is searchable too.
    assert_eq!(
        list_ids(&store, &search("Украины")).await,
        vec!["mid.ru:2:ru"]
    );
    // Phrases, OR and exclusion.
    assert_eq!(
        list_ids(&store, &search("\"Security Council\"")).await,
        vec!["mid.ru:3:en"]
    );
    let either = list_ids(&store, &search("trade OR Charter")).await;
    assert_eq!(
        either.iter().collect::<HashSet<_>>(),
        HashSet::from([&"mid.ru:3:en".to_string(), &"mid.ru:4:en".to_string()])
    );
    assert_eq!(
        list_ids(&store, &search("Lavrov -sanctions")).await,
        vec!["mid.ru:3:en"]
    );
    // Ranking: a record that mentions the word many times (and in its title) comes first.
    let mut loud = record(
        10,
        Lang::En,
        Kind::Statement,
        "2020-01-01T00:00:00+03:00",
        "Statement on nuclear disarmament",
        &[],
        &["Nuclear disarmament, nuclear arms control and nuclear stability."],
    );
    loud.content_hash = loud.compute_content_hash();
    let quiet = record(
        11,
        Lang::En,
        Kind::Statement,
        "2024-06-01T00:00:00+03:00",
        "Statement on the weather",
        &[],
        &["It rained. Nuclear was mentioned once in a long text about other matters entirely."],
    );
    store.store_batch(&[loud, quiet]).await.expect("store");
    assert_eq!(
        list_ids(&store, &search("nuclear")).await,
        vec!["mid.ru:10:en", "mid.ru:11:en"]
    );
    // Filters combine with search.
    let filtered = Query {
        lang: Some(Lang::Ru),
        ..search("sanctions")
    };
    assert!(list_ids(&store, &filtered).await.is_empty());
}

/// Relevance counts a record's mentions, not how rare the word is in the archive (as
/// PostgreSQL's `ts_rank`; on SQLite `store_rank`, not FTS5's `bm25`, which would put the
/// record of the rare word first): two records each naming one word twice in texts of the same
/// length tie, and the newer comes first; records naming a word once follow.
async fn search_ranks_by_mentions_not_by_rarity<S: Store>(store: S) {
    let note = |doc: u32, at: &str, body: &str| {
        record(doc, Lang::En, Kind::Statement, at, "Note", &[], &[body])
    };
    let mut records = vec![
        note(
            20,
            "2024-05-01T00:00:00+03:00",
            "Alpha is discussed here. Alpha again.",
        ),
        note(
            21,
            "2024-04-01T00:00:00+03:00",
            "Beta is discussed here. Beta again.",
        ),
    ];
    // "alpha" is common in the archive, "beta" rare.
    records.extend((0..6).map(|i| {
        note(
            30 + i,
            &format!("2023-0{}-01T00:00:00+03:00", i + 1),
            "Alpha is mentioned here. Nothing else.",
        )
    }));
    store.store_batch(&records).await.expect("store");
    let found = list_ids(
        &store,
        &Query {
            q: Some("alpha OR beta".into()),
            ..Query::default()
        },
    )
    .await;
    assert_eq!(found.len(), 8);
    assert_eq!(found[..2], ["mid.ru:20:en", "mid.ru:21:en"], "{found:?}");
}

async fn search_pages_by_offset<S: Store>(store: S) {
    store.store_batch(&generated(12, 500)).await.expect("store");
    let mut query = Query {
        q: Some("economy".into()),
        limit: 5,
        ..Query::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list(&query).await.expect("search");
        assert!(page.items.iter().all(|h| h.snippet.is_some()));
        seen.extend(ids(&page
            .items
            .into_iter()
            .map(|h| h.record)
            .collect::<Vec<_>>()));
        match page.next_cursor {
            Some(cursor) => {
                assert!(matches!(cursor, Cursor::Offset(_)));
                query.cursor = Some(cursor);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 12);
}

async fn hostile_text_is_only_data<S: Store>(store: S) {
    let nasty = record(
        7,
        Lang::En,
        Kind::Comment,
        "2024-01-01T00:00:00+03:00",
        "Robert'); DROP TABLE speeches;-- <b>&amp;</b>",
        &["O'Brien", "100% _wild\\card"],
        &["NUL \u{0} byte, quote ' and \" and emoji 🙂 and SELECT * FROM speeches;"],
    );
    assert_eq!(
        store
            .store_batch(std::slice::from_ref(&nasty))
            .await
            .expect("store"),
        vec![StoreOutcome::Inserted]
    );
    let back: SpeechRecord =
        serde_json::from_str(&store.get(&nasty.id).await.expect("get").expect("found"))
            .expect("JSON");
    assert_eq!(back, nasty);
    let speaker = |s: &str| Query {
        speaker: Some(s.into()),
        ..Query::default()
    };
    assert_eq!(
        list_ids(&store, &speaker("o'brien")).await,
        vec![nasty.id.clone()]
    );
    assert_eq!(
        list_ids(&store, &speaker("100%")).await,
        vec![nasty.id.clone()]
    );
    // Wildcards in the input are literal.
    assert!(list_ids(&store, &speaker("1_0")).await.is_empty());
    assert_eq!(
        list_ids(&store, &speaker("%")).await,
        vec![nasty.id.clone()]
    );
    for q in [
        "'; DROP TABLE speeches; --",
        "\" OR 1=1",
        "emoji 🙂",
        "NEAR(a b)",
        "*",
    ] {
        let _ = store
            .list(&Query {
                q: Some(q.into()),
                ..Query::default()
            })
            .await
            .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"));
    }
    let bad_cursor = Query {
        cursor: Some(Cursor::After {
            published_us: i64::MAX,
            id: "' OR 1=1 --".into(),
        }),
        ..Query::default()
    };
    assert_eq!(list_ids(&store, &bad_cursor).await, vec![nasty.id.clone()]);
    assert_eq!(store.get("' OR '1'='1").await.expect("get"), None);
    store.ping().await.expect("the tables are still there");
    assert_eq!(list_ids(&store, &Query::default()).await.len(), 1);
}

async fn full_batch_in_one_transaction<S: Store>(store: S) {
    let records = generated(256, 1000);
    let outcomes = store.store_batch(&records).await.expect("store");
    assert_eq!(outcomes.len(), 256);
    assert!(outcomes.iter().all(|o| *o == StoreOutcome::Inserted));
    let again = store.store_batch(&records).await.expect("store");
    assert!(again.iter().all(|o| *o == StoreOutcome::Unchanged));
    let page = store
        .list(&Query {
            limit: 500,
            ..Query::default()
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 256);
    assert_eq!(page.next_cursor, None);
    assert_eq!(store.store_batch(&[]).await.expect("empty batch"), vec![]);
}

async fn stored_versions_are_numbered_events<S: Store>(store: S) {
    assert_eq!(store.last_event().await.expect("last event"), 0);
    assert!(store.events_after(0, 10).await.expect("events").is_empty());
    let records = sample();
    store.store_batch(&records).await.expect("store");
    // A redelivery stores nothing, so it is no event; an edit is one.
    store.store_batch(&records[..1]).await.expect("redeliver");
    let edit = edited(&records[0], &["Edited."]);
    store
        .store_batch(std::slice::from_ref(&edit))
        .await
        .expect("edit");
    assert_eq!(store.last_event().await.expect("last event"), 5);
    let events = store.events_after(0, 100).await.expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        vec![1, 2, 3, 4, 5],
        "one event per stored version, in order"
    );
    let last: SpeechRecord = serde_json::from_str(&events[4].record).expect("record JSON");
    assert_eq!(last, edit);
    assert_eq!(events[4].version, 2);
    let page = store.events_after(2, 2).await.expect("events");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert!(store.events_after(5, 10).await.expect("events").is_empty());
}
