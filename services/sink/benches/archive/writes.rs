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
    /// CPU time spent making the records, on their own thread beside the writes.
    pub make_time: Duration,
    /// Time the write loop waited for records to be made (included in `store_time`).
    pub waited: Duration,
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
            "{} records at {:.0}/s (last tenth {:.0}/s; made in {:.1} s beside the writes, waited for {:.1} s), {} edits at {:.0}/s, analyze {:.1} s",
            self.records,
            self.rate(),
            self.last_tenth_rate(),
            self.make_time.as_secs_f64(),
            self.waited.as_secs_f64(),
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

/// Writes every record of `archive`, then the edits, then refreshes the planner statistics.
/// The records are made on a thread of their own while the store writes the batch before,
/// as the consumer fetches the next batch while it writes: the time measured is the write
/// loop's, end to end, and the store's background work meets the CPU already busy.
pub async fn write_archive(target: &AnyStore, archive: &Archive) -> Result<Written> {
    let len = archive.len();
    let tenth_from = len - len / 10;
    let (batches, mut made) = tokio::sync::mpsc::channel::<(u64, Vec<SpeechRecord>)>(2);
    let maker = std::thread::spawn(move || {
        let archive = Archive::new(len);
        let mut make_time = Duration::ZERO;
        let mut i = 0;
        while i < len {
            let making = Instant::now();
            let start = i;
            let end = (i + BATCH as u64).min(len);
            let batch: Vec<SpeechRecord> = (start..end).map(|i| archive.record(i)).collect();
            i = end;
            make_time += making.elapsed();
            if batches.blocking_send((start, batch)).is_err() {
                break;
            }
        }
        make_time
    });
    let started = Instant::now();
    let mut tenth_started = None;
    let mut waited = Duration::ZERO;
    let mut written = 0;
    loop {
        let waiting = Instant::now();
        let Some((start, batch)) = made.recv().await else {
            break;
        };
        waited += waiting.elapsed();
        if start >= tenth_from && tenth_started.is_none() {
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
    let make_time = maker
        .join()
        .map_err(|_| anyhow::anyhow!("making the records panicked"))?;
    anyhow::ensure!(written == len, "only {written} of {len} records were made");
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
        waited,
        analyze_time: started.elapsed(),
    })
}
