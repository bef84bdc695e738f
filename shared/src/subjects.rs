//! The subject hierarchy, streams, consumers and buckets: the one place that names them.
//!
//! | stream | subjects | written by | read by |
//! | --- | --- | --- | --- |
//! | `RAW_PAGES` | `raw.{source}.{lang}` | fetcher | parser (durable `parser`) |
//! | `SPEECHES` | `speeches.{source}.{lang}.{kind}` | parser | sink (durable `sink`), subscribers |
//! | `DEAD_LETTERS` | `dead.{stage}.{source}` | parser, sink | operators (`parser dead-letters`) |
//!
//! `{source}` is the source id with dots replaced by underscores (`mid.ru` → `mid_ru`).

use std::time::Duration;

use crate::messages::{Kind, Lang};

/// Stream of fetched pages.
pub const RAW_STREAM: &str = "RAW_PAGES";
/// Stream of normalized speech records.
pub const SPEECH_STREAM: &str = "SPEECHES";
/// Stream of messages a stage gave up on.
pub const DEAD_LETTER_STREAM: &str = "DEAD_LETTERS";
/// Durable consumer of the parser on [`RAW_STREAM`].
pub const PARSER_CONSUMER: &str = "parser";
/// Durable consumer of the sink on [`SPEECH_STREAM`].
pub const SINK_CONSUMER: &str = "sink";
/// Key-value bucket of the fetcher's state (seen statements, validators, checkpoints, leases).
pub const FETCHER_BUCKET: &str = "fetcher_state";
/// Object store bucket for raw pages too large for one message.
pub const LARGE_PAGE_BUCKET: &str = "raw_pages_large";
/// How long JetStream remembers message ids for de-duplication.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);

/// Subject token of a source id (`mid.ru` → `mid_ru`).
pub fn source_token(source: &str) -> String {
    source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Subject of a raw page.
pub fn raw_subject(source: &str, lang: Lang) -> String {
    format!("raw.{}.{lang}", source_token(source))
}

/// Subject of a speech record.
pub fn speech_subject(source: &str, lang: Lang, kind: Kind) -> String {
    format!("speeches.{}.{lang}.{kind}", source_token(source))
}

/// Subject of a dead letter from `stage` about a message of `source`.
pub fn dead_letter_subject(stage: &str, source: &str) -> String {
    format!("dead.{}.{}", source_token(stage), source_token(source))
}

/// Subject of a dead letter from `stage` about a message delivered on `subject`
/// (`raw.{token}.{lang}` or `speeches.{token}.…`): the source token is the subject's second
/// token, so every source's dead letters stay apart; `unknown` when the subject has none.
pub fn dead_letter_subject_for(stage: &str, subject: &str) -> String {
    let source = subject
        .split('.')
        .nth(1)
        .filter(|t| !t.is_empty())
        .unwrap_or("unknown");
    dead_letter_subject(stage, source)
}

/// A stream this system uses, with the subjects it captures.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    /// Stream name.
    pub name: &'static str,
    /// Subject filter it captures.
    pub subjects: &'static str,
    /// What it holds, for logs and docs.
    pub description: &'static str,
    /// How long messages are kept (zero: forever).
    pub max_age: Duration,
}

/// Every stream, created idempotently by whichever service starts first.
pub const STREAMS: [StreamSpec; 3] = [
    StreamSpec {
        name: RAW_STREAM,
        subjects: "raw.>",
        description: "Fetched statement pages, kept for re-parsing",
        max_age: Duration::from_secs(365 * 24 * 60 * 60),
    },
    StreamSpec {
        name: SPEECH_STREAM,
        subjects: "speeches.>",
        description: "Normalized speech records",
        max_age: Duration::ZERO,
    },
    StreamSpec {
        name: DEAD_LETTER_STREAM,
        subjects: "dead.>",
        description: "Messages a stage gave up on, with the reason",
        max_age: Duration::ZERO,
    },
];

/// A durable pull consumer this system uses.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSpec {
    /// Stream it reads.
    pub stream: &'static str,
    /// Durable name, shared by all replicas of the service.
    pub durable: &'static str,
    /// Time a delivery may stay unacknowledged before redelivery.
    pub ack_wait: Duration,
    /// Deliveries before the message is dead-lettered.
    pub max_deliver: i64,
    /// Messages fetched per batch.
    pub batch: usize,
}

/// The parser's consumer of raw pages.
pub const PARSER: ConsumerSpec = ConsumerSpec {
    stream: RAW_STREAM,
    durable: PARSER_CONSUMER,
    ack_wait: Duration::from_secs(60),
    max_deliver: 5,
    batch: 16,
};

/// The sink's consumer of speech records.
pub const SINK: ConsumerSpec = ConsumerSpec {
    stream: SPEECH_STREAM,
    durable: SINK_CONSUMER,
    ack_wait: Duration::from_secs(60),
    max_deliver: 10,
    batch: 256,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_carry_source_language_and_kind() {
        assert_eq!(raw_subject("mid.ru", Lang::Ru), "raw.mid_ru.ru");
        assert_eq!(
            speech_subject("mid.ru", Lang::En, Kind::PressConference),
            "speeches.mid_ru.en.press_conference"
        );
        assert_eq!(
            dead_letter_subject("parser", "mid.ru"),
            "dead.parser.mid_ru"
        );
        assert_eq!(source_token("a.b c>*"), "a_b_c__");
        assert_eq!(
            dead_letter_subject_for("parser", "raw.kremlin_ru.en"),
            "dead.parser.kremlin_ru"
        );
        assert_eq!(
            dead_letter_subject_for("sink", "speeches.fmprc_gov_cn.en.briefing"),
            "dead.sink.fmprc_gov_cn"
        );
        assert_eq!(dead_letter_subject_for("sink", "odd"), "dead.sink.unknown");
    }
}
