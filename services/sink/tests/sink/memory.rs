//! Issue 13 point 6: the exports stream with bounded memory whatever their size. The release
//! sink runs as a process over a SQLite archive of ~100 MB of record JSON; each export is read
//! to the end, and the process's peak resident memory (`VmHWM`, kept by the kernel) may grow by
//! far less than the bytes served. An export that gathered its answer before sending it would
//! grow by at least the answer's size.

use std::time::Duration;

use shared::{Kind, Lang, SpeechRecord};
use sink::store::Store as _;
use testkit::{Identity, NatsServer, Service, free_port};

use crate::support::{SqliteDb, generated};

/// Records in the archive.
const RECORDS: u32 = 300;
/// Paragraphs per record, each of [`PARAGRAPH_CHARS`] characters: ~320 KB of text a record.
const PARAGRAPHS: usize = 40;
const PARAGRAPH_CHARS: usize = 8_000;
/// How much the sink's peak RSS may grow while serving an export, per format: well below the
/// ~94 MB of record text that an export holding the whole archive would hold.
const GROWTH_LIMITS_KIB: [(&str, u64); 2] = [
    ("/v1/export.jsonl", 40 * 1024),
    ("/v1/export.parquet", 64 * 1024),
];

/// A paragraph of `PARAGRAPH_CHARS` characters: hexadecimal words from a xorshift generator,
/// so that Parquet's compression cannot make the export small.
fn paragraph(seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut text = String::with_capacity(PARAGRAPH_CHARS + 20);
    while text.len() < PARAGRAPH_CHARS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push_str(&format!("{state:x} "));
    }
    text
}

/// `RECORDS` large English statements.
fn large_records() -> Vec<SpeechRecord> {
    generated(RECORDS, 7_000_000)
        .into_iter()
        .enumerate()
        .map(|(i, mut record)| {
            record.kind = Kind::Statement;
            record.lang = Lang::En;
            record.turns.clear();
            record.paragraphs = (0..PARAGRAPHS)
                .map(|p| paragraph((i * PARAGRAPHS + p) as u64))
                .collect();
            record.content_hash = record.compute_content_hash();
            record
        })
        .collect()
}

/// The peak resident set of `pid` so far, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}

/// Reads `url` to the end without keeping it; the bytes served.
async fn drain(client: &reqwest::Client, url: &str) -> u64 {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let mut response = response;
    let mut bytes = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
    {
        bytes += chunk.len() as u64;
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_a_large_archive_stream_with_bounded_memory() {
    testkit::install_crypto();
    let db = SqliteDb::new().await;
    let records = large_records();
    for chunk in records.chunks(25) {
        db.store.store_batch(chunk).await.expect("seed the archive");
    }
    let url = format!("sqlite://{}", db.path.display());
    let nats = NatsServer::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut env = nats.env(Identity::Sink);
    env.push(("NATS_URL".into(), nats.url()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut sink = Service::spawn("sink", &["--database-url", &url, "--listen", &listen], &env);
    let pid = sink.pid().expect("the sink runs");
    let base = format!("http://{listen}");
    let client = testkit::http_client();
    testkit::wait_for(
        "the sink's API",
        Duration::from_secs(60),
        Duration::from_millis(100),
        || {
            let url = format!("{base}/v1/speeches?limit=1");
            let client = client.clone();
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        },
    )
    .await;
    assert!(sink.is_running(), "the sink stopped:\n{}", sink.log());

    for (path, limit) in GROWTH_LIMITS_KIB {
        let before = peak_rss_kib(pid);
        let bytes = drain(&client, &format!("{base}{path}")).await;
        let after = peak_rss_kib(pid);
        let served_kib = bytes / 1024;
        eprintln!("{path}: {served_kib} KiB served, peak RSS {before} -> {after} KiB");
        // JSON Lines is the archive's size; Parquet compresses it by half.
        assert!(
            served_kib > 45 * 1024,
            "{path}: only {served_kib} KiB served; the archive is smaller than planned"
        );
        assert!(
            after.saturating_sub(before) < limit,
            "{path}: serving {served_kib} KiB raised the sink's peak RSS from {before} to \
             {after} KiB (limit: +{limit} KiB); the export is not streamed"
        );
    }
    sink.terminate().await;
}
