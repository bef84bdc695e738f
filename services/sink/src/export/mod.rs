//! Research exports of the archive: Parquet tables (records, turns), a deterministic dataset
//! release, TEI documents and aligned language pairs (JSON Lines, TMX).
//!
//! Everything streams: records are read from the store a page at a time ([`RecordPages`],
//! pages sized by bytes, not by count) and written out before the next page is read, so memory
//! stays flat whatever the archive's size and however large its records.
//!
//! * [`columns`]: the tables' Arrow schemas, batches and codebook.
//! * [`parquet`]: the Parquet writer (zstd, bounded row groups).
//! * [`tei`], [`align`], [`pairs`]: TEI documents, alignment, language pairs.
//! * [`dataset`]: `sink export --dataset DIR`; [`cli`]: the `export` subcommand.
//! * [`http`]: `GET /v1/export.parquet`, `/v1/speeches/{id}.tei.xml`, `/v1/pairs`.

pub mod align;
pub mod cli;
pub mod columns;
pub mod dataset;
pub mod files;
pub mod http;
pub mod pairs;
pub mod parquet;
pub mod tei;

use serde::Deserialize;
use shared::SpeechRecord;

use crate::store::{AnyStore, MAX_LIMIT, Page, Query, Store, StoreError};

/// Errors of the exports.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record is not a speech record this build understands.
    #[error(
        "stored record {id} cannot be read: {source}; re-parse it with this version (parser reparse) or export with the sink version that stored it"
    )]
    Decode {
        /// The record's id, as far as known.
        id: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// Encoding Arrow data failed.
    #[error("cannot build the Arrow columns: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Writing Parquet failed.
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}; check the path, its permissions and the free space")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The command line asks for something that cannot be done.
    #[error("{0}")]
    Usage(String),
}

/// One exported record: its JSON as stored and served, and the record decoded.
#[derive(Debug, Clone)]
pub struct Item {
    /// The record's JSON exactly as the API serves it.
    pub json: String,
    /// The decoded record.
    pub record: SpeechRecord,
    /// Each turn's outlet, read from the JSON so records written with or without the field
    /// both export (null when absent).
    outlets: Vec<Option<String>>,
}

#[derive(Deserialize)]
struct OutletView {
    #[serde(default)]
    turns: Vec<TurnOutlet>,
}

#[derive(Deserialize)]
struct TurnOutlet {
    #[serde(default)]
    outlet: Option<String>,
}

impl Item {
    /// Decodes a stored record.
    pub fn from_json(json: String) -> Result<Item, ExportError> {
        let id_of = |json: &str| {
            serde_json::from_str::<serde_json::Value>(json)
                .ok()
                .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_string))
                .unwrap_or_else(|| "(no id)".to_string())
        };
        let record: SpeechRecord =
            serde_json::from_str(&json).map_err(|source| ExportError::Decode {
                id: id_of(&json),
                source,
            })?;
        let view: OutletView =
            serde_json::from_str(&json).map_err(|source| ExportError::Decode {
                id: record.id.clone(),
                source,
            })?;
        Ok(Item {
            outlets: view.turns.into_iter().map(|t| t.outlet).collect(),
            json,
            record,
        })
    }

    /// The outlet of turn `index`, if the transcript names one.
    pub fn outlet(&self, index: usize) -> Option<&str> {
        self.outlets.get(index).and_then(|o| o.as_deref())
    }
}

/// Bytes of record JSON an export page aims at.
pub const PAGE_BYTES: usize = 2 << 20;
/// Records in an export's first page, before their size is known.
const FIRST_PAGE: u32 = 8;

/// Records in the page after one of `records` records and `bytes` bytes of JSON: as many as
/// make [`PAGE_BYTES`] at that page's average size, from 1 to [`MAX_LIMIT`].
fn next_limit(records: usize, bytes: usize) -> u32 {
    if records == 0 {
        return MAX_LIMIT;
    }
    let average = (bytes / records).max(1);
    u32::try_from(PAGE_BYTES / average)
        .unwrap_or(MAX_LIMIT)
        .clamp(1, MAX_LIMIT)
}

/// Every record matching a query as stored (JSON), a page at a time in the listing's order
/// (newest first; best first with `q`). Pages hold about [`PAGE_BYTES`] of records: many
/// small records or a few large ones.
pub struct RecordPages {
    store: AnyStore,
    next: Option<Query>,
}

impl RecordPages {
    /// Pages through `query` (its `limit` and `cursor` are replaced).
    pub fn new(store: AnyStore, mut query: Query) -> RecordPages {
        query.limit = FIRST_PAGE;
        query.cursor = None;
        RecordPages {
            store,
            next: Some(query),
        }
    }

    /// The next page, `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Page>, StoreError> {
        let Some(mut query) = self.next.take() else {
            return Ok(None);
        };
        let mut page = self.store.list(&query).await?;
        if let Some(cursor) = page.next_cursor.take() {
            let bytes = page.items.iter().map(|hit| hit.record.len()).sum();
            query.limit = next_limit(page.items.len(), bytes);
            query.cursor = Some(cursor);
            self.next = Some(query);
        }
        Ok(Some(page))
    }
}

/// [`RecordPages`] decoded into [`Item`]s.
pub struct Pages {
    records: RecordPages,
}

impl Pages {
    /// Pages through `query` (its `limit` and `cursor` are replaced).
    pub fn new(store: AnyStore, query: Query) -> Pages {
        Pages {
            records: RecordPages::new(store, query),
        }
    }

    /// The next page, `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Item>>, ExportError> {
        let Some(page) = self.records.next_page().await? else {
            return Ok(None);
        };
        let items = page
            .items
            .into_iter()
            .map(|hit| Item::from_json(hit.record))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(items))
    }
}

/// The store's record with `id`, decoded, if there is one.
pub async fn get_item(store: &AnyStore, id: &str) -> Result<Option<Item>, ExportError> {
    match store.get(id).await? {
        Some(json) => Ok(Some(Item::from_json(json)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_sized_by_bytes() {
        // Small records: the most a page may hold.
        assert_eq!(next_limit(32, 32 * 3_000), MAX_LIMIT);
        // 320 KB records: six make 2 MiB.
        assert_eq!(next_limit(8, 8 * 320_000), 6);
        // Larger than a page: one at a time, never zero.
        assert_eq!(next_limit(2, 2 * 9_000_000), 1);
        assert_eq!(next_limit(0, 0), MAX_LIMIT);
    }
}
