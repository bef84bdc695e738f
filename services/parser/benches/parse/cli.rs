//! `parser parse` as a user runs it: the release binary over saved pages, one JSON record per
//! line into a file.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::pages::Page;

/// The saved pages and the command that parses them.
pub struct CliRun {
    bin: PathBuf,
    files: Vec<PathBuf>,
    out: PathBuf,
    _dir: testkit::TempDir,
}

impl CliRun {
    /// Saves `pages` as files in a temporary directory, for the release `parser` binary.
    pub fn new(pages: &[Page]) -> CliRun {
        let bin = testkit::bin_path("parser");
        let dir = testkit::TempDir::new("parse-bench");
        let files = pages
            .iter()
            .enumerate()
            .map(|(i, page)| {
                let path = dir.path().join(format!("{i:04}.html"));
                std::fs::write(&path, &page.bytes)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
                path
            })
            .collect();
        let out = dir.path().join("records.jsonl");
        CliRun {
            bin,
            files,
            out,
            _dir: dir,
        }
    }

    /// Runs `parser parse FILE... > records.jsonl` once; panics unless every page gave a
    /// record.
    pub fn run(&self) {
        let out = std::fs::File::create(&self.out).expect("the output file");
        let status = Command::new(&self.bin)
            .arg("parse")
            .args(&self.files)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .status()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e}; build it first (cargo build --release -p parser)",
                    self.bin.display()
                )
            });
        assert!(status.success(), "parser parse exited with {status}");
    }

    /// Lines written by the last run.
    pub fn records(&self) -> usize {
        std::fs::read_to_string(&self.out)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}
