//! The command line: `parser [run]`, `parser parse [--url URL] FILE...`, `parser healthcheck`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use shared::config::CommonArgs;

use crate::extract::{Extractor, PageInput};
use crate::officials::Registry;

/// Turns raw statement pages into normalized speech records.
#[derive(Debug, Parser)]
#[command(name = "parser", version, about)]
pub struct Cli {
    /// Connection, logging and operations flags.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Extra officials registry (JSON, same format as services/parser/data/officials.json),
    /// merged into the built-in one.
    #[arg(long, env = "PARSER_OFFICIALS", global = true, value_name = "FILE")]
    pub officials: Option<PathBuf>,

    /// What to do (default: run the service).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: consume raw pages from NATS, publish speech records.
    Run,
    /// Parse saved pages offline: one JSON record per line on stdout.
    Parse {
        /// The page's URL (else its canonical link or og:url); applies to every FILE.
        #[arg(long)]
        url: Option<String>,
        /// The page's Content-Type, for its charset (e.g. "text/html; charset=windows-1251").
        #[arg(long)]
        content_type: Option<String>,
        /// Saved pages; `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Exit 0 when the running service answers GET /healthz on --metrics-listen.
    Healthcheck,
}

/// Builds the extractor: the built-in registry plus `--officials FILE`.
pub fn build_extractor(officials: Option<&std::path::Path>) -> anyhow::Result<Extractor> {
    let registry = match officials {
        None => Registry::builtin()?,
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the officials file {}; check --officials",
                    path.display()
                )
            })?;
            Registry::with_extra(&text, &path.display().to_string())?
        }
    };
    Ok(Extractor::new(registry))
}

/// Parses files and prints records; returns whether every file was a statement.
pub fn parse_files(
    extractor: &Extractor,
    url: Option<&str>,
    content_type: Option<&str>,
    files: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> bool {
    let mut all_ok = true;
    for file in files {
        let name = file.display().to_string();
        let bytes = if name == "-" {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map(|_| buf)
        } else {
            std::fs::read(file)
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(err, "parser: {name}: cannot read the file: {e}");
                all_ok = false;
                continue;
            }
        };
        let input = PageInput {
            bytes: &bytes,
            url,
            fetch_url: None,
            content_type,
            fetched_at: chrono::Utc::now(),
            listing: None,
            lang: None,
        };
        match extractor.extract(&input) {
            Ok(record) => match serde_json::to_string(&record) {
                Ok(json) => {
                    if writeln!(out, "{json}").is_err() {
                        return false;
                    }
                }
                Err(e) => {
                    let _ = writeln!(err, "parser: {name}: cannot encode the record: {e}");
                    all_ok = false;
                }
            },
            Err(e) => {
                let _ = writeln!(err, "parser: {name}: {e}");
                all_ok = false;
            }
        }
    }
    all_ok
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("parser: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Run) {
        Command::Parse {
            url,
            content_type,
            files,
        } => {
            let extractor = build_extractor(cli.officials.as_deref())?;
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let ok = parse_files(
                &extractor,
                url.as_deref(),
                content_type.as_deref(),
                &files,
                &mut stdout.lock(),
                &mut stderr.lock(),
            );
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Healthcheck => {
            let addr = cli.common.metrics_listen.context(
                "healthcheck needs --metrics-listen (or METRICS_LISTEN) with the service's address",
            )?;
            runtime()?.block_on(shared::ops::healthcheck(addr))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            shared::telemetry::init(cli.common.log_format);
            let extractor = Arc::new(build_extractor(cli.officials.as_deref())?);
            runtime()?.block_on(async {
                let shutdown = shared::shutdown::on_signals();
                crate::service::run(&cli.common, extractor, shutdown).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
