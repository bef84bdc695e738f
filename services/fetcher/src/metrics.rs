//! The fetcher's Prometheus metrics, registered under `fetcher_`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Label of a request counter: the HTTP status, or `error` for transport failures.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// `200`, `304`, `429`, ... or `error`.
    pub status: String,
}

/// Every metric of the fetcher.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Requests sent, by status.
    pub requests: Family<StatusLabel, Counter>,
    /// Response body bytes read.
    pub bytes: Counter,
    /// Anti-bot challenge pages received.
    pub challenges: Counter,
    /// Statements published for the first time.
    pub new_statements: Counter,
    /// Edited statements published again.
    pub edits: Counter,
    /// Pages given up on in a poll or backfill.
    pub failures: Counter,
    /// Seconds per poll.
    pub poll_seconds: Histogram,
    /// Seconds from the listed publication time to our publish.
    pub lag_seconds: Histogram,
    /// 1 while the site's circuit is open (requests paused), else 0.
    pub circuit_open: Gauge,
    /// Times the circuit opened.
    pub circuit_trips: Counter,
    /// 1 while this replica holds the leader lease (is the active poller), else 0.
    pub leader: Gauge,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Metrics {
            requests: Family::default(),
            bytes: Counter::default(),
            challenges: Counter::default(),
            new_statements: Counter::default(),
            edits: Counter::default(),
            failures: Counter::default(),
            poll_seconds: Histogram::new(exponential_buckets(0.5, 2.0, 14)),
            lag_seconds: Histogram::new(exponential_buckets(10.0, 2.0, 20)),
            circuit_open: Gauge::default(),
            circuit_trips: Counter::default(),
            leader: Gauge::default(),
        };
        let r = registry.sub_registry_with_prefix("fetcher");
        r.register(
            "requests",
            "HTTP requests sent, by status",
            m.requests.clone(),
        );
        r.register(
            "response_bytes",
            "Response body bytes read",
            m.bytes.clone(),
        );
        r.register(
            "challenges",
            "Anti-bot challenge pages received",
            m.challenges.clone(),
        );
        r.register(
            "new_statements",
            "Statements published for the first time",
            m.new_statements.clone(),
        );
        r.register(
            "edits",
            "Edited statements published again",
            m.edits.clone(),
        );
        r.register("failures", "Pages given up on", m.failures.clone());
        r.register(
            "poll_seconds",
            "Duration of one poll",
            m.poll_seconds.clone(),
        );
        r.register(
            "publish_lag_seconds",
            "Seconds from the listed publication time to publish",
            m.lag_seconds.clone(),
        );
        r.register(
            "circuit_open",
            "1 while requests to the site are paused by the circuit breaker",
            m.circuit_open.clone(),
        );
        r.register(
            "circuit_trips",
            "Times the circuit breaker opened",
            m.circuit_trips.clone(),
        );
        r.register(
            "leader",
            "1 while this replica holds the leader lease (is the active poller)",
            m.leader.clone(),
        );
        m
    }

    /// Counts one request by status (`None`: transport error).
    pub fn request(&self, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.requests.get_or_create(&StatusLabel { status }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exposed() {
        let mut registry = Registry::default();
        let m = Metrics::register(&mut registry);
        m.request(Some(304));
        m.request(None);
        m.challenges.inc();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("fetcher_requests_total{status=\"304\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("fetcher_requests_total{status=\"error\"} 1"),
            "{text}"
        );
        assert!(text.contains("fetcher_challenges_total 1"), "{text}");
        assert!(text.contains("fetcher_circuit_open 0"), "{text}");
        assert!(text.contains("fetcher_leader 0"), "{text}");
    }
}
