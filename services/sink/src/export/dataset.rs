//! Writing exports to files: any set of outputs fed from one pass over the archive
//! ([`Outputs`]), and the dataset release built from it (`sink export --dataset DIR`):
//! records and turns as Parquet and JSON Lines (gzip), optionally TEI documents and language
//! pairs, a codebook, a manifest and `SHA256SUMS`. The same archive gives byte-identical
//! files: rows keep the listing's order, gzip headers carry no time, and the release's time
//! comes from the archive (the newest fetch time of its records) or `--timestamp`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike as _, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use shared::Lang;

use super::columns::{Table, codebook_markdown, turns_json};
use super::files::OutFile;
use super::pairs::{TMX_TAIL, pair, partners, tmx_head};
use super::parquet::ParquetOut;
use super::{ExportError, Item, Pages, tei};
use crate::store::{AnyStore, Query};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What was exported: totals and the counts of the manifest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Counts {
    /// Records exported.
    pub records: u64,
    /// Turns exported.
    pub turns: u64,
    /// Language pairs exported (when pairs were asked for).
    pub pairs: u64,
    /// TEI documents written (when TEI was asked for).
    pub tei_documents: u64,
    /// Records per source.
    pub by_source: BTreeMap<String, u64>,
    /// Records per language.
    pub by_lang: BTreeMap<String, u64>,
    /// Records per kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Records per year of publication (local date; `unknown` when the page showed none).
    pub by_year: BTreeMap<String, u64>,
    /// Records per parser version.
    pub parser_versions: BTreeMap<String, u64>,
    /// The newest fetch time among the records.
    #[serde(skip)]
    pub newest_fetch: Option<DateTime<Utc>>,
}

impl Counts {
    fn add(&mut self, item: &Item) {
        let r = &item.record;
        self.records += 1;
        self.turns += r.turns.len() as u64;
        *self.by_source.entry(r.source.clone()).or_default() += 1;
        *self.by_lang.entry(r.lang.as_str().to_string()).or_default() += 1;
        *self.by_kind.entry(r.kind.as_str().to_string()).or_default() += 1;
        let year = r
            .published_at
            .map_or_else(|| "unknown".to_string(), |t| t.year().to_string());
        *self.by_year.entry(year).or_default() += 1;
        *self
            .parser_versions
            .entry(r.parser_version.clone())
            .or_default() += 1;
        self.newest_fetch = self.newest_fetch.max(Some(r.fetched_at));
    }
}

/// The outputs of one export run; each is fed every page of records.
#[derive(Default)]
pub struct Outputs {
    /// The records table as Parquet.
    pub records_parquet: Option<ParquetOut<OutFile>>,
    /// The turns table as Parquet.
    pub turns_parquet: Option<ParquetOut<OutFile>>,
    /// The records as JSON Lines, as the API serves them.
    pub records_jsonl: Option<OutFile>,
    /// The turns table as JSON Lines.
    pub turns_jsonl: Option<OutFile>,
    /// A directory for one TEI document per record.
    pub tei_dir: Option<PathBuf>,
    /// Language pairs as JSON Lines.
    pub pairs_jsonl: Option<OutFile>,
    /// Language pairs as TMX.
    pub pairs_tmx: Option<OutFile>,
}

impl Outputs {
    fn wants_pairs(&self) -> bool {
        self.pairs_jsonl.is_some() || self.pairs_tmx.is_some()
    }

    /// Reads every record matching `query` and writes it to every output; returns the counts.
    pub async fn run(mut self, store: &AnyStore, query: Query) -> Result<Counts, ExportError> {
        if let Some(tmx) = &mut self.pairs_tmx {
            tmx.put(tmx_head().as_bytes())?;
        }
        let lang_filter = query.lang;
        let mut pages = Pages::new(store.clone(), query);
        let mut counts = Counts::default();
        while let Some(items) = pages.next_page().await? {
            self.page(store, &items, lang_filter, &mut counts).await?;
        }
        self.finish()?;
        Ok(counts)
    }

    async fn page(
        &mut self,
        store: &AnyStore,
        items: &[Item],
        lang_filter: Option<Lang>,
        counts: &mut Counts,
    ) -> Result<(), ExportError> {
        for out in [&mut self.records_parquet, &mut self.turns_parquet]
            .into_iter()
            .flatten()
        {
            out.push(items)?;
        }
        let mut line = String::new();
        for item in items {
            counts.add(item);
            if let Some(out) = &mut self.records_jsonl {
                out.put(item.json.trim_end().as_bytes())?;
                out.put(b"\n")?;
            }
            if let Some(out) = &mut self.turns_jsonl {
                for row in turns_json(item) {
                    line.clear();
                    line.push_str(&row.to_string());
                    line.push('\n');
                    out.put(line.as_bytes())?;
                }
            }
            if let Some(dir) = &self.tei_dir {
                let path = dir.join(tei::file_name(&item.record.id));
                let mut file = OutFile::create(&path)?;
                file.put(tei::render(&item.record).as_bytes())?;
                file.finish()?;
                counts.tei_documents += 1;
            }
            if self.wants_pairs() {
                for other in partners(store, item, lang_filter).await? {
                    let pair = pair(&item.record, &other.record);
                    counts.pairs += 1;
                    if let Some(out) = &mut self.pairs_jsonl {
                        line.clear();
                        line.push_str(&pair.to_json().to_string());
                        line.push('\n');
                        out.put(line.as_bytes())?;
                    }
                    if let Some(out) = &mut self.pairs_tmx {
                        out.put(pair.tmx_units().as_bytes())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ExportError> {
        for out in [self.records_parquet, self.turns_parquet]
            .into_iter()
            .flatten()
        {
            out.finish()?.finish()?;
        }
        if let Some(mut tmx) = self.pairs_tmx {
            tmx.put(TMX_TAIL.as_bytes())?;
            tmx.finish()?;
        }
        for out in [self.records_jsonl, self.turns_jsonl, self.pairs_jsonl]
            .into_iter()
            .flatten()
        {
            out.finish()?;
        }
        Ok(())
    }
}

/// What goes into a dataset release besides records and turns.
#[derive(Debug, Clone, Default)]
pub struct DatasetOptions {
    /// A TEI document per record, in `tei/`.
    pub tei: bool,
    /// Language pairs: `pairs.jsonl.gz` and `pairs.tmx`.
    pub pairs: bool,
    /// The release's time; default: the newest fetch time of its records.
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// The filters the release was made with, for the manifest (`name` → value as given).
    pub filters: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    title: &'static str,
    generator: String,
    export_time: Option<String>,
    export_time_from: &'static str,
    record_schema_version: u32,
    filters: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    counts: &'a Counts,
    files: Vec<String>,
}

/// The fixed files of a release, in the order the manifest lists them.
const CORE_FILES: [&str; 4] = [
    "records.parquet",
    "turns.parquet",
    "records.jsonl.gz",
    "turns.jsonl.gz",
];

/// Writes a dataset release of every record matching `query` into `dir` (created; it must
/// not exist or be empty). Returns the counts.
pub async fn write_dataset(
    store: &AnyStore,
    query: Query,
    dir: &Path,
    options: &DatasetOptions,
) -> Result<Counts, ExportError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
        if entries.next().is_some() {
            return Err(ExportError::Usage(format!(
                "{} is not empty; give a new or empty directory for the dataset",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let file = |name: &str| OutFile::create(&dir.join(name));
    let mut outputs = Outputs {
        records_parquet: Some(ParquetOut::new(Table::Records, file("records.parquet")?)?),
        turns_parquet: Some(ParquetOut::new(Table::Turns, file("turns.parquet")?)?),
        records_jsonl: Some(file("records.jsonl.gz")?),
        turns_jsonl: Some(file("turns.jsonl.gz")?),
        ..Outputs::default()
    };
    let mut files: Vec<String> = CORE_FILES.iter().map(|s| s.to_string()).collect();
    if options.tei {
        let tei_dir = dir.join("tei");
        std::fs::create_dir_all(&tei_dir).map_err(io_error(&tei_dir))?;
        outputs.tei_dir = Some(tei_dir);
        files.push("tei/".into());
    }
    if options.pairs {
        outputs.pairs_jsonl = Some(file("pairs.jsonl.gz")?);
        outputs.pairs_tmx = Some(file("pairs.tmx")?);
        files.extend(["pairs.jsonl.gz".to_string(), "pairs.tmx".to_string()]);
    }
    let counts = outputs.run(store, query).await?;

    files.extend(["codebook.md".to_string(), "manifest.json".to_string()]);
    let (export_time, export_time_from) = match options.timestamp {
        Some(t) => (
            Some(
                t.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
            "the --timestamp option",
        ),
        None => (
            counts
                .newest_fetch
                .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            "the newest fetch time of the exported records",
        ),
    };
    let manifest = Manifest {
        title: "ministry-feed: statements of foreign ministries, a research release",
        generator: format!("ministry-feed sink {}", env!("CARGO_PKG_VERSION")),
        export_time,
        export_time_from,
        record_schema_version: shared::messages::SPEECH_SCHEMA_VERSION,
        filters: &options.filters,
        counts: &counts,
        files,
    };
    let manifest_json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| ExportError::Usage(format!("cannot encode the manifest: {e}")))?;
    for (name, text) in [
        ("codebook.md", codebook_markdown()),
        ("manifest.json", manifest_json + "\n"),
    ] {
        let mut out = file(name)?;
        out.put(text.as_bytes())?;
        out.finish()?;
    }
    write_checksums(dir)?;
    Ok(counts)
}

/// Every file under `dir` (relative paths with `/`, sorted), except `SHA256SUMS`.
fn files_under(dir: &Path) -> Result<Vec<String>, ExportError> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&path).map_err(io_error(&path))? {
            let entry = entry.map_err(io_error(&path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(io_error(&path))?;
            if kind.is_dir() {
                pending.push((entry.path(), format!("{relative}/")));
            } else if relative != "SHA256SUMS" {
                found.push(relative);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Writes `SHA256SUMS` (the `sha256sum` format: `HEX  PATH`) over every file of the release.
fn write_checksums(dir: &Path) -> Result<(), ExportError> {
    let mut sums = String::new();
    let mut buffer = vec![0u8; 256 * 1024];
    for relative in files_under(dir)? {
        let path = dir.join(&relative);
        let mut file = std::fs::File::open(&path).map_err(io_error(&path))?;
        let mut hasher = Sha256::new();
        loop {
            let n = file.read(&mut buffer).map_err(io_error(&path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        let digest = hasher.finalize();
        for byte in digest {
            sums.push_str(&format!("{byte:02x}"));
        }
        sums.push_str("  ");
        sums.push_str(&relative);
        sums.push('\n');
    }
    let mut out = OutFile::create(&dir.join("SHA256SUMS"))?;
    out.put(sums.as_bytes())?;
    out.finish()
}
