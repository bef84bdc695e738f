//! The sink service: consumes normalized speech records from NATS JetStream, stores them in
//! SQLite or PostgreSQL (idempotent and versioned, with full-text search), and serves them
//! over a read-only HTTP API.
//!
//! * [`store`]: the [`store::Store`] trait and its SQLite and PostgreSQL implementations.
//! * [`consumer`]: the batch handler plugged into [`shared::consumer::run`].
//! * [`api`]: the axum router; [`params`] validates its query parameters.
//! * [`search`]: the search syntax, and the words records and queries are searched by.
//! * [`diff`], [`atom`], [`openapi`]: version diffs, the Atom feed, the OpenAPI document.
//! * [`limits`]: timeout, load shedding, query limits, security headers, CORS.
//! * [`events`]: `GET /v1/events`, Server-Sent Events of what the store stores.
//! * [`web`]: the reading room, server-rendered HTML pages at `/`.
//! * [`export`]: research exports (Parquet, dataset release, TEI, language pairs).
//! * [`app`]: the command line and the running service.

pub mod api;
pub mod app;
pub mod atom;
pub mod cache;
pub mod consumer;
pub mod diff;
pub mod events;
pub mod export;
pub mod limits;
pub mod openapi;
pub mod params;
pub mod search;
pub mod store;
pub mod web;
