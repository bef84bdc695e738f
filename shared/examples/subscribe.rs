//! Prints each new statement as one line, as it is published.
//!
//! ```text
//! NATS_URL=nats://127.0.0.1:4222 cargo run -p shared --example subscribe -- 'speeches.*.en.>'
//! ```
//!
//! The argument is a subject filter within `speeches.{source}.{lang}.{kind}` (default
//! `speeches.>`): `'speeches.*.ru.>'` for Russian statements, `'speeches.*.*.interview'` for
//! interviews. Add `--all` to replay every stored statement first.
//!
//! How it listens: an *ordered JetStream consumer* on the `SPEECHES` stream with that filter,
//! delivering only messages published from now on. It is ephemeral and in-order, resumes
//! by itself after a reconnection, and acknowledges nothing. A plain core-NATS
//! subscription (`client.subscribe("speeches.*.en.>")`) would also work, but sees only what is
//! published while it is connected. Neither remembers a position across restarts: a program
//! that must not miss statements while it is offline should use a *durable* consumer (as the
//! sink does with `shared::nats::ensure_consumer` and `shared::consumer::run`), whose position
//! the server keeps until the program comes back.
#![allow(clippy::print_stdout)]

use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use futures_util::StreamExt;
use shared::config::LogFormat;
use shared::subjects::SPEECH_STREAM;
use shared::{SpeechRecord, nats};

fn line(record: &SpeechRecord) -> String {
    let published = record
        .published_at
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "-".to_string());
    let speakers = if record.speakers.is_empty() {
        "-".to_string()
    } else {
        record.speakers.join(", ")
    };
    format!(
        "{published}  {}  {:<16}  {speakers}  |  {}  |  {}",
        record.lang,
        record.kind.as_str(),
        record.title,
        record.url
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init(LogFormat::Text);
    let mut filter = "speeches.>".to_string();
    let mut replay = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--all" => replay = true,
            "-h" | "--help" => {
                println!(
                    "usage: subscribe [SUBJECT_FILTER] [--all]   (default filter: speeches.>)"
                );
                return Ok(());
            }
            other => filter = other.to_string(),
        }
    }
    if filter != "speeches.>" && !filter.starts_with("speeches.") {
        anyhow::bail!(
            "the filter {filter:?} is outside the SPEECHES stream: give one within speeches.{{source}}.{{lang}}.{{kind}}, e.g. 'speeches.*.en.>'"
        );
    }
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let shutdown = shared::shutdown::on_signals();
    let client = match nats::connect(&url, "subscribe-example", &shutdown).await {
        Ok(client) => client,
        Err(nats::NatsError::Cancelled) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let js = jetstream::new(client);
    nats::ensure_streams(&js, 1, &shutdown).await?;
    let stream = js
        .get_stream(SPEECH_STREAM)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the {SPEECH_STREAM} stream: {e}"))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: filter.clone(),
            deliver_policy: if replay {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {filter}: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {filter}: {e}"))?;
    eprintln!(
        "listening on {filter} ({}); Ctrl-C to stop",
        if replay {
            "stored statements first"
        } else {
            "new statements only"
        }
    );
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => break,
            next = messages.next() => next,
        };
        match next {
            Some(Ok(message)) => match SpeechRecord::from_json(&message.payload) {
                Ok(record) => println!("{}", line(&record)),
                Err(err) => eprintln!(
                    "not a speech record on {} ({err}); ignored",
                    message.subject
                ),
            },
            Some(Err(err)) => eprintln!("subscription interrupted ({err}); resuming"),
            None => break,
        }
    }
    Ok(())
}
