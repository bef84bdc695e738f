//! The Parquet writer of the exports: one table, zstd, row groups bounded in rows and bytes,
//! so an export of any size holds at most one row group in memory.

use std::io::Write;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::properties::WriterProperties;
use ::parquet::schema::types::ColumnPath;

use super::columns::Table;
use super::{ExportError, Item};

/// Most rows in one row group.
pub const ROW_GROUP_ROWS: usize = 50_000;
/// Largest (estimated, encoded) row group held in memory before it is written out: with
/// 16 MiB the RSS of an export still grew with the archive (55 → 86 MB from 20,000 to 100,000
/// records); with 4 MiB it stays at ~52 MB.
pub const ROW_GROUP_BYTES: usize = 4 * 1024 * 1024;
/// zstd level: zstd's default, a good balance of speed and size for text.
const ZSTD_LEVEL: i32 = 3;

/// The columns of running text (paragraphs, turns' text): nearly every value is distinct, so
/// a dictionary would only hold a second copy of the row group's text in memory (the row
/// group's size estimate does not count it), and zstd compresses the text anyway.
const TEXT_COLUMNS: [&[&str]; 3] = [
    &["paragraphs", "list", "item"],
    &["turns", "list", "item", "text"],
    &["text"],
];

fn properties() -> Result<WriterProperties, ExportError> {
    let mut builder = WriterProperties::builder();
    for path in TEXT_COLUMNS {
        let path = ColumnPath::new(path.iter().map(|p| (*p).to_string()).collect());
        builder = builder.set_column_dictionary_enabled(path, false);
    }
    Ok(builder
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_created_by(format!("ministry-feed sink {}", env!("CARGO_PKG_VERSION")))
        .build())
}

/// Writes one table of an export as Parquet to `W`, page by page.
pub struct ParquetOut<W: Write + Send> {
    table: Table,
    writer: ArrowWriter<W>,
    rows: u64,
}

impl<W: Write + Send> ParquetOut<W> {
    /// Starts a file of `table` on `out`.
    pub fn new(table: Table, out: W) -> Result<Self, ExportError> {
        let writer = ArrowWriter::try_new(out, table.schema(), Some(properties()?))?;
        Ok(ParquetOut {
            table,
            writer,
            rows: 0,
        })
    }

    /// Appends the rows of `items` (a full row group is written out as it fills).
    pub fn push(&mut self, items: &[Item]) -> Result<(), ExportError> {
        let batch = self.table.batch(items)?;
        if batch.num_rows() > 0 {
            self.rows += batch.num_rows() as u64;
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the last row group and the footer; returns the output.
    pub fn finish(self) -> Result<W, ExportError> {
        Ok(self.writer.into_inner()?)
    }
}

impl ParquetOut<Vec<u8>> {
    /// Takes the bytes written so far (for streaming the file as it is made).
    pub fn take_bytes(&mut self) -> Result<Vec<u8>, ExportError> {
        self.writer.sync().map_err(|source| ExportError::Io {
            path: "(memory)".into(),
            source,
        })?;
        Ok(std::mem::take(self.writer.inner_mut()))
    }
}
