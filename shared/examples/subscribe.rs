//! Prints each new statement as one line, as it is published.
//!
//! ```text
//! NATS_URL=nats://127.0.0.1:4222 NATS_USER=subscriber NATS_PASSWORD_FILE=data/nats-auth/subscriber.password \
//!   cargo run -p shared --example subscribe -- 'speeches.*.en.>'
//! ```
//!
//! It connects as the read-only `subscriber` identity (see `shared::nats_auth`), which may
//! read `speeches.>` and nothing else; `scripts/run` writes its password file.
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

/// Prints each new statement as one line, as it is published.
#[derive(Debug, clap::Parser)]
#[command(name = "subscribe")]
struct Args {
    /// Subject filter within `speeches.{source}.{lang}.{kind}`.
    #[arg(default_value = "speeches.>")]
    filter: String,
    /// Replay every stored statement first.
    #[arg(long)]
    all: bool,
    /// NATS server(s), comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Identity (the read-only `subscriber`) and TLS.
    #[command(flatten)]
    auth: shared::config::NatsAuthArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init(LogFormat::Text);
    let Args {
        filter,
        all: replay,
        nats_url: url,
        auth,
    } = clap::Parser::parse();
    if filter != "speeches.>" && !filter.starts_with("speeches.") {
        anyhow::bail!(
            "the filter {filter:?} is outside the SPEECHES stream: give one within speeches.{{source}}.{{lang}}.{{kind}}, e.g. 'speeches.*.en.>'"
        );
    }
    let shutdown = shared::shutdown::on_signals();
    let client = match nats::connect(&url, &auth, "subscriber", &shutdown).await {
        Ok(client) => client,
        Err(nats::NatsError::Cancelled) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let js = jetstream::new(client);
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
