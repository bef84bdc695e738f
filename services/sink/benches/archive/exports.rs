//! The exports of the whole archive: JSON Lines and Parquet streamed over HTTP (the sink's
//! RSS sampled meanwhile), and a dataset release written by `sink export --dataset` (its
//! own peak RSS).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::Served;
use crate::rss::{Seen, Watch};

/// One export's figures.
#[derive(Debug, Clone)]
pub struct Export {
    /// What was exported.
    pub name: String,
    /// Bytes written.
    pub bytes: u64,
    /// Wall time.
    pub took: Duration,
    /// The RSS of the process doing the work (the sink, or `sink export`).
    pub rss: Seen,
}

impl Export {
    /// MB/s (10^6 bytes).
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.took.as_secs_f64()
    }
}

async fn over_http(served: &Served, name: &str, path: &str) -> Result<Export> {
    let client = crate::queries::client();
    let url = format!("{}{path}", served.base);
    let pid = served.sink.pid().context("the sink is not running")?;
    let watch = Watch::start(pid);
    let started = Instant::now();
    let mut response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url} answered {}", response.status());
    }
    let mut bytes = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("GET {url}"))?
    {
        bytes += chunk.len() as u64;
    }
    let took = started.elapsed();
    Ok(Export {
        name: name.to_string(),
        bytes,
        took,
        rss: watch.finish(),
    })
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dir_bytes(&path)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

fn dataset(served: &Served, work: &Path) -> Result<Export> {
    let out = work.join("release");
    let bin = testkit::bin_path("sink");
    let started = Instant::now();
    let mut child = Command::new(&bin)
        .args(["export", "--dataset"])
        .arg(&out)
        .args(["--database-url", &served.database_url])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let watch = Watch::start(child.id());
    let status = child.wait()?;
    let took = started.elapsed();
    let rss = watch.finish();
    if !status.success() {
        bail!("sink export --dataset exited with {status}");
    }
    let bytes = dir_bytes(&out);
    std::fs::remove_dir_all(&out).ok();
    Ok(Export {
        name: "`sink export --dataset` (records + turns: Parquet, JSONL.gz)".into(),
        bytes,
        took,
        rss,
    })
}

/// Every export of the archive `served`; `work` is a scratch directory.
pub async fn measure(served: &Served, work: &Path) -> Result<Vec<Export>> {
    let mut out = vec![
        over_http(served, "GET /v1/export.jsonl", "/v1/export.jsonl").await?,
        over_http(served, "GET /v1/export.parquet", "/v1/export.parquet").await?,
        over_http(
            served,
            "GET /v1/export.parquet?table=turns",
            "/v1/export.parquet?table=turns",
        )
        .await?,
    ];
    out.push(dataset(served, work)?);
    Ok(out)
}
