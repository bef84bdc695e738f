//! Integration tests of the sink: the store suite on SQLite and PostgreSQL, the HTTP API, and
//! the NATS consumer end to end, PostgreSQL over TLS.
//!
//! PostgreSQL tests create their own database on `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and drop it afterwards; an unreachable
//! server fails them. The consumer test starts a private nats-server; the TLS tests a private
//! PostgreSQL cluster (initdb from the PostgreSQL packages).
#![allow(clippy::unwrap_used)]

#[path = "sink/api.rs"]
mod api;
#[path = "sink/consumer.rs"]
mod consumer;
#[path = "sink/events.rs"]
mod events;
#[path = "sink/exports.rs"]
mod exports;
#[path = "sink/memory.rs"]
mod memory;
#[path = "sink/plans.rs"]
mod plans;
#[path = "sink/search.rs"]
mod search;
#[path = "sink/store.rs"]
mod store;
#[path = "sink/support.rs"]
mod support;
#[path = "sink/tls.rs"]
mod tls;
#[path = "sink/web.rs"]
mod web;
