//! The search indexes' upkeep: their pending entries moved into place in the background.
//!
//! A GIN index takes new entries into a pending list and merges the list into the index when
//! it outgrows `gin_pending_list_limit` (4 MB), in the transaction of the insert that
//! overflowed it. That merge is most of a write's server time in a large archive, and with it
//! in line a batch waits for whichever of its transactions met it while the other cores idle.
//! Here a task of the store merges the lists (`gin_clean_pending_list`) on a connection of its
//! own after every [`CLEAN_EVERY`] records written, or [`GATHER`] after the first write it has not
//! merged (a live pipeline's few records wait no longer than that), and the
//! store's transactions raise their own limit to 64 MB (`write.rs`) so that they leave the
//! merging to it: the merge runs beside the writes, on another core, in larger and cheaper
//! steps. Writers wait when [`BACKLOG`] records are still unmerged, so the lists (which every
//! search reads whole) stay bounded. Entries in a pending list are found by searches like any
//! other: the upkeep changes when the work is done, not what is found.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, watch};

use crate::store::StoreError;

/// Records written between two merges while writing goes on.
const CLEAN_EVERY: u64 = 8_192;

/// Begins a merge's transaction with the server memory it sorts its entries in
/// (`maintenance_work_mem`, for this merge only): the entries of [`CLEAN_EVERY`] records at
/// once, so that each lexeme's posting list is rewritten once a merge.
const BEGIN_MERGE: &str = "BEGIN; SET LOCAL maintenance_work_mem = '256MB'";

/// How long after the first write not yet merged a merge begins, however few records it has.
const GATHER: Duration = Duration::from_secs(1);

/// Unmerged records at which writers wait for the merge in progress.
const BACKLOG: u64 = 2 * CLEAN_EVERY;

/// Waits after a failed merge before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The state shared by the store's writers and its upkeep task.
#[derive(Debug)]
struct Shared {
    /// Records written since the last merge began.
    unmerged: AtomicU64,
    /// Whether the task is merging; false once it found it may not (the database role does not
    /// own the indexes), and the writers then leave merging to PostgreSQL as before.
    active: AtomicBool,
    /// Merges finished, for writers waiting on the backlog.
    merged: watch::Sender<u64>,
}

/// The writers' side of the upkeep, held by the store (dropping every clone ends the task).
#[derive(Debug, Clone)]
pub(super) struct SearchUpkeep {
    shared: Arc<Shared>,
    wake: mpsc::Sender<()>,
}

impl SearchUpkeep {
    /// Starts the upkeep task of the store's `pool`.
    pub(super) fn start(pool: PgPool) -> SearchUpkeep {
        let shared = Arc::new(Shared {
            unmerged: AtomicU64::new(0),
            active: AtomicBool::new(true),
            merged: watch::Sender::new(0),
        });
        let (wake, woken) = mpsc::channel(1);
        tokio::spawn(run(pool, Arc::clone(&shared), woken));
        SearchUpkeep { shared, wake }
    }

    /// Whether the task merges the pending lists (the writers then raise their limit).
    pub(super) fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Waits while [`BACKLOG`] records are unmerged, before a write adds more: until a merge
    /// finishes, or [`RETRY_AFTER`] passes while merging fails (the write then goes on, and
    /// PostgreSQL's own limit bounds the lists).
    pub(super) async fn wait_for_room(&self) {
        let mut merged = self.shared.merged.subscribe();
        merged.mark_unchanged();
        if self.is_active() && self.shared.unmerged.load(Ordering::Relaxed) >= BACKLOG {
            let _ = self.wake.try_send(());
            let _ = tokio::time::timeout(RETRY_AFTER, merged.changed()).await;
        }
    }

    /// Counts `records` written (committed) and wakes the task.
    pub(super) fn written(&self, records: u64) {
        if records == 0 || !self.is_active() {
            return;
        }
        self.shared.unmerged.fetch_add(records, Ordering::Relaxed);
        // A full channel means the task is already woken.
        let _ = self.wake.try_send(());
    }
}

/// Moves every search index's pending entries into place: those present when it begins are
/// merged when it returns. Waits for a merge already running.
pub(super) async fn merge_pending(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin_with(BEGIN_MERGE).await?;
    sqlx::query(
        "SELECT gin_clean_pending_list(c.oid) FROM pg_class c
         JOIN pg_index i ON i.indexrelid = c.oid
         JOIN pg_am a ON a.oid = c.relam AND a.amname = 'gin'
         WHERE i.indrelid = 'speeches'::regclass",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The upkeep task: merges after [`CLEAN_EVERY`] records, or [`GATHER`] after the first
/// write not yet merged, until the store is dropped or its pool closed.
async fn run(pool: PgPool, shared: Arc<Shared>, mut woken: mpsc::Receiver<()>) {
    loop {
        if shared.unmerged.load(Ordering::Relaxed) == 0 && woken.recv().await.is_none() {
            break;
        }
        // Gather writes until there are enough to merge, or for GATHER at most.
        let deadline = tokio::time::Instant::now() + GATHER;
        while shared.unmerged.load(Ordering::Relaxed) < CLEAN_EVERY {
            match tokio::time::timeout_at(deadline, woken.recv()).await {
                Ok(Some(())) => {}
                Ok(None) => return stop(&shared),
                Err(_gathered) => break,
            }
        }
        let taken = shared.unmerged.swap(0, Ordering::Relaxed);
        if taken == 0 {
            continue;
        }
        match merge_pending(&pool).await {
            Ok(()) => {
                tracing::debug!(records = taken, "search index entries merged");
                shared.merged.send_modify(|n| *n += 1);
            }
            Err(_) if pool.is_closed() => break,
            Err(StoreError::Query(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("42501") =>
            {
                tracing::warn!(
                    error = %e,
                    "the database role does not own the search indexes, so the sink cannot merge \
                     their new entries in the background; PostgreSQL merges them during writes \
                     instead (slower for large imports). Run the sink as the role that owns the \
                     tables to enable it"
                );
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "merging the search indexes' new entries failed; retrying in {RETRY_AFTER:?}");
                shared.unmerged.fetch_add(taken, Ordering::Relaxed);
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
    stop(&shared);
}

/// Marks the upkeep stopped and releases writers waiting on the backlog.
fn stop(shared: &Shared) {
    shared.active.store(false, Ordering::Relaxed);
    shared.merged.send_modify(|n| *n += 1);
}
