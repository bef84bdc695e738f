//! `sink export`: the research exports, read straight from the store (`--database-url`),
//! with the API's filters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, FixedOffset};
use clap::{Args, ValueEnum};

use super::ExportError;
use super::columns::Table;
use super::dataset::{Counts, DatasetOptions, Outputs, write_dataset};
use super::files::OutFile;
use super::parquet::ParquetOut;
use crate::params::{Endpoint, parse_query};
use crate::store::{AnyStore, redact_url};

/// What `sink export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One Parquet table (`--table records|turns`) to `--out FILE`.
    Parquet,
    /// JSON Lines (`--table records|turns`) to `--out FILE` (gzip when FILE ends in .gz).
    Jsonl,
    /// One TEI document per record into the directory `--out DIR`; with `--dataset`, a tei/ folder.
    Tei,
    /// Language pairs as JSON Lines to `--out FILE`; with `--dataset`, pairs.jsonl.gz and pairs.tmx.
    Pairs,
    /// Language pairs as a TMX 1.4 translation memory to `--out FILE`.
    Tmx,
}

/// The flags of `sink export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// What to write (see the formats). With --dataset, the extra parts to include (tei, pairs);
    /// give it several times or comma-separated.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub format: Vec<Format>,
    /// Where to write: a file (`-` for standard output), or a directory for --format tei.
    #[arg(long, conflicts_with = "dataset")]
    pub out: Option<PathBuf>,
    /// The table of --format parquet or jsonl: records (one row per record) or turns (one row
    /// per question-and-answer turn).
    #[arg(long, value_enum, default_value = "records")]
    pub table: Table,
    /// Write a dataset release into this new (or empty) directory: records and turns as
    /// Parquet and JSON Lines (gzip), a codebook, a manifest and SHA256SUMS.
    #[arg(long, value_name = "DIR")]
    pub dataset: Option<PathBuf>,
    /// The release's time in its manifest (RFC 3339); default: the newest fetch time of its
    /// records, so the same archive always gives the same files.
    #[arg(long, requires = "dataset")]
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// Only this language (en, ru, …).
    #[arg(long)]
    pub lang: Option<String>,
    /// Only this kind (speech, interview, briefing, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only records with a speaker whose name contains this.
    #[arg(long)]
    pub speaker: Option<String>,
    /// Published at or after: YYYY-MM-DD (Moscow day) or RFC 3339.
    #[arg(long)]
    pub since: Option<String>,
    /// Published at or before: YYYY-MM-DD (the whole day) or RFC 3339.
    #[arg(long)]
    pub until: Option<String>,
    /// Full-text search (words, "phrases", OR, -word).
    #[arg(long)]
    pub q: Option<String>,
}

impl ExportArgs {
    /// The filters as given, by name.
    fn filters(&self) -> BTreeMap<String, String> {
        [
            ("lang", &self.lang),
            ("kind", &self.kind),
            ("speaker", &self.speaker),
            ("since", &self.since),
            ("until", &self.until),
            ("q", &self.q),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

fn usage(message: impl Into<String>) -> ExportError {
    ExportError::Usage(message.into())
}

/// Opens the store for reading: an SQLite file must exist (an export never creates one).
async fn open(database_url: &str) -> Result<AnyStore, ExportError> {
    if let Some(rest) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or_default();
        if !Path::new(path).is_file() {
            return Err(usage(format!(
                "there is no database at {path}; give the archive with --database-url sqlite://PATH (the sink's DATABASE_URL)"
            )));
        }
    }
    Ok(AnyStore::open(database_url).await?)
}

fn out_path(args: &ExportArgs, what: &str) -> Result<PathBuf, ExportError> {
    args.out.clone().ok_or_else(|| {
        usage(format!(
            "--format {what} needs --out (where to write), e.g. --out speeches.{what}"
        ))
    })
}

/// Runs `sink export`.
pub async fn run(database_url: &str, args: &ExportArgs) -> Result<(), ExportError> {
    let filters = args.filters();
    let pairs: Vec<(String, String)> = filters
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let query = parse_query(&pairs, Endpoint::Export).map_err(|e| usage(e.0))?;
    let started = Instant::now();
    let store = open(database_url).await?;
    tracing::info!(database = %redact_url(database_url), "exporting");

    if let Some(dir) = &args.dataset {
        if let Some(other) = args
            .format
            .iter()
            .find(|f| !matches!(f, Format::Tei | Format::Pairs))
        {
            return Err(usage(format!(
                "with --dataset, --format names the extra parts to include (tei, pairs); {other:?} is always part of it or not a part"
            )));
        }
        let options = DatasetOptions {
            tei: args.format.contains(&Format::Tei),
            pairs: args.format.contains(&Format::Pairs),
            timestamp: args.timestamp,
            filters,
        };
        let counts = write_dataset(&store, query, dir, &options).await;
        store.close().await;
        report(&counts?, &dir.display().to_string(), started);
        return Ok(());
    }

    let format = match args.format.as_slice() {
        [one] => *one,
        [] => Format::Parquet,
        _ => {
            return Err(usage(
                "give one --format (parquet, jsonl, tei, pairs or tmx), or use --dataset DIR for several",
            ));
        }
    };
    let mut outputs = Outputs::default();
    let target = match format {
        Format::Parquet => {
            let path = out_path(args, "parquet")?;
            let out = OutFile::create(&path)?;
            let target = out.path().to_string();
            match args.table {
                Table::Records => {
                    outputs.records_parquet = Some(ParquetOut::new(Table::Records, out)?)
                }
                Table::Turns => outputs.turns_parquet = Some(ParquetOut::new(Table::Turns, out)?),
            }
            target
        }
        Format::Jsonl => {
            let out = OutFile::create(&out_path(args, "jsonl")?)?;
            let target = out.path().to_string();
            match args.table {
                Table::Records => outputs.records_jsonl = Some(out),
                Table::Turns => outputs.turns_jsonl = Some(out),
            }
            target
        }
        Format::Tei => {
            let dir = out_path(args, "tei")?;
            std::fs::create_dir_all(&dir).map_err(|source| ExportError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            outputs.tei_dir = Some(dir.clone());
            dir.display().to_string()
        }
        Format::Pairs => {
            let out = OutFile::create(&out_path(args, "jsonl")?)?;
            let target = out.path().to_string();
            outputs.pairs_jsonl = Some(out);
            target
        }
        Format::Tmx => {
            let out = OutFile::create(&out_path(args, "tmx")?)?;
            let target = out.path().to_string();
            outputs.pairs_tmx = Some(out);
            target
        }
    };
    let counts = outputs.run(&store, query).await;
    store.close().await;
    report(&counts?, &target, started);
    Ok(())
}

fn report(counts: &Counts, target: &str, started: Instant) {
    tracing::info!(
        records = counts.records,
        turns = counts.turns,
        pairs = counts.pairs,
        tei_documents = counts.tei_documents,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "exported to {target}"
    );
}
