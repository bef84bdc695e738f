//! The ministry-feed test kit: a private nats-server per test, the fixture site (a local copy
//! of the ministry's site), and launchers for the service binaries.

pub mod archive;
pub mod browser;
pub mod database;
pub mod nats;
pub mod pg_cluster;
pub mod pipeline;
pub mod proxy;
pub mod rng;
pub mod services;
pub mod site;
pub mod soak;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use browser::Browser;
pub use database::TempDatabase;
pub use nats::{NatsServer, cluster_operator_url, cluster_url, connect as connect_nats, free_port};
pub use pg_cluster::PgCluster;
pub use pipeline::{FetcherMode, Pipeline, PipelineOptions, SiteCorpus};
pub use proxy::TcpProxy;
pub use services::{
    Service, bin_path, http_client, http_get, http_get_json, install_crypto, wait_for, wait_until,
};
pub use shared::nats_auth::Identity;
pub use site::{Corpus, Fault, FixtureSite, Flavor, LoggedRequest, SourceSite, StatementMeta};
pub use tls::TestCa;

/// The workspace root (where `Cargo.toml` with `[workspace]` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "ministry-feed-{prefix}-{}-{n}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fastrand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}
