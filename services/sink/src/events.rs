//! `GET /v1/events`: Server-Sent Events, one per version the sink stores.
//!
//! Every stored version has a number in the store's durable sequence
//! ([`crate::store::Store::events_after`]); it is the event's `id:`. One [`EventHub`] per sink
//! reads the sequence while somebody listens (a cheap indexed query every
//! [`POLL_INTERVAL`]) and fans the events out; each connection filters them like the list
//! endpoint. A reconnecting client sends `Last-Event-ID` (browsers do it by themselves) or
//! `?after=N` and first gets what it missed, read back from the store, at most
//! [`MAX_REPLAY`] events; beyond that it gets a `gap` event telling it to re-read the list.
//! Because events are read from the store, an event always means "committed".

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use shared::SpeechRecord;
use tokio::sync::{Mutex, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::params::{Endpoint, ParamError, parse_query};
use crate::store::{AnyStore, Query, Store, StoreError, StoredEvent, sort_key};

/// How often the hub reads the sequence while somebody listens.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Most events replayed to a reconnecting client.
pub const MAX_REPLAY: usize = 1000;
/// Events read from the store per query.
const BATCH: u32 = 200;
/// Events buffered per listener before it counts as lagging (it then reads the store).
const CHANNEL: usize = 256;
/// What browsers wait before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

/// One stored version, ready to send and to filter.
#[derive(Debug, Clone)]
pub struct Event {
    /// Position in the store's sequence (the SSE `id:`).
    pub seq: i64,
    /// The record's summary as JSON (the SSE `data:`).
    pub data: String,
    record: SpeechRecord,
}

impl Event {
    /// The event of a stored version; `None` when its JSON is not a record (never written so).
    pub fn from_stored(stored: &StoredEvent) -> Option<Event> {
        let record: SpeechRecord = serde_json::from_str(&stored.record).ok()?;
        let data = json!({
            "seq": stored.seq,
            "id": record.id,
            "version": stored.version,
            "change": if stored.version == 1 { "inserted" } else { "new_version" },
            "source": record.source,
            "doc_id": record.doc_id,
            "lang": record.lang,
            "kind": record.kind,
            "title": record.title,
            "speakers": record.speakers,
            "location": record.location,
            "published_at": record.published_at,
            "url": record.url,
            "record": format!("/v1/speeches/{}", record.id),
        })
        .to_string();
        Some(Event {
            seq: stored.seq,
            data,
            record,
        })
    }

    /// Whether the event passes the list filters of `query` (`q` is not used).
    pub fn matches(&self, query: &Query) -> bool {
        matches(query, &self.record)
    }
}

/// Whether `record` passes the list filters of `query` (`q` aside), as the stores apply them.
pub fn matches(query: &Query, record: &SpeechRecord) -> bool {
    let key = sort_key(record);
    query
        .source
        .as_deref()
        .is_none_or(|source| source == record.source)
        && query.lang.is_none_or(|lang| lang == record.lang)
        && query.kind.is_none_or(|kind| kind == record.kind)
        && query.speaker.as_deref().is_none_or(|needle| {
            let needle = needle.to_lowercase();
            record
                .speakers
                .iter()
                .any(|name| name.to_lowercase().contains(&needle))
        })
        && query.since.is_none_or(|t| key >= t.timestamp_micros())
        && query.until.is_none_or(|t| key < t.timestamp_micros())
}

struct Inner {
    store: AnyStore,
    sender: broadcast::Sender<Arc<Event>>,
    /// The last sequence number broadcast (updated before the send).
    position: AtomicI64,
    /// Whether the polling task runs; taken by subscribers and by the task deciding to stop.
    running: Mutex<bool>,
    shutdown: CancellationToken,
}

/// Reads the store's event sequence while somebody listens and fans it out.
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Inner>,
}

impl EventHub {
    /// A hub over `store`; its streams end when `shutdown` fires.
    pub fn new(store: AnyStore, shutdown: CancellationToken) -> EventHub {
        let (sender, _) = broadcast::channel(CHANNEL);
        EventHub {
            inner: Arc::new(Inner {
                store,
                sender,
                position: AtomicI64::new(0),
                running: Mutex::new(false),
                shutdown,
            }),
        }
    }

    /// The store behind the hub.
    pub fn store(&self) -> &AnyStore {
        &self.inner.store
    }

    /// Subscribes; returns the receiver and the position from which it receives everything.
    async fn subscribe(&self) -> Result<(broadcast::Receiver<Arc<Event>>, i64), StoreError> {
        let mut running = self.inner.running.lock().await;
        if !*running {
            // Nobody listened: nothing is owed to anybody, start at the head.
            let head = self.inner.store.last_event().await?;
            self.inner.position.store(head, Ordering::SeqCst);
            *running = true;
            let hub = self.clone();
            tokio::spawn(async move { hub.poll().await });
        }
        let receiver = self.inner.sender.subscribe();
        Ok((receiver, self.inner.position.load(Ordering::SeqCst)))
    }

    async fn poll(&self) {
        let inner = &self.inner;
        let mut wait = true;
        loop {
            if wait {
                tokio::select! {
                    _ = inner.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                }
            }
            {
                let mut running = inner.running.lock().await;
                if inner.sender.receiver_count() == 0 || inner.shutdown.is_cancelled() {
                    *running = false;
                    return;
                }
            }
            let after = inner.position.load(Ordering::SeqCst);
            match inner.store.events_after(after, BATCH).await {
                Ok(events) => {
                    wait = events.len() < BATCH as usize;
                    for stored in &events {
                        inner.position.store(stored.seq, Ordering::SeqCst);
                        if let Some(event) = Event::from_stored(stored) {
                            let _ = inner.sender.send(Arc::new(event));
                        }
                    }
                }
                Err(err) => {
                    wait = true;
                    tracing::warn!(error = %err, "events: cannot read the store; trying again");
                }
            }
        }
        *inner.running.lock().await = false;
    }
}

/// What a client asked of `/v1/events`.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The filters.
    pub query: Query,
    /// Resume after this sequence number (`Last-Event-ID` or `after`).
    pub after: Option<i64>,
}

/// Validates the query string of `/v1/events` and the `Last-Event-ID` header (which wins over
/// `after`).
pub fn parse_subscription(
    pairs: &[(String, String)],
    last_event_id: Option<&str>,
) -> Result<Subscription, ParamError> {
    let parse_after = |name: &str, value: &str| {
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ParamError(format!(
                    "{name} {value:?} is not an event id: give the `id:` of the last event received (a whole number)"
                ))
            })
    };
    let mut after = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if key == "after" {
            if after.is_some() {
                return Err(ParamError(
                    "parameter after is given more than once; give it once".into(),
                ));
            }
            after = Some(parse_after("after", value)?);
        } else {
            rest.push((key.clone(), value.clone()));
        }
    }
    if let Some(header) = last_event_id {
        after = Some(parse_after("Last-Event-ID", header)?);
    }
    let query = parse_query(&rest, Endpoint::Events).map_err(|e| {
        ParamError(format!(
            "{}{}",
            e.0,
            if e.0.starts_with("unknown parameter") {
                " and after"
            } else {
                ""
            }
        ))
    })?;
    Ok(Subscription { query, after })
}

type Sender = mpsc::Sender<Result<SseEvent, Infallible>>;

fn sse_event(event: &Event) -> SseEvent {
    SseEvent::default()
        .id(event.seq.to_string())
        .event("stored")
        .data(&event.data)
}

/// Sends the stored events after `sent` up to at least `until`, filtered; returns the last
/// sequence number read, or `None` when the client is gone. Past [`MAX_REPLAY`] events it
/// sends a `gap` event and skips to `until`.
async fn replay(
    store: &AnyStore,
    query: &Query,
    mut sent: i64,
    until: i64,
    out: &Sender,
) -> Option<Result<i64, StoreError>> {
    let mut read = 0;
    while sent < until {
        if read >= MAX_REPLAY {
            let gap = SseEvent::default()
                .id(until.to_string())
                .event("gap")
                .data(
                    json!({
                        "after": sent,
                        "resumed_at": until,
                        "message": format!("more than {MAX_REPLAY} events were missed; read GET /v1/speeches for them"),
                    })
                    .to_string(),
                );
            out.send(Ok(gap)).await.ok()?;
            return Some(Ok(until));
        }
        let batch = match store.events_after(sent, BATCH).await {
            Ok(batch) => batch,
            Err(err) => return Some(Err(err)),
        };
        if batch.is_empty() {
            break;
        }
        read += batch.len();
        for stored in &batch {
            sent = stored.seq;
            if let Some(event) = Event::from_stored(stored).filter(|e| e.matches(query)) {
                out.send(Ok(sse_event(&event))).await.ok()?;
            }
        }
    }
    Some(Ok(sent))
}

/// Feeds one connection: replay, then live events, until the client leaves or shutdown.
async fn pump(hub: EventHub, subscription: Subscription, out: Sender) {
    let inner = &hub.inner;
    let (mut receiver, position) = match hub.subscribe().await {
        Ok(subscribed) => subscribed,
        Err(err) => {
            tracing::warn!(error = %err, "events: cannot subscribe");
            return;
        }
    };
    let hello = SseEvent::default()
        .retry(RETRY)
        .comment("ministry-feed events");
    if out.send(Ok(hello)).await.is_err() {
        return;
    }
    // An id from the future (another database?) cannot be resumed: start from now.
    let start = subscription
        .after
        .filter(|&a| a <= position)
        .unwrap_or(position);
    let mut sent = match replay(&inner.store, &subscription.query, start, position, &out).await {
        Some(Ok(sent)) => sent,
        Some(Err(err)) => {
            tracing::warn!(error = %err, "events: cannot replay from the store");
            return;
        }
        None => return,
    };
    loop {
        let received = tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = out.closed() => return,
            received = receiver.recv() => received,
        };
        match received {
            Ok(event) => {
                if event.seq <= sent {
                    continue;
                }
                sent = event.seq;
                if event.matches(&subscription.query)
                    && out.send(Ok(sse_event(&event))).await.is_err()
                {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let until = inner.position.load(Ordering::SeqCst);
                sent = match replay(&inner.store, &subscription.query, sent, until, &out).await {
                    Some(Ok(sent)) => sent,
                    _ => return,
                };
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The SSE response for `subscription`.
pub fn stream(
    hub: &EventHub,
    subscription: Subscription,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>> {
    let (out, mut events) = mpsc::channel(64);
    tokio::spawn(pump(hub.clone(), subscription, out));
    let stream = futures_util::stream::poll_fn(move |cx| events.poll_recv(cx));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Lang;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn subscriptions_take_filters_and_a_resume_point() {
        let s =
            parse_subscription(&pairs(&[("lang", "ru"), ("after", "41")]), None).expect("valid");
        assert_eq!(s.query.lang, Some(Lang::Ru));
        assert_eq!(s.after, Some(41));
        let s = parse_subscription(&pairs(&[("after", "41")]), Some("57")).expect("valid");
        assert_eq!(s.after, Some(57), "Last-Event-ID wins");
        for bad in [
            &[("q", "x")][..],
            &[("after", "-1")],
            &[("after", "x")],
            &[("limit", "5")],
            &[("after", "1"), ("after", "2")],
        ] {
            assert!(parse_subscription(&pairs(bad), None).is_err(), "{bad:?}");
        }
        assert!(parse_subscription(&[], Some("abc")).is_err());
    }

    #[test]
    fn events_are_filtered_like_the_list() {
        let stored = StoredEvent {
            seq: 3,
            version: 2,
            record: serde_json::json!({
                "schema_version": 1, "id": "mid.ru:1:en", "source": "mid.ru", "doc_id": "1",
                "lang": "en", "url": "https://mid.ru/en/1", "title": "T", "kind": "interview",
                "speakers": ["Sergey Lavrov"], "location": null, "event_date": null,
                "published_at": "2024-03-01T10:00:00+03:00", "doc_number": null,
                "paragraphs": ["P"], "turns": [], "tags": [], "translations": {},
                "content_hash": "sha256:x", "fetched_at": "2024-03-01T08:00:00Z",
                "parser_version": "t"
            })
            .to_string(),
        };
        let event = Event::from_stored(&stored).expect("a record");
        let data: serde_json::Value = serde_json::from_str(&event.data).expect("JSON");
        assert_eq!(data["change"], "new_version");
        assert_eq!(data["record"], "/v1/speeches/mid.ru:1:en");
        let query =
            |list: &[(&str, &str)]| parse_subscription(&pairs(list), None).expect("valid").query;
        assert!(event.matches(&query(&[])));
        assert!(event.matches(&query(&[("speaker", "lavrov"), ("kind", "interview")])));
        assert!(!event.matches(&query(&[("lang", "ru")])));
        assert!(event.matches(&query(&[("source", "mid.ru")])));
        assert!(!event.matches(&query(&[("source", "kremlin.ru")])));
        assert!(!event.matches(&query(&[("kind", "speech")])));
        assert!(!event.matches(&query(&[("speaker", "Zakharova")])));
        assert!(event.matches(&query(&[("since", "2024-03-01"), ("until", "2024-03-01")])));
        assert!(!event.matches(&query(&[("since", "2024-03-02")])));
    }
}
