//! What the checker reads, without the services' code: the sink's tables with plain SQL
//! (psql, straight to PostgreSQL, not through the proxy) and the dead letters and consumer
//! positions from NATS as plain JSON. Also the sabotage a soak can apply from the outside.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use super::checker::{
    DeadLetterRow, LATEST_SQL, Observed, STORED_REVISIONS_SQL, VERSIONS_SQL, parse_latest,
    parse_stored_revisions, parse_versions,
};
use super::deployment::Deployment;

const DEAD_LETTERS: &str = "DEAD_LETTERS";
/// Consumers whose backlog must be empty before the end state is read: (stream, consumer).
const CONSUMERS: [(&str, &str); 2] = [("RAW_PAGES", "parser"), ("SPEECHES", "sink")];

/// Runs `sql` on the database itself with psql (the runtime's other tasks go on meanwhile).
pub fn sql(deployment: &Deployment, sql: &str) -> Result<String, String> {
    let url = deployment.database.url();
    tokio::task::block_in_place(|| deployment.database.try_psql(&url, sql))
}

/// Each record's served revision, by id (empty before the sink made its tables).
pub fn stored_revisions(deployment: &Deployment) -> BTreeMap<String, u32> {
    sql(deployment, STORED_REVISIONS_SQL)
        .map(|text| parse_stored_revisions(&text))
        .unwrap_or_default()
}

/// Reads the store and the dead letters.
pub async fn observe(
    deployment: &Deployment,
    js: &async_nats::jetstream::Context,
) -> Result<Observed, String> {
    Ok(Observed {
        versions: parse_versions(&sql(deployment, VERSIONS_SQL)?),
        latest: parse_latest(&sql(deployment, LATEST_SQL)?),
        dead_letters: dead_letters(js).await?,
    })
}

/// A JetStream context on the cluster.
pub async fn jetstream(nats_url: &str) -> Result<async_nats::jetstream::Context, String> {
    let give_up = tokio_util::sync::CancellationToken::new();
    let timer = give_up.clone();
    let guard = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        timer.cancel();
    });
    let client = shared::nats::connect(
        nats_url,
        &shared::config::NatsAuthArgs::default(),
        "operator",
        &give_up,
    )
    .await
    .map_err(|e| format!("cannot connect to NATS: {e}"));
    guard.abort();
    Ok(async_nats::jetstream::new(client?))
}

/// Every dead letter, with the record id of the page it holds.
pub async fn dead_letters(
    js: &async_nats::jetstream::Context,
) -> Result<Vec<DeadLetterRow>, String> {
    let Ok(mut stream) = js.get_stream(DEAD_LETTERS).await else {
        // Nobody dead-lettered anything: the stream may not even exist.
        return Ok(Vec::new());
    };
    let info = stream
        .info()
        .await
        .map_err(|e| format!("{DEAD_LETTERS} info: {e}"))?;
    let (first, last) = (info.state.first_sequence, info.state.last_sequence);
    let mut rows = Vec::new();
    for seq in first.max(1)..=last {
        let Ok(message) = stream.get_raw_message(seq).await else {
            continue;
        };
        rows.push(dead_letter_row(&message.payload));
    }
    Ok(rows)
}

/// The record id in a dead letter's original payload (a raw page or a record) and its reason.
fn dead_letter_row(payload: &[u8]) -> DeadLetterRow {
    let letter: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let original: Value = text(&letter, "payload")
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let id = text(&original, "id").or_else(|| {
        Some(format!(
            "{}:{}:{}",
            text(&original, "source")?,
            text(&original, "doc_id")?,
            text(&original, "lang")?
        ))
    });
    DeadLetterRow {
        id,
        reason: format!(
            "{}: {}",
            text(&letter, "stage").unwrap_or_default(),
            text(&letter, "reason").unwrap_or_default()
        ),
    }
}

/// Messages the parser and the sink have not finished (pending plus unacknowledged); None
/// while NATS does not answer.
pub async fn backlog(js: &async_nats::jetstream::Context) -> Option<u64> {
    let mut total = 0;
    for (stream, consumer) in CONSUMERS {
        let stream = js.get_stream(stream).await.ok()?;
        let mut consumer = stream
            .get_consumer::<async_nats::jetstream::consumer::pull::Config>(consumer)
            .await
            .ok()?;
        let info = tokio::time::timeout(Duration::from_secs(5), consumer.info())
            .await
            .ok()?
            .ok()?;
        total += info.num_pending + info.num_ack_pending as u64;
    }
    Some(total)
}

/// Deliberately broken idempotency, applied from outside the services (on the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sabotage {
    /// Stores a generated record's served version once more, as a sink without
    /// de-duplication would on a redelivery.
    DuplicateVersion,
    /// Deletes a generated record, as a sink that acknowledged before committing would lose it.
    DropRecord,
}

/// Applies `sabotage` to one stored generated record; returns its id (None when no
/// generated record is stored yet).
pub fn sabotage(deployment: &Deployment, sabotage: Sabotage) -> Result<Option<String>, String> {
    let id = sql(
        deployment,
        "SELECT id FROM speeches WHERE doc_id LIKE '4%' AND length(doc_id) = 7 ORDER BY id LIMIT 1",
    )?;
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":.".contains(&b))
    {
        return Ok(None);
    }
    let statement = match sabotage {
        Sabotage::DuplicateVersion => format!(
            "BEGIN; \
             INSERT INTO speech_versions (id, version, content_hash, record) \
               SELECT v.id, v.version + 1, v.content_hash, v.record FROM speech_versions v \
               JOIN speeches s ON s.id = v.id AND s.version = v.version WHERE v.id = '{id}'; \
             UPDATE speeches SET version = version + 1 WHERE id = '{id}'; COMMIT"
        ),
        Sabotage::DropRecord => format!(
            "BEGIN; DELETE FROM speech_versions WHERE id = '{id}'; \
             DELETE FROM speeches WHERE id = '{id}'; COMMIT"
        ),
    };
    sql(deployment, &statement)?;
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_name_the_page_they_hold() {
        let raw = br#"{"source":"mid.ru","doc_id":"4000003","lang":"en","url":"x"}"#;
        let letter = serde_json::json!({
            "stage": "parser",
            "reason": "not a statement page",
            "payload": base64::engine::general_purpose::STANDARD.encode(raw),
        });
        let row = dead_letter_row(letter.to_string().as_bytes());
        assert_eq!(row.id.as_deref(), Some("mid.ru:4000003:en"));
        assert_eq!(row.reason, "parser: not a statement page");
        let record = br#"{"id":"mid.ru:1:ru"}"#;
        let letter = serde_json::json!({
            "stage": "sink",
            "reason": "r",
            "payload": base64::engine::general_purpose::STANDARD.encode(record),
        });
        assert_eq!(
            dead_letter_row(letter.to_string().as_bytes()).id.as_deref(),
            Some("mid.ru:1:ru")
        );
        assert_eq!(dead_letter_row(b"junk").id, None);
    }
}
