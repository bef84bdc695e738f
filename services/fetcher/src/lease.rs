//! The leader lease, pure decisions (no I/O): which replica is the active poller of a source.
//!
//! The lease is one key of the state bucket (`lease.mid_ru`, and `lease.mid_ru.backfill` for
//! backfills) holding a [`Lease`]: the holder's id and when the lease expires. A replica takes
//! an absent lease with `create`, an expired (or unreadable) one with compare-and-set on the
//! revision it read, and renews its own with compare-and-set on the revision it holds; see
//! [`decide`]. The I/O side is [`crate::leader`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The value of a lease key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The replica holding it (hostname, pid, random suffix).
    pub holder: String,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// A lease held by `holder` for `ttl` from `now`.
    pub fn new(holder: &str, now: DateTime<Utc>, ttl: Duration) -> Self {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        Lease {
            holder: holder.to_string(),
            expires_at: now
                .checked_add_signed(ttl)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The lease `holder` writes when it lets go: expired now, so a standby takes it at once.
    pub fn released(holder: &str, now: DateTime<Utc>) -> Self {
        Lease {
            holder: holder.to_string(),
            expires_at: now,
        }
    }

    /// Whether it has lapsed at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// What the lease key holds, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    /// No such key (never written).
    Absent,
    /// A deleted entry or a value that is not a lease: free to take with compare-and-set.
    Unreadable {
        /// Its revision.
        revision: u64,
    },
    /// A lease.
    Held {
        /// The lease.
        lease: Lease,
        /// Its revision.
        revision: u64,
    },
}

impl Current {
    /// Interprets a key-value entry: its value (`None`: deleted or purged) and revision.
    pub fn from_entry(value: Option<&[u8]>, revision: u64) -> Self {
        match value.and_then(|v| serde_json::from_slice::<Lease>(v).ok()) {
            Some(lease) => Current::Held { lease, revision },
            None => Current::Unreadable { revision },
        }
    }
}

/// What a replica does about the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The key is absent: `create` it.
    Create,
    /// The lease lapsed or is unreadable: compare-and-set on `revision` to take it.
    TakeOver {
        /// The revision read.
        revision: u64,
    },
    /// The lease is ours: compare-and-set on `revision` to extend it.
    Renew {
        /// The revision read.
        revision: u64,
    },
    /// Another replica holds a live lease: stand by.
    Standby {
        /// Who holds it.
        holder: String,
        /// Until when, unless renewed.
        until: DateTime<Utc>,
    },
}

/// The decision of replica `me` at `now`, given what the lease key holds.
pub fn decide(current: &Current, me: &str, now: DateTime<Utc>) -> Decision {
    match current {
        Current::Absent => Decision::Create,
        Current::Unreadable { revision } => Decision::TakeOver {
            revision: *revision,
        },
        Current::Held { lease, revision } if lease.holder == me => Decision::Renew {
            revision: *revision,
        },
        Current::Held { lease, revision } if lease.expired(now) => Decision::TakeOver {
            revision: *revision,
        },
        Current::Held { lease, .. } => Decision::Standby {
            holder: lease.holder.clone(),
            until: lease.expires_at,
        },
    }
}

/// Whether a leader whose last successful write of the lease was `since_renewal` ago may
/// still act when it cannot renew (NATS unreachable). It stops a third of the TTL before the
/// lease lapses, so that it is quiet before a standby may take over (a margin for clock skew
/// between replicas and for a request in flight).
pub fn still_valid(since_renewal: Duration, ttl: Duration) -> bool {
    since_renewal < ttl.saturating_sub(ttl / 3)
}

/// A replica id: `host-pid-random`, with characters other than `[A-Za-z0-9_-]` as `_`.
pub fn holder_id(host: &str, pid: u32, random: u32) -> String {
    let host: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let host = if host.is_empty() { "host".into() } else { host };
    format!("{host}-{pid}-{random:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn held(holder: &str, expires: i64, revision: u64) -> Current {
        Current::Held {
            lease: Lease {
                holder: holder.into(),
                expires_at: at(expires),
            },
            revision,
        }
    }

    #[test]
    fn an_absent_lease_is_created() {
        assert_eq!(decide(&Current::Absent, "a", at(0)), Decision::Create);
    }

    #[test]
    fn a_live_lease_of_another_means_standby() {
        assert_eq!(
            decide(&held("b", 10, 7), "a", at(0)),
            Decision::Standby {
                holder: "b".into(),
                until: at(10)
            }
        );
    }

    #[test]
    fn an_expired_lease_is_taken_over_on_its_revision() {
        assert_eq!(
            decide(&held("b", 10, 7), "a", at(10)),
            Decision::TakeOver { revision: 7 }
        );
        assert_eq!(
            decide(&held("b", 10, 7), "a", at(11)),
            Decision::TakeOver { revision: 7 }
        );
    }

    #[test]
    fn our_own_lease_is_renewed_even_when_lapsed() {
        assert_eq!(
            decide(&held("a", 10, 3), "a", at(0)),
            Decision::Renew { revision: 3 }
        );
        assert_eq!(
            decide(&held("a", 10, 3), "a", at(60)),
            Decision::Renew { revision: 3 }
        );
    }

    #[test]
    fn deleted_or_garbage_values_are_taken_over() {
        let c = Current::from_entry(None, 4);
        assert_eq!(c, Current::Unreadable { revision: 4 });
        assert_eq!(decide(&c, "a", at(0)), Decision::TakeOver { revision: 4 });
        let c = Current::from_entry(Some(b"not json"), 5);
        assert_eq!(decide(&c, "a", at(0)), Decision::TakeOver { revision: 5 });
    }

    #[test]
    fn leases_round_trip_and_release_expires_now() {
        let lease = Lease::new("a", at(0), Duration::from_secs(15));
        assert_eq!(lease.expires_at, at(15));
        let json = serde_json::to_vec(&lease).unwrap();
        assert_eq!(
            Current::from_entry(Some(&json), 9),
            Current::Held {
                lease: lease.clone(),
                revision: 9
            }
        );
        let released = Lease::released("a", at(5));
        assert!(released.expired(at(5)));
        assert_eq!(
            decide(
                &Current::Held {
                    lease: released,
                    revision: 10
                },
                "b",
                at(5)
            ),
            Decision::TakeOver { revision: 10 }
        );
    }

    #[test]
    fn a_leader_that_cannot_renew_stops_before_the_lease_lapses() {
        let ttl = Duration::from_secs(15);
        assert!(still_valid(Duration::from_secs(5), ttl));
        assert!(still_valid(Duration::from_millis(9_999), ttl));
        assert!(!still_valid(Duration::from_secs(10), ttl));
        assert!(!still_valid(Duration::from_secs(20), ttl));
    }

    #[test]
    fn holder_ids_are_key_safe_and_distinct() {
        assert_eq!(
            holder_id("web-1.local", 42, 0xabc),
            "web-1_local-42-00000abc"
        );
        assert_eq!(holder_id("", 1, 1), "host-1-00000001");
        assert_ne!(holder_id("h", 1, 1), holder_id("h", 1, 2));
    }
}
