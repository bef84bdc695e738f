//! The command line: `parser [run]`, `parser parse [--url URL] FILE...`, `parser healthcheck`,
//! `parser dead-letters list|replay`, `parser reparse --since DATE`.

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

    /// Extra officials registry (JSON, same format as shared/sources/mid.ru.officials.json),
    /// merged into the built-in one.
    #[arg(long, env = "PARSER_OFFICIALS", global = true, value_name = "FILE")]
    pub officials: Option<PathBuf>,

    /// Largest page body accepted, in bytes; larger pages are refused (dead-lettered by the
    /// service) so memory stays bounded.
    #[arg(long, env = "PARSER_MAX_PAGE_BYTES", global = true, value_name = "BYTES",
          default_value_t = crate::service::DEFAULT_MAX_PAGE_BYTES)]
    pub max_page_bytes: usize,

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
    /// List or replay the messages a stage gave up on (stream DEAD_LETTERS).
    DeadLetters {
        /// list or replay.
        #[command(subcommand)]
        action: DeadLetterAction,
    },
    /// Re-parse raw pages kept in RAW_PAGES with this parser; unchanged records are
    /// duplicates, changed ones are published as new versions.
    Reparse {
        /// First publication time: 2026-11-28 (UTC midnight) or 2026-11-28T01:00:00Z.
        #[arg(long, value_parser = crate::reparse::parse_date)]
        since: chrono::DateTime<chrono::Utc>,
        /// Last publication time (inclusive), same forms as --since.
        #[arg(long, value_parser = crate::reparse::parse_date)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Only pages in this language (en, ru, de, fr, es, pt).
        #[arg(long, value_parser = parse_lang)]
        lang: Option<shared::Lang>,
    },
}

/// `parser dead-letters` actions.
#[derive(Debug, Subcommand)]
pub enum DeadLetterAction {
    /// One line per letter: sequence, failed_at, stage, deliveries, original subject, reason.
    List {
        /// Only letters of this stage: parser, sink or all.
        #[arg(long, default_value = "all")]
        stage: String,
        /// One JSON object per line (the letter without its payload, plus payload_bytes).
        #[arg(long)]
        json: bool,
    },
    /// Republish letters on their original subjects, then delete them from DEAD_LETTERS.
    Replay {
        /// Sequences of the letters to replay (see `dead-letters list`).
        #[arg(long = "seq", value_name = "N", required_unless_present = "all")]
        seqs: Vec<u64>,
        /// Replay every letter (of --stage).
        #[arg(long, conflicts_with = "seqs")]
        all: bool,
        /// Only letters of this stage: parser, sink or all.
        #[arg(long, default_value = "all")]
        stage: String,
    },
}

fn parse_lang(text: &str) -> Result<shared::Lang, String> {
    text.parse::<shared::Lang>()
        .map_err(|_| format!("unknown language {text:?}: use en, ru, de, fr, es or pt"))
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
    parse_files_capped(
        extractor,
        url,
        content_type,
        files,
        crate::service::DEFAULT_MAX_PAGE_BYTES,
        out,
        err,
    )
}

/// Reads at most `max + 1` bytes, so an oversize file is refused without loading it all.
fn read_capped(reader: impl Read, max: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// [`parse_files`] refusing files larger than `max_page_bytes`.
pub fn parse_files_capped(
    extractor: &Extractor,
    url: Option<&str>,
    content_type: Option<&str>,
    files: &[PathBuf],
    max_page_bytes: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> bool {
    let mut all_ok = true;
    for file in files {
        let name = file.display().to_string();
        let bytes = if name == "-" {
            read_capped(std::io::stdin(), max_page_bytes)
        } else {
            std::fs::File::open(file).and_then(|f| read_capped(f, max_page_bytes))
        };
        if let Ok(bytes) = &bytes
            && let Err(e) = crate::service::check_page_size(bytes.len(), max_page_bytes)
        {
            let _ = writeln!(err, "parser: {name}: {e}");
            all_ok = false;
            continue;
        }
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
            let ok = parse_files_capped(
                &extractor,
                url.as_deref(),
                content_type.as_deref(),
                &files,
                cli.max_page_bytes,
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
                crate::service::run_with_limits(
                    &cli.common,
                    extractor,
                    cli.max_page_bytes,
                    shutdown,
                )
                .await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DeadLetters { action } => runtime()?.block_on(async {
            let (_client, js) = connect_js(&cli.common).await?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match action {
                DeadLetterAction::List { stage, json } => {
                    crate::deadletters::list(&js, &stage, json, &mut out).await?;
                }
                DeadLetterAction::Replay { seqs, all, stage } => {
                    crate::deadletters::replay(&js, &seqs, all, &stage, &mut out).await?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Reparse { since, until, lang } => {
            let extractor = Arc::new(build_extractor(cli.officials.as_deref())?);
            runtime()?.block_on(async {
                let (client, js) = connect_js(&cli.common).await?;
                let options = crate::reparse::Options {
                    since,
                    until,
                    lang,
                    max_page_bytes: cli.max_page_bytes,
                    max_payload: client.server_info().max_payload,
                };
                let stdout = std::io::stdout();
                crate::reparse::reparse(&js, &extractor, &options, &mut stdout.lock()).await?;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

/// Connects for a one-shot command: gives up after 10 s instead of waiting forever.
async fn connect_js(
    common: &CommonArgs,
) -> anyhow::Result<(async_nats::Client, async_nats::jetstream::Context)> {
    let shutdown = shared::shutdown::on_signals();
    let timeout = shutdown.clone();
    let guard = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        timeout.cancel();
    });
    let client = shared::nats::connect(&common.nats_url, "parser-cli", &shutdown)
        .await
        .with_context(|| {
            format!(
                "cannot connect to NATS at {} within 10 s; check --nats-url / NATS_URL",
                common.nats_url
            )
        })?;
    guard.abort();
    let js = async_nats::jetstream::new(client.clone());
    Ok((client, js))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    shared::runtime::build().context("cannot start the async runtime")
}
