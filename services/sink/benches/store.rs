//! Write throughput of both stores: 20,000 generated records in batches of 256 (the
//! consumer's batch size), each batch one transaction. Run with `cargo bench -p sink`.
//!
//! PostgreSQL: a fresh database on `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use shared::{Kind, Lang, SpeechRecord};
use sink::store::{PgStore, SqliteStore, Store, StoreOutcome};
use sqlx::Connection as _;

const RECORDS: u32 = 20_000;
const BATCH: usize = 256;

fn generate() -> Vec<SpeechRecord> {
    let start = Utc.with_ymd_and_hms(2024, 6, 30, 9, 0, 0).unwrap();
    let speakers = [
        "Sergey Lavrov",
        "Maria Zakharova",
        "Alexander Grushko",
        "Sergey Ryabkov",
    ];
    (0..RECORDS)
        .map(|i| {
            let lang = if i % 3 == 0 { Lang::Ru } else { Lang::En };
            let paragraphs: Vec<String> = (0..12)
                .map(|p| {
                    format!(
                        "Paragraph {p} of statement {i}: the minister discussed strategic stability, \
                         bilateral trade, the situation in the region and cooperation within \
                         international organisations, answering questions from journalists \
                         about sanctions, energy and security guarantees."
                    )
                })
                .collect();
            let published = start - Duration::minutes(i64::from(i) * 37);
            let mut record = SpeechRecord {
                schema_version: 1,
                id: SpeechRecord::make_id("mid.ru", &(1_000_000 + i).to_string(), lang),
                source: "mid.ru".into(),
                doc_id: (1_000_000 + i).to_string(),
                lang,
                url: format!("https://mid.ru/{lang}/foreign_policy/news/{}/", 1_000_000 + i),
                title: format!("Foreign Minister's remarks at a news conference, number {i}"),
                kind: Kind::ALL[i as usize % Kind::ALL.len()],
                speakers: vec![speakers[i as usize % speakers.len()].to_string()],
                location: Some("Moscow".into()),
                event_date: Some(published.date_naive()),
                published_at: Some(published.fixed_offset()),
                doc_number: None,
                paragraphs,
                turns: vec![],
                tags: vec!["Bench".into()],
                translations: BTreeMap::new(),
                quality: Default::default(),
                content_hash: String::new(),
                fetched_at: Utc::now(),
                parser_version: "bench".into(),
            };
            record.content_hash = record.compute_content_hash();
            record
        })
        .collect()
}

async fn measure<S: Store>(name: &str, store: &S, records: &[SpeechRecord]) {
    let started = Instant::now();
    let mut inserted = 0;
    for batch in records.chunks(BATCH) {
        let outcomes = store.store_batch(batch).await.expect("store batch");
        inserted += outcomes
            .iter()
            .filter(|o| **o == StoreOutcome::Inserted)
            .count();
    }
    let elapsed = started.elapsed();
    assert_eq!(inserted, records.len());
    println!(
        "{name:<10} insert   {} records in {:>6.2} s = {:>7.0} records/s (batches of {BATCH})",
        records.len(),
        elapsed.as_secs_f64(),
        records.len() as f64 / elapsed.as_secs_f64()
    );
    // Redelivery of everything: every record is recognised as unchanged.
    let started = Instant::now();
    for batch in records.chunks(BATCH) {
        store.store_batch(batch).await.expect("store batch");
    }
    let elapsed = started.elapsed();
    println!(
        "{name:<10} redeliver {} records in {:>6.2} s = {:>7.0} records/s (all unchanged)",
        records.len(),
        elapsed.as_secs_f64(),
        records.len() as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let records = generate();
    println!(
        "{} records, {} KiB of JSON on average",
        records.len(),
        records
            .iter()
            .map(|r| serde_json::to_vec(r).unwrap().len())
            .sum::<usize>()
            / records.len()
            / 1024
    );

    let dir = testkit::TempDir::new("sink-bench");
    let sqlite = SqliteStore::open(&dir.path().join("bench.db"))
        .await
        .expect("open SQLite");
    measure("sqlite", &sqlite, &records).await;
    sqlite.close().await;

    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let name = format!("sink_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is required for this benchmark and {admin} is unreachable: {e}")
        });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create the benchmark database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let pg = PgStore::open(&format!("{base}/{name}"))
        .await
        .expect("open PostgreSQL");
    measure("postgres", &pg, &records).await;
    pg.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .expect("drop the benchmark database");
}
