//! `parser dead-letters list|replay`: read the `DEAD_LETTERS` stream without changing any
//! durable state, and put letters back on their original subjects.
//!
//! * Listing uses an ephemeral ordered consumer from the start of the stream, filtered by
//!   stage (`dead.{stage}.*`), one message at a time (bounded memory).
//! * Replaying republishes a letter's original payload on its original subject with the
//!   de-duplication id `replay:{dead_seq}` (so replaying twice within the dedup window is
//!   harmless), and deletes the letter only after the publish is acknowledged.

use std::io::Write;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use futures_util::StreamExt;
use shared::messages::DeadLetter;
use shared::nats::publish_durable;
use shared::subjects::{DEAD_LETTER_STREAM, source_token};

/// How long to wait for the next message of an ordered consumer before giving up.
const NEXT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// Errors of the dead-letter commands.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// A JetStream call failed.
    #[error("{action} failed: {reason}; check --nats-url and that nats-server runs with JetStream")]
    JetStream {
        /// What was attempted.
        action: String,
        /// Why it failed.
        reason: String,
    },
    /// A requested sequence holds no dead letter.
    #[error(
        "no dead letter with sequence {0} in {DEAD_LETTER_STREAM}; run `parser dead-letters list` to see the sequences"
    )]
    NotFound(u64),
    /// A letter cannot be replayed.
    #[error("dead letter {seq} cannot be replayed: {reason}")]
    Unreplayable {
        /// Its sequence in DEAD_LETTERS.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

fn js_err(action: impl Into<String>, err: impl std::fmt::Display) -> DeadLetterError {
    DeadLetterError::JetStream {
        action: action.into(),
        reason: err.to_string(),
    }
}

/// The subject filter of a stage name: `all` (or empty) is every stage.
pub fn stage_filter(stage: &str) -> String {
    if stage.is_empty() || stage == "all" {
        "dead.>".to_string()
    } else {
        format!("dead.{}.*", source_token(stage))
    }
}

/// Whether a letter from `letter_stage` passes the `--stage` filter.
pub fn stage_matches(filter: &str, letter_stage: &str) -> bool {
    filter.is_empty() || filter == "all" || filter == letter_stage
}

/// One letter as read from the stream.
#[derive(Debug, Clone)]
pub struct StoredLetter {
    /// Its sequence in DEAD_LETTERS.
    pub seq: u64,
    /// The letter, or why it could not be decoded.
    pub letter: Result<DeadLetter, String>,
}

/// One line of `dead-letters list` (pure).
pub fn format_line(stored: &StoredLetter) -> String {
    match &stored.letter {
        Ok(l) => format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            stored.seq,
            l.failed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            l.stage,
            l.deliveries,
            l.subject,
            l.reason.replace(['\n', '\t'], " ")
        ),
        Err(e) => format!("{}\t-\t-\t-\t-\tunreadable dead letter: {e}", stored.seq),
    }
}

/// The `--json` form of a letter: the DeadLetter minus its payload, plus `dead_seq` and
/// `payload_bytes` (pure).
pub fn format_json(stored: &StoredLetter) -> serde_json::Value {
    match &stored.letter {
        Ok(letter) => {
            let payload_bytes = letter.original_payload().map(|p| p.len()).ok();
            let mut value = serde_json::to_value(letter).unwrap_or(serde_json::Value::Null);
            if let Some(map) = value.as_object_mut() {
                map.remove("payload");
                map.insert("dead_seq".into(), stored.seq.into());
                map.insert("payload_bytes".into(), payload_bytes.into());
            }
            value
        }
        Err(e) => serde_json::json!({"dead_seq": stored.seq, "error": e}),
    }
}

fn decode(seq: u64, payload: &[u8]) -> StoredLetter {
    StoredLetter {
        seq,
        letter: serde_json::from_slice::<DeadLetter>(payload).map_err(|e| e.to_string()),
    }
}

/// Calls `each` for every letter of `stage` (`all`: every stage), oldest first, through an
/// ephemeral ordered consumer. Returns how many were seen.
pub async fn for_each_letter<F>(
    js: &jetstream::Context,
    stage: &str,
    mut each: F,
) -> Result<u64, DeadLetterError>
where
    F: FnMut(StoredLetter) -> Result<(), DeadLetterError>,
{
    let stream = js
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .map_err(|e| js_err(format!("opening stream {DEAD_LETTER_STREAM}"), e))?;
    let filter = stage_filter(stage);
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter.clone(),
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| js_err(format!("creating an ordered consumer on {filter}"), e))?;
    if consumer.cached_info().num_pending == 0 {
        return Ok(0);
    }
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| js_err("reading DEAD_LETTERS", e))?;
    let mut seen = 0;
    loop {
        let next = tokio::time::timeout(NEXT_MESSAGE_TIMEOUT, messages.next())
            .await
            .map_err(|_| js_err("reading DEAD_LETTERS", "no message within 15 s"))?;
        let Some(message) = next else { break };
        let message = message.map_err(|e| js_err("reading DEAD_LETTERS", e))?;
        let (seq, pending) = {
            let info = message
                .info()
                .map_err(|e| js_err("reading a message's metadata", e))?;
            (info.stream_sequence, info.pending)
        };
        seen += 1;
        each(decode(seq, &message.payload))?;
        if pending == 0 {
            break;
        }
    }
    Ok(seen)
}

/// `dead-letters list`: one line (or JSON object) per letter on `out`.
pub async fn list(
    js: &jetstream::Context,
    stage: &str,
    json: bool,
    out: &mut dyn Write,
) -> Result<u64, DeadLetterError> {
    for_each_letter(js, stage, |stored| {
        if json {
            writeln!(out, "{}", format_json(&stored))?;
        } else {
            writeln!(out, "{}", format_line(&stored))?;
        }
        Ok(())
    })
    .await
}

/// What `replay` did to one letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Its sequence in DEAD_LETTERS (deleted now).
    pub seq: u64,
    /// Where its payload went.
    pub subject: String,
    /// Whether JetStream saw the republish as a duplicate (replayed before).
    pub duplicate: bool,
}

/// Replays one letter: republish, then delete it.
pub async fn replay_one(
    js: &jetstream::Context,
    seq: u64,
    stage: &str,
) -> Result<Option<Replayed>, DeadLetterError> {
    let stream = js
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .map_err(|e| js_err(format!("opening stream {DEAD_LETTER_STREAM}"), e))?;
    let message = match stream.get_raw_message(seq).await {
        Ok(m) => m,
        Err(e) => {
            use async_nats::jetstream::stream::RawMessageErrorKind;
            return Err(match e.kind() {
                RawMessageErrorKind::NoMessageFound => DeadLetterError::NotFound(seq),
                _ => js_err(format!("reading dead letter {seq}"), e),
            });
        }
    };
    let letter: DeadLetter =
        serde_json::from_slice(&message.payload).map_err(|e| DeadLetterError::Unreplayable {
            seq,
            reason: format!("not a dead letter ({e}); delete it with `nats stream rmm`"),
        })?;
    if !stage_matches(stage, &letter.stage) {
        return Ok(None);
    }
    if letter.subject.is_empty() || letter.subject.starts_with("dead.") {
        return Err(DeadLetterError::Unreplayable {
            seq,
            reason: format!(
                "its original subject {:?} is not replayable",
                letter.subject
            ),
        });
    }
    let payload = letter
        .original_payload()
        .map_err(|e| DeadLetterError::Unreplayable {
            seq,
            reason: format!("its payload is not valid base64: {e}"),
        })?;
    let duplicate = publish_durable(
        js,
        &letter.subject,
        &format!("replay:{seq}"),
        Bytes::from(payload),
        3,
    )
    .await
    .map_err(|e| js_err(format!("republishing dead letter {seq}"), e))?;
    stream
        .delete_message(seq)
        .await
        .map_err(|e| js_err(format!("deleting replayed dead letter {seq}"), e))?;
    Ok(Some(Replayed {
        seq,
        subject: letter.subject,
        duplicate,
    }))
}

/// `dead-letters replay`: replays `seqs` (or every letter of `stage` when `all`), printing
/// one line per letter. Stops at the first error.
pub async fn replay(
    js: &jetstream::Context,
    seqs: &[u64],
    all: bool,
    stage: &str,
    out: &mut dyn Write,
) -> Result<u64, DeadLetterError> {
    let mut targets = seqs.to_vec();
    if all {
        // Sequences only: the payloads are read again one at a time.
        for_each_letter(js, stage, |stored| {
            targets.push(stored.seq);
            Ok(())
        })
        .await?;
    }
    targets.sort_unstable();
    targets.dedup();
    let mut replayed = 0;
    for seq in targets {
        match replay_one(js, seq, stage).await? {
            Some(r) => {
                replayed += 1;
                writeln!(
                    out,
                    "replayed dead letter {} to {}{}; deleted it from {DEAD_LETTER_STREAM}",
                    r.seq,
                    r.subject,
                    if r.duplicate {
                        " (already replayed: duplicate)"
                    } else {
                        ""
                    }
                )?;
            }
            None => writeln!(out, "skipped dead letter {seq}: not from stage {stage}")?,
        }
    }
    writeln!(out, "replayed {replayed} dead letter(s)")?;
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> DeadLetter {
        DeadLetter {
            schema_version: shared::messages::DEAD_LETTER_SCHEMA_VERSION,
            stage: "parser".into(),
            reason: "page is 9 bytes,\tover".into(),
            subject: "raw.mid_ru.en".into(),
            stream_sequence: Some(4),
            deliveries: 5,
            failed_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            payload: "aGVsbG8=".into(),
        }
    }

    #[test]
    fn filters_by_stage() {
        assert_eq!(stage_filter("all"), "dead.>");
        assert_eq!(stage_filter("parser"), "dead.parser.*");
        assert!(stage_matches("all", "sink"));
        assert!(stage_matches("sink", "sink"));
        assert!(!stage_matches("parser", "sink"));
    }

    #[test]
    fn a_line_and_json_per_letter() {
        let stored = StoredLetter {
            seq: 7,
            letter: Ok(letter()),
        };
        assert_eq!(
            format_line(&stored),
            "7\t2023-11-14T22:13:20Z\tparser\t5\traw.mid_ru.en\tpage is 9 bytes, over"
        );
        let json = format_json(&stored);
        assert_eq!(json["dead_seq"], 7);
        assert_eq!(json["payload_bytes"], 5);
        assert!(json.get("payload").is_none());
        assert_eq!(json["stage"], "parser");
        let bad = StoredLetter {
            seq: 8,
            letter: Err("eof".into()),
        };
        assert!(format_line(&bad).contains("unreadable dead letter: eof"));
    }
}
