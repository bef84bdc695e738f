//! The ministry-feed contract and plumbing shared by the fetcher, parser and sink.
//!
//! * [`messages`]: the versioned serde types that travel over NATS (raw pages, speech
//!   records, dead letters), with their JSON Schemas in `shared/schemas/`.
//! * [`profile`]: source profiles (one TOML file per site, built-ins in `shared/sources/`),
//!   loaded and validated, with their JSON Schema in `shared/schemas/`.
//! * [`months`]: month names in English and Russian (sites, listings, the reading room).
//! * [`text`]: word characters and lower case, fast for ASCII and Cyrillic.
//! * [`subjects`]: the subject hierarchy, streams, consumers and key-value buckets.
//! * [`nats`]: connecting with retry, creating streams idempotently, durable publishing.
//! * [`nats_auth`]: the NATS identities and their permissions (server configurations).
//! * [`consumer`]: the one pull-consumer loop (explicit acks, naks, dead letters).
//! * [`config`], [`telemetry`], [`shutdown`], [`ops`], [`backoff`]: flags, logs, signals,
//!   health/metrics endpoints and retry delays, the same in every service.

pub mod backoff;
pub mod config;
pub mod consumer;
pub mod messages;
pub mod months;
pub mod nats;
pub mod nats_auth;
pub mod ops;
pub mod profile;
pub mod runtime;
pub mod schema;
pub mod shutdown;
pub mod subjects;
pub mod telemetry;
pub mod text;

pub use messages::{
    Body, DeadLetter, Kind, Lang, ListingHint, Quality, RawPage, SpeechRecord, Turn,
};
