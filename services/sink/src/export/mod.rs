//! Research exports of the archive: Parquet tables (records, turns), a deterministic dataset
//! release, TEI documents and aligned language pairs (JSON Lines, TMX).
//!
//! Everything streams: records are read from the store a page at a time ([`Pages`]) and
//! written out before the next page is read, so memory stays flat whatever the archive's size.
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

use crate::store::{AnyStore, MAX_LIMIT, Query, Store, StoreError};

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

/// Every record matching a query, a page at a time, in the listing's order (newest first;
/// best first with `q`).
pub struct Pages {
    store: AnyStore,
    next: Option<Query>,
}

impl Pages {
    /// Pages through `query` (its `limit` and `cursor` are replaced).
    pub fn new(store: AnyStore, mut query: Query) -> Pages {
        query.limit = MAX_LIMIT;
        query.cursor = None;
        Pages {
            store,
            next: Some(query),
        }
    }

    /// The next page, `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Item>>, ExportError> {
        let Some(mut query) = self.next.take() else {
            return Ok(None);
        };
        let page = self.store.list(&query).await?;
        if let Some(cursor) = page.next_cursor {
            query.cursor = Some(cursor);
            self.next = Some(query);
        }
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
