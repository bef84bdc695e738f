//! The parser service: turns raw statement pages into normalized speech records.
//!
//! * Pure extraction, free of I/O: [`extract::extract`] with [`extract::PageInput`] and an
//!   [`extract::Extractor`] (the officials registry, built once). Its parts:
//!   [`charset`] (bytes to text), [`page`] (DOM extraction, body, fallback), [`title`]
//!   (title grammar: place and date), [`kinds`] (the cue table), [`officials`] (the
//!   registry), [`dates`] (Moscow time), [`turns`] (Q&A turns), [`normalize`] (whitespace).
//! * [`service`]: the NATS consumer of `raw.>` that publishes records on
//!   `speeches.{source}.{lang}.{kind}`.
//! * [`deadletters`]: `parser dead-letters list|replay`; [`reparse`]: `parser reparse --since`.
//! * [`cli`]: `parser` / `parser run`, `parser parse [--url URL] FILE...`, `parser healthcheck`,
//!   `parser dead-letters ...`, `parser reparse ...`.

pub mod charset;
pub mod cli;
pub mod dates;
pub mod deadletters;
pub mod extract;
pub mod kinds;
pub mod normalize;
pub mod officials;
pub mod page;
pub mod reparse;
pub mod service;
pub mod title;
pub mod turns;

pub use extract::{ExtractError, Extractor, PageInput, extract};
