//! Flags every service shares. Each flag has an environment variable of the same meaning.

use std::net::SocketAddr;

use clap::{Args, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Connection, logging and operations flags, flattened into each service's command line.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// NATS server(s), comma-separated.
    #[arg(
        long,
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        global = true
    )]
    pub nats_url: String,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Address for /healthz, /readyz and /metrics (disabled when not set).
    #[arg(long, env = "METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Replicas of each stream when this service creates it (3 on a three-node cluster).
    #[arg(long, env = "STREAM_REPLICAS", default_value_t = 1, global = true)]
    pub stream_replicas: usize,
}

/// Parses a duration such as `10m`, `2s` or `500ms` (for clap `value_parser`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: write a duration such as 500ms, 2s, 10m or 1h"))
}
