//! Checkpoints of the write-ahead log in the background.
//!
//! In WAL mode SQLite copies the log's pages back into the database file (a checkpoint) in the
//! commit that grows the log past `wal_autocheckpoint` pages: on the one writing connection,
//! which then spends a fifth of its time copying pages and waiting for `fsync` while the other
//! core idles. Here a task of the store checkpoints on a connection of its own after every
//! commit (`PRAGMA wal_checkpoint(PASSIVE)`, which runs beside readers and the writer), and
//! the writer's own threshold is raised to [`WRITER_BACKSTOP_PAGES`]: it checkpoints only
//! when the task falls that far behind, and then only the pages the task has not copied yet.
//! The log restarts from its beginning whenever a write begins with every page copied.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

/// The writing connection's `wal_autocheckpoint`, in pages (4 KiB): far enough past a
/// batch's pages that the writer checkpoints only when the background task falls behind.
pub(super) const WRITER_BACKSTOP_PAGES: &str = "16384";

/// Waits after a failed checkpoint before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The writer's side of the checkpoint task (dropping every clone ends the task).
#[derive(Debug, Clone)]
pub(super) struct Checkpointer {
    wake: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the checkpoint task on `pool` (a connection of its own).
    pub(super) fn start(pool: SqlitePool) -> Checkpointer {
        let (wake, woken) = mpsc::channel(1);
        tokio::spawn(run(pool, woken));
        Checkpointer { wake }
    }

    /// Tells the task that a write committed.
    pub(super) fn committed(&self) {
        // A full channel means the task is already woken.
        let _ = self.wake.try_send(());
    }
}

/// The task: a passive checkpoint after each wake, until the store is dropped or the pool
/// closed.
async fn run(pool: SqlitePool, mut woken: mpsc::Receiver<()>) {
    while woken.recv().await.is_some() {
        let result: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await;
        match result {
            Ok(_) => {}
            Err(_) if pool.is_closed() => break,
            Err(e) => {
                tracing::warn!(error = %e, "checkpointing the SQLite write-ahead log failed; the writer checkpoints in its commits until it works again, next try in {RETRY_AFTER:?}");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}
