//! Writing the archive through the store's own write path (`Store::store_batch`, batches of
//! 256 as the consumer writes them), then editing a share of the records so that they have
//! a version history.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use shared::SpeechRecord;
use sink::store::{AnyStore, Store as _, StoreOutcome};
use testkit::archive::Archive;

/// The consumer's batch size.
pub const BATCH: usize = 256;
/// Every `EDIT_EVERY`-th record is stored again with an edit (a second version).
pub const EDIT_EVERY: u64 = 100;

/// What writing the archive cost.
pub struct Written {
    /// Records written.
    pub records: u64,
    /// Time of the write loop for all of them (with the final merge of pending search
    /// entries).
    pub store_time: Duration,
    /// Time of the write loop for the last tenth (writing into the nearly full archive).
    pub last_tenth_time: Duration,
    /// Records in the last tenth.
    pub last_tenth: u64,
    /// Edited records stored as second versions, and the time that took.
    pub edits: u64,
    /// Time of the edits.
    pub edit_time: Duration,
    /// Time spent making the records before the writes (not in `store_time`).
    pub make_time: Duration,
    /// Time of `VACUUM ANALYZE` / `ANALYZE` after the load.
    pub analyze_time: Duration,
}

impl Written {
    /// Records per second overall.
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.store_time.as_secs_f64()
    }

    /// Records per second into the nearly full archive.
    pub fn last_tenth_rate(&self) -> f64 {
        self.last_tenth as f64 / self.last_tenth_time.as_secs_f64()
    }

    /// Edits per second.
    pub fn edit_rate(&self) -> f64 {
        self.edits as f64 / self.edit_time.as_secs_f64()
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        format!(
            "{} records at {:.0}/s (last tenth {:.0}/s; made in {:.1} s before the writes), {} edits at {:.0}/s, analyze {:.1} s",
            self.records,
            self.rate(),
            self.last_tenth_rate(),
            self.make_time.as_secs_f64(),
            self.edits,
            self.edit_rate(),
            self.analyze_time.as_secs_f64()
        )
    }
}

/// Record `i` as edited later: a corrected title and one more paragraph.
pub fn edited(archive: &Archive, i: u64) -> SpeechRecord {
    let mut record = archive.record(i);
    record.title.push_str(" (updated)");
    record
        .paragraphs
        .push("The text of this statement was updated after publication.".to_string());
    record.content_hash = record.compute_content_hash();
    record
}

async fn store(store: &AnyStore, batch: &[SpeechRecord]) -> Result<Duration> {
    let started = Instant::now();
    let outcomes = store
        .store_batch(batch)
        .await
        .context("store_batch failed")?;
    let took = started.elapsed();
    let stored = outcomes
        .iter()
        .filter(|o| !matches!(o, StoreOutcome::Unchanged))
        .count();
    anyhow::ensure!(
        stored == batch.len(),
        "only {stored} of {} records were stored: is the database not empty?",
        batch.len()
    );
    Ok(took)
}

/// Makes every record of an archive of `len` records, in batches of [`BATCH`], on two
/// threads; returns them with the time that took.
fn make_batches(len: u64) -> (Vec<Vec<SpeechRecord>>, Duration) {
    let started = Instant::now();
    let starts: Vec<u64> = (0..len).step_by(BATCH).collect();
    let halves = starts.split_at(starts.len() / 2);
    let make = |starts: &[u64]| -> Vec<Vec<SpeechRecord>> {
        let archive = Archive::new(len);
        starts
            .iter()
            .map(|&start| {
                (start..(start + BATCH as u64).min(len))
                    .map(|i| archive.record(i))
                    .collect()
            })
            .collect()
    };
    let batches = std::thread::scope(|scope| {
        let second = scope.spawn(|| make(halves.1));
        let mut batches = make(halves.0);
        batches.extend(second.join().expect("making records panicked"));
        batches
    });
    (batches, started.elapsed())
}

/// Writes every record of `archive`, then the edits, then refreshes the planner statistics.
/// The records are made first, all of them, and only the write loop is timed, end to end: in
/// the pipeline the sink does not make records (the parser does; the sink decodes them from
/// NATS), and making them beside the writes took CPU from the two cores (~20 s of it for
/// 300,000 records) that the sink never spends.
pub async fn write_archive(target: &AnyStore, archive: &Archive) -> Result<Written> {
    let len = archive.len();
    let tenth_from = len - len / 10;
    eprintln!("    making {len} records before the timed writes");
    let (batches, make_time) = tokio::task::spawn_blocking(move || make_batches(len)).await?;
    let started = Instant::now();
    let mut tenth_started = None;
    let mut written = 0;
    for batch in batches {
        if written >= tenth_from && tenth_started.is_none() {
            tenth_started = Some(Instant::now());
        }
        store(target, &batch).await?;
        written += batch.len() as u64;
        if written % 25_600 == 0 {
            eprintln!(
                "    {written} records, {:.0}/s so far",
                written as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    anyhow::ensure!(
        written == len,
        "only {written} of {len} records were written"
    );
    // The search indexes' entries still pending are merged now and counted in the writes'
    // time: the store's upkeep merges them beside the writes.
    if let AnyStore::Postgres(pg) = target {
        pg.merge_search_entries().await?;
    }
    let store_time = started.elapsed();
    let last_tenth_time = tenth_started.map_or(Duration::ZERO, |t| t.elapsed());
    let mut edits = 0;
    let mut edit_time = Duration::ZERO;
    let ids: Vec<u64> = (0..len).step_by(EDIT_EVERY as usize).collect();
    for chunk in ids.chunks(BATCH) {
        let batch: Vec<SpeechRecord> = chunk.iter().map(|&i| edited(archive, i)).collect();
        edit_time += store(target, &batch).await?;
        edits += batch.len() as u64;
    }
    let started = Instant::now();
    match target {
        AnyStore::Postgres(pg) => pg.analyze().await?,
        AnyStore::Sqlite(lite) => lite.analyze().await?,
    }
    Ok(Written {
        records: len,
        store_time,
        last_tenth_time,
        last_tenth: len - tenth_from,
        edits,
        edit_time,
        make_time,
        analyze_time: started.elapsed(),
    })
}
