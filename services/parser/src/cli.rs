//! The command line: `parser [run]`, `parser parse [--source NAME] [--url URL] FILE...`,
//! `parser healthcheck`, `parser dead-letters list|replay`, `parser reparse --since DATE`;
//! `--source-file FILE` (repeatable) adds users' source profiles to the built-in ones.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use shared::config::CommonArgs;

use crate::extract::{Extractor, PageInput};

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

    /// A user's source profile (TOML, see README "Source profiles"), added to the built-in
    /// ones (mid.ru, kremlin.ru, fmprc.gov.cn) or replacing the one of the same name.
    /// Repeatable; the variable takes a comma-separated list.
    #[arg(
        long = "source-file",
        env = "PARSER_SOURCE_FILES",
        global = true,
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub source_files: Vec<PathBuf>,

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
        /// The source of the pages (mid.ru, kremlin.ru, fmprc.gov.cn or a --source-file's
        /// name); default: the source whose hosts include the URL's host (--url, else the
        /// page's canonical link), else mid.ru.
        #[arg(long)]
        source: Option<String>,
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

/// The built-in profiles plus `--source-file FILE`s, and the text and origin of
/// `--officials FILE`. An invalid profile is an error naming the file, the key and the reason.
fn load_sources(
    officials: Option<&std::path::Path>,
    source_files: &[PathBuf],
) -> anyhow::Result<(shared::profile::Profiles, Option<(String, String)>)> {
    let profiles = shared::profile::Profiles::load(source_files)?;
    let extra = match officials {
        None => None,
        Some(path) => Some((
            std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the officials file {}; check --officials",
                    path.display()
                )
            })?,
            path.display().to_string(),
        )),
    };
    Ok((profiles, extra))
}

/// Builds the extractor: the built-in profiles plus `--source-file FILE`s, each source's
/// registry plus `--officials FILE`, all compiled now. An invalid profile or registry is an
/// error naming the file, the key and the reason.
pub fn build_extractor(
    officials: Option<&std::path::Path>,
    source_files: &[PathBuf],
) -> anyhow::Result<Extractor> {
    let (profiles, extra) = load_sources(officials, source_files)?;
    Ok(Extractor::new(
        &profiles,
        extra.as_ref().map(|(t, o)| (t.as_str(), o.as_str())),
    )?)
}

/// Like [`build_extractor`], but each source is compiled when its first page comes
/// (`parser parse`: one site's pages compile one profile; see [`Extractor::lazy`]).
pub fn build_lazy_extractor(
    officials: Option<&std::path::Path>,
    source_files: &[PathBuf],
) -> anyhow::Result<Extractor> {
    let (profiles, extra) = load_sources(officials, source_files)?;
    Ok(Extractor::lazy(
        &profiles,
        extra.as_ref().map(|(t, o)| (t.as_str(), o.as_str())),
    ))
}

/// What `parser parse` was told about the files.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions<'a> {
    /// `--source`.
    pub source: Option<&'a str>,
    /// `--url`.
    pub url: Option<&'a str>,
    /// `--content-type`.
    pub content_type: Option<&'a str>,
}

/// Reads at most `max + 1` bytes, so an oversize file is refused without loading it all.
fn read_capped(reader: impl Read, max: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// Parses files and prints records, refusing files larger than `max_page_bytes`; returns
/// whether every file was a statement.
pub fn parse_files_capped(
    extractor: &Extractor,
    options: ParseOptions<'_>,
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
            source: options.source,
            url: options.url,
            fetch_url: None,
            content_type: options.content_type,
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
            source,
            url,
            content_type,
            files,
        } => {
            let extractor = build_lazy_extractor(cli.officials.as_deref(), &cli.source_files)?;
            if let Some(name) = source.as_deref()
                && extractor
                    .try_source(name)
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .is_none()
            {
                let known: Vec<&str> = extractor.names().collect();
                anyhow::bail!(
                    "unknown --source {name:?}: known sources are {}; give a profile with --source-file FILE",
                    known.join(", ")
                );
            }
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let options = ParseOptions {
                source: source.as_deref(),
                url: url.as_deref(),
                content_type: content_type.as_deref(),
            };
            // Records are written in blocks, not one system call (or two) per line.
            let mut out = std::io::BufWriter::new(stdout.lock());
            let ok = parse_files_capped(
                &extractor,
                options,
                &files,
                cli.max_page_bytes,
                &mut out,
                &mut stderr.lock(),
            );
            let written = out.flush().is_ok();
            Ok(if ok && written {
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
            let extractor = Arc::new(build_extractor(
                cli.officials.as_deref(),
                &cli.source_files,
            )?);
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
            let extractor = Arc::new(build_extractor(
                cli.officials.as_deref(),
                &cli.source_files,
            )?);
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
    let client = shared::nats::connect(&common.nats_url, &common.nats_auth, "parser", &shutdown)
        .await
        .with_context(|| {
            format!(
                "cannot connect to NATS at {} within 10 s; check --nats-url / NATS_URL",
                shared::config::redact_url(&common.nats_url)
            )
        })?;
    guard.abort();
    let js = async_nats::jetstream::new(client.clone());
    Ok((client, js))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    shared::runtime::build().context("cannot start the async runtime")
}
