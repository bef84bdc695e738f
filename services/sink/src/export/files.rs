//! Output files of the exports: written sequentially, gzip-compressed when the name ends in
//! `.gz` (deterministically: no time or name in the gzip header), or standard output.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::ExportError;

enum Sink {
    Plain(BufWriter<File>),
    Gz(GzEncoder<BufWriter<File>>),
    Stdout(BufWriter<io::Stdout>),
}

/// One output file (or standard output, for `-`).
pub struct OutFile {
    path: String,
    sink: Sink,
}

impl OutFile {
    /// Creates `path` (it must not exist yet), or standard output for `-`.
    pub fn create(path: &Path) -> Result<OutFile, ExportError> {
        let name = path.display().to_string();
        if name == "-" {
            return Ok(OutFile {
                path: "standard output".into(),
                sink: Sink::Stdout(BufWriter::new(io::stdout())),
            });
        }
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| ExportError::Io {
                path: name.clone(),
                source,
            })?;
        let file = BufWriter::with_capacity(256 * 1024, file);
        let sink = if name.ends_with(".gz") {
            Sink::Gz(GzEncoder::new(file, Compression::default()))
        } else {
            Sink::Plain(file)
        };
        Ok(OutFile { path: name, sink })
    }

    /// The path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes `bytes`, naming the file in the error.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.write_all(bytes).map_err(|source| ExportError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Completes the file (gzip trailer, buffers flushed).
    pub fn finish(self) -> Result<(), ExportError> {
        let path = self.path;
        let done = match self.sink {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gz(gz) => gz.finish().and_then(|mut w| w.flush()),
            Sink::Stdout(mut w) => w.flush(),
        };
        done.map_err(|source| ExportError::Io { path, source })
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write(buf),
            Sink::Gz(w) => w.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gz(w) => w.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}
