//! The sink service: consumes normalized speech records from NATS JetStream, stores them in
//! SQLite or PostgreSQL (idempotent and versioned, with full-text search), and serves them
//! over a read-only HTTP API.
//!
//! * [`store`]: the [`store::Store`] trait and its SQLite and PostgreSQL implementations.
//! * [`consumer`]: the batch handler plugged into [`shared::consumer::run`].
//! * [`api`]: the axum router; [`params`] validates its query parameters.
//! * [`diff`], [`atom`], [`openapi`]: version diffs, the Atom feed, the OpenAPI document.
//! * [`limits`]: timeout, load shedding, query limits, security headers, CORS.
//! * [`app`]: the command line and the running service.

pub mod api;
pub mod app;
pub mod atom;
pub mod consumer;
pub mod diff;
pub mod limits;
pub mod openapi;
pub mod params;
pub mod store;
