//! Politeness decisions, free of I/O: Retry-After, anti-bot challenge pages, what to do with
//! a response, and the per-host circuit breaker.

use std::time::{Duration, Instant, SystemTime};

/// Parses a `Retry-After` value: delay seconds or an HTTP date, relative to `now`, capped at
/// `cap`. `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(cap))
}

/// How an attempt ended, as far as the decision needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A response with this status, and its Retry-After delay if it had a usable one.
    Status {
        /// HTTP status.
        status: u16,
        /// Parsed Retry-After, already capped.
        retry_after: Option<Duration>,
    },
    /// A 200 whose body is the anti-bot challenge.
    Challenge,
    /// The connection failed, was reset or timed out.
    Transport,
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Use the response (2xx).
    Accept,
    /// The resource did not change (304).
    NotModified,
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Stop: the failure will not go away by retrying now.
    GiveUp,
}

/// Retry limits of one request.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay.
    pub base: Duration,
    /// Longest backoff delay, and the cap on Retry-After.
    pub max: Duration,
}

/// Decides what to do after `attempt` (1-based) ended with `outcome`. `backoff` is the
/// jittered delay the caller's [`shared::backoff::Backoff`] proposes for this retry.
pub fn decide(
    outcome: &AttemptOutcome,
    attempt: u32,
    policy: &RetryPolicy,
    backoff: Duration,
) -> Decision {
    let retry = |delay: Duration| {
        if attempt >= policy.max_attempts {
            Decision::GiveUp
        } else {
            Decision::RetryAfter(delay.min(policy.max))
        }
    };
    match outcome {
        AttemptOutcome::Status { status, .. } if (200..300).contains(status) => Decision::Accept,
        AttemptOutcome::Status { status: 304, .. } => Decision::NotModified,
        AttemptOutcome::Status {
            status: 429 | 503,
            retry_after,
        } => retry(retry_after.unwrap_or(backoff).max(backoff.min(policy.base))),
        AttemptOutcome::Status {
            status: 500 | 502 | 504 | 408,
            ..
        } => retry(backoff),
        AttemptOutcome::Status { .. } => Decision::GiveUp,
        AttemptOutcome::Challenge | AttemptOutcome::Transport => retry(backoff),
    }
}

/// Whether an HTTP status is worth retrying (rate limiting, overload, gateway trouble).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// State of a host's circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Requests flow.
    Closed,
    /// Paused until the instant.
    Open(Instant),
    /// The pause is over; the next request is a probe.
    HalfOpen,
}

/// Pauses a host after `threshold` consecutive failed requests, for `cooldown`.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    open_until: Option<Instant>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            open_until: None,
        }
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> CircuitState {
        match self.open_until {
            Some(until) if now < until => CircuitState::Open(until),
            Some(_) => CircuitState::HalfOpen,
            None => CircuitState::Closed,
        }
    }

    /// How long a request must wait before it may go out (zero when it may go now).
    pub fn wait(&self, now: Instant) -> Duration {
        match self.state(now) {
            CircuitState::Open(until) => until - now,
            _ => Duration::ZERO,
        }
    }

    /// Records a success: the circuit closes.
    pub fn record_success(&mut self) {
        self.failures = 0;
        self.open_until = None;
    }

    /// Records a failure; returns true when this failure opened the circuit.
    pub fn record_failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let half_open = matches!(self.state(now), CircuitState::HalfOpen);
        if self.failures >= self.threshold || half_open {
            self.open_until = Some(now + self.cooldown);
            true
        } else {
            false
        }
    }
}

/// Whether a published statement is due for a conditional re-check: when the time since its
/// last check is at least `spacing` times its age (since first published). With the default
/// 0.25, a statement an hour old is re-checked every 15 minutes (at every poll with the
/// default 10-minute interval), a day old every 6 hours, a week old every 42 hours: about 30
/// requests per statement over a 7-day window instead of one per poll (1008), while fresh
/// statements, the ones edited most, are watched closely. `spacing` 0: at every poll.
pub fn recheck_due(age: Duration, since_check: Duration, spacing: f64) -> bool {
    since_check.as_secs_f64() >= age.as_secs_f64() * spacing
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(600);

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after(" 120 ", now, CAP),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("99999", now, CAP), Some(CAP));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now, CAP),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now, CAP), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now, CAP), None);
        assert_eq!(parse_retry_after("-5", now, CAP), None);
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(100),
            max: Duration::from_secs(60),
        }
    }

    fn status_of(status: u16) -> AttemptOutcome {
        AttemptOutcome::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn decisions() {
        let p = policy();
        let b = Duration::from_millis(150);
        let status = |status, retry_after| AttemptOutcome::Status {
            status,
            retry_after,
        };
        assert_eq!(decide(&status(200, None), 1, &p, b), Decision::Accept);
        assert_eq!(decide(&status(304, None), 1, &p, b), Decision::NotModified);
        assert_eq!(
            decide(&status(429, Some(Duration::from_secs(2))), 1, &p, b),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            decide(&status(503, Some(Duration::from_secs(3600))), 1, &p, b),
            Decision::RetryAfter(Duration::from_secs(60))
        );
        assert_eq!(
            decide(&status(503, None), 2, &p, b),
            Decision::RetryAfter(b)
        );
        assert_eq!(decide(&status(429, None), 3, &p, b), Decision::GiveUp);
        assert_eq!(decide(&status(404, None), 1, &p, b), Decision::GiveUp);
        assert_eq!(decide(&status(403, None), 1, &p, b), Decision::GiveUp);
        assert_eq!(
            decide(&status(502, None), 1, &p, b),
            Decision::RetryAfter(b)
        );
        assert_eq!(
            decide(&AttemptOutcome::Challenge, 1, &p, b),
            Decision::RetryAfter(b)
        );
        assert_eq!(
            decide(&AttemptOutcome::Transport, 2, &p, b),
            Decision::RetryAfter(b)
        );
        assert_eq!(
            decide(&AttemptOutcome::Transport, 3, &p, b),
            Decision::GiveUp
        );
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status));
            assert_ne!(decide(&status_of(status), 1, &p, b), Decision::GiveUp);
        }
        for status in [400, 401, 403, 404, 410, 451, 501] {
            assert!(!is_retryable_status(status));
            assert_eq!(decide(&status_of(status), 1, &p, b), Decision::GiveUp);
        }
    }

    #[test]
    fn circuit_opens_after_threshold_and_probes_after_cooldown() {
        let start = Instant::now();
        let mut breaker = CircuitBreaker::new(3, Duration::from_secs(60));
        assert_eq!(breaker.state(start), CircuitState::Closed);
        assert!(!breaker.record_failure(start));
        assert!(!breaker.record_failure(start));
        assert!(breaker.record_failure(start));
        assert_eq!(
            breaker.state(start),
            CircuitState::Open(start + Duration::from_secs(60))
        );
        assert_eq!(
            breaker.wait(start + Duration::from_secs(10)),
            Duration::from_secs(50)
        );
        let later = start + Duration::from_secs(61);
        assert_eq!(breaker.state(later), CircuitState::HalfOpen);
        // A failed probe opens it again at once.
        assert!(breaker.record_failure(later));
        assert!(matches!(breaker.state(later), CircuitState::Open(_)));
        breaker.record_success();
        assert_eq!(breaker.state(later), CircuitState::Closed);
        assert_eq!(breaker.wait(later), Duration::ZERO);
    }

    #[test]
    fn rechecks_thin_out_as_statements_age() {
        let min = |m: u64| Duration::from_secs(60 * m);
        // Fresh: every poll.
        assert!(recheck_due(min(20), min(10), 0.25));
        assert!(recheck_due(
            Duration::from_secs(2),
            Duration::from_secs(1),
            0.25
        ));
        // A day old: not 10 minutes after the last check, but 6 hours after.
        assert!(!recheck_due(min(24 * 60), min(10), 0.25));
        assert!(recheck_due(min(24 * 60), min(6 * 60), 0.25));
        // Ten-minute polls over a 7-day window: about 30 checks, not 1008.
        let (mut checked, mut count) = (0u64, 0u32);
        for poll in 1..=1008u64 {
            if recheck_due(min(poll * 10), min(poll * 10 - checked), 0.25) {
                checked = poll * 10;
                count += 1;
            }
        }
        assert!((20..=40).contains(&count), "{count} re-checks");
        // Spacing 0: every poll.
        assert!(recheck_due(min(24 * 60), Duration::ZERO, 0.0));
    }
}
