//! `parser reparse --since DATE [--until DATE] [--lang xx]`: re-parse the raw pages kept in
//! `RAW_PAGES` with this parser and publish the records with their normal de-duplication id.
//!
//! The id includes the record's content hash, so an unchanged record is a JetStream
//! duplicate (and the sink's store is idempotent) while a changed one becomes a new version.
//! Messages are streamed one at a time through an ephemeral ordered consumer starting at
//! `--since` (bounded memory); no durable state is touched.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use shared::messages::Lang;
use shared::nats::publish_durable;
use shared::subjects::RAW_STREAM;

use crate::extract::Extractor;
use crate::service::{Encoded, process_page};

/// How long to wait for the next raw page before giving up.
const NEXT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of `parser reparse`.
#[derive(Debug, thiserror::Error)]
pub enum ReparseError {
    /// A JetStream call failed.
    #[error("{action} failed: {reason}; check --nats-url and that nats-server runs with JetStream")]
    JetStream {
        /// What was attempted.
        action: String,
        /// Why it failed.
        reason: String,
    },
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

fn js_err(action: impl Into<String>, err: impl std::fmt::Display) -> ReparseError {
    ReparseError::JetStream {
        action: action.into(),
        reason: err.to_string(),
    }
}

/// Parses `--since` / `--until`: RFC 3339 (`2026-11-28T01:00:00Z`) or a UTC date
/// (`2026-11-28`, meaning its midnight). For clap's `value_parser`.
/// Dates must fit JetStream's nanosecond timestamps (1677 to 2262).
pub fn parse_date(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let at = match DateTime::parse_from_rfc3339(text) {
        Ok(at) => at.with_timezone(&Utc),
        Err(_) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .ok_or_else(|| {
                format!("cannot read {text:?} as a date: write 2026-11-28 or 2026-11-28T01:00:00Z")
            })?,
    };
    if at.timestamp_nanos_opt().is_none() {
        return Err(format!(
            "{text:?} is out of range: JetStream times run from 1677 to 2262"
        ));
    }
    Ok(at)
}

/// What a reparse did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Raw pages read from the stream.
    pub pages: u64,
    /// Records published as new messages (new or changed output).
    pub published: u64,
    /// Records JetStream already had (unchanged output).
    pub duplicates: u64,
    /// Pages that gave no record, or whose record could not be published.
    pub failures: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pages read: {}, records published: {}, duplicates (unchanged): {}, failures: {}",
            self.pages, self.published, self.duplicates, self.failures
        )
    }
}

/// What to re-parse.
#[derive(Debug, Clone)]
pub struct Options {
    /// First publication time to read.
    pub since: DateTime<Utc>,
    /// Last publication time to read (inclusive), if any.
    pub until: Option<DateTime<Utc>>,
    /// Only this language, if any.
    pub lang: Option<Lang>,
    /// Page size cap (as the service's `--max-page-bytes`).
    pub max_page_bytes: usize,
    /// The server's maximum payload (0: unchecked).
    pub max_payload: usize,
}

/// The subject filter for a language.
pub fn subject_filter(lang: Option<Lang>) -> String {
    match lang {
        Some(lang) => format!("raw.*.{lang}"),
        None => "raw.>".to_string(),
    }
}

fn deliver_since(since: DateTime<Utc>) -> Result<consumer::DeliverPolicy, ReparseError> {
    // The policy holds a `time` date; build it from its wire form rather than adding a crate.
    serde_json::from_value(serde_json::json!({
        "deliver_policy": "by_start_time",
        "opt_start_time": since.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    }))
    .map_err(|e| js_err("building the start-time policy", e))
}

/// Re-parses the raw pages selected by `options`, publishing each record; one line per
/// failure on `out`, then the summary.
pub async fn reparse(
    js: &jetstream::Context,
    extractor: &Arc<Extractor>,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Summary, ReparseError> {
    let stream = js
        .get_stream(RAW_STREAM)
        .await
        .map_err(|e| js_err(format!("opening stream {RAW_STREAM}"), e))?;
    let filter = subject_filter(options.lang);
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter.clone(),
            deliver_policy: deliver_since(options.since)?,
            ..Default::default()
        })
        .await
        .map_err(|e| js_err(format!("creating an ordered consumer on {filter}"), e))?;
    let mut summary = Summary::default();
    if consumer.cached_info().num_pending > 0 {
        let until_nanos = options.until.and_then(|u| u.timestamp_nanos_opt());
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| js_err("reading RAW_PAGES", e))?;
        loop {
            let next = tokio::time::timeout(NEXT_MESSAGE_TIMEOUT, messages.next())
                .await
                .map_err(|_| js_err("reading RAW_PAGES", "no message within 30 s"))?;
            let Some(message) = next else { break };
            let message = message.map_err(|e| js_err("reading RAW_PAGES", e))?;
            let (seq, pending, published_nanos) = {
                let info = message
                    .info()
                    .map_err(|e| js_err("reading a message's metadata", e))?;
                (
                    info.stream_sequence,
                    info.pending,
                    info.published.unix_timestamp_nanos(),
                )
            };
            if until_nanos.is_some_and(|until| published_nanos > i128::from(until)) {
                break;
            }
            summary.pages += 1;
            match process_page(
                js,
                extractor,
                &message.payload,
                options.max_page_bytes,
                options.max_payload,
            )
            .await
            {
                Ok(Encoded {
                    record,
                    subject,
                    json,
                }) => match publish_durable(js, &subject, &record.msg_id(), json, 3).await {
                    Ok(true) => summary.duplicates += 1,
                    Ok(false) => {
                        summary.published += 1;
                        writeln!(out, "raw page {seq}: published {} on {subject}", record.id)?;
                    }
                    Err(e) => {
                        summary.failures += 1;
                        writeln!(out, "raw page {seq}: {e}")?;
                    }
                },
                Err(failure) => {
                    summary.failures += 1;
                    writeln!(out, "raw page {seq}: {failure}")?;
                }
            }
            if pending == 0 {
                break;
            }
        }
    }
    writeln!(out, "{summary}")?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_or_a_day() {
        assert_eq!(
            parse_date("2026-11-28").map(|d| d.to_rfc3339()),
            Ok("2026-11-28T00:00:00+00:00".to_string())
        );
        assert_eq!(
            parse_date("2026-11-28T04:00:00+03:00").map(|d| d.to_rfc3339()),
            Ok("2026-11-28T01:00:00+00:00".to_string())
        );
        assert!(parse_date("yesterday").is_err_and(|e| e.contains("2026-11-28")));
        assert!(parse_date("2999-01-01").is_err_and(|e| e.contains("2262")));
    }

    #[test]
    fn start_time_policy_round_trips() {
        let since = parse_date("2026-11-28").unwrap_or_default();
        assert!(matches!(
            deliver_since(since),
            Ok(consumer::DeliverPolicy::ByStartTime { .. })
        ));
        assert_eq!(subject_filter(Some(Lang::Ru)), "raw.*.ru");
        assert_eq!(subject_filter(None), "raw.>");
    }

    #[test]
    fn summary_reads_well() {
        let s = Summary {
            pages: 3,
            published: 1,
            duplicates: 2,
            failures: 0,
        };
        assert_eq!(
            s.to_string(),
            "pages read: 3, records published: 1, duplicates (unchanged): 2, failures: 0"
        );
    }
}
