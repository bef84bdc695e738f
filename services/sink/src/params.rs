//! Validation of HTTP query parameters into a store [`Query`]. Pure functions, no I/O.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Offset as _, TimeZone as _, Utc};
use shared::{Kind, Lang};

use crate::search::Terms;
use crate::store::{Cursor, DEFAULT_LIMIT, MAX_LIMIT, Query};

/// Longest accepted `q`.
pub const MAX_Q_CHARS: usize = 500;
/// Longest accepted `speaker`.
pub const MAX_SPEAKER_CHARS: usize = 100;

/// A parameter was refused; the message says what is wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// Which endpoint the parameters are for (they accept different sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /v1/speeches`: filters, `limit`, `cursor`.
    List,
    /// `GET /v1/feed.atom`: filters and `limit`.
    Feed,
    /// `GET /v1/export.jsonl`: filters only (every matching record is exported).
    Export,
    /// `GET /v1/events`: filters without `q` (and `after`, read by [`crate::events`]).
    Events,
}

impl Endpoint {
    fn accepted(self) -> &'static [&'static str] {
        match self {
            Endpoint::List => &[
                "source", "lang", "kind", "speaker", "since", "until", "q", "limit", "cursor",
            ],
            Endpoint::Feed => &[
                "source", "lang", "kind", "speaker", "since", "until", "q", "limit",
            ],
            Endpoint::Export => &["source", "lang", "kind", "speaker", "since", "until", "q"],
            Endpoint::Events => &["source", "lang", "kind", "speaker", "since", "until"],
        }
    }
}

fn err(message: impl Into<String>) -> ParamError {
    ParamError(message.into())
}

/// Validates the decoded `key=value` pairs of a query string.
pub fn parse_query(pairs: &[(String, String)], endpoint: Endpoint) -> Result<Query, ParamError> {
    let accepted = endpoint.accepted();
    let mut seen: Vec<&str> = Vec::new();
    let mut query = Query::default();
    let mut cursor_text = None;
    for (key, value) in pairs {
        let key = key.as_str();
        if !accepted.contains(&key) {
            return Err(err(format!(
                "unknown parameter {key:?}; this endpoint accepts {}",
                accepted.join(", ")
            )));
        }
        if seen.contains(&key) {
            return Err(err(format!(
                "parameter {key} is given more than once; give it once"
            )));
        }
        seen.push(key);
        match key {
            "source" => query.source = Some(parse_source(value)?),
            "lang" => {
                query.lang = Some(
                    value
                        .parse::<Lang>()
                        .map_err(|e| err(format!("lang: {e}")))?,
                )
            }
            "kind" => {
                query.kind = Some(
                    value
                        .parse::<Kind>()
                        .map_err(|e| err(format!("kind: {e}")))?,
                )
            }
            "speaker" => query.speaker = Some(parse_speaker(value)?),
            "since" => query.since = Some(parse_instant("since", value, false)?),
            "until" => query.until = Some(parse_instant("until", value, true)?),
            "q" => query.q = Some(parse_q(value)?),
            "limit" => query.limit = parse_limit(value)?,
            "cursor" => cursor_text = Some(value.as_str()),
            _ => {}
        }
    }
    if let (Some(since), Some(until)) = (query.since, query.until)
        && since >= until
    {
        return Err(err(
            "since is not before until; give since earlier than (or the same day as) until",
        ));
    }
    if let Some(text) = cursor_text {
        let cursor = Cursor::decode(text).map_err(|e| err(e.to_string()))?;
        match (&cursor, query.q.is_some()) {
            (Cursor::After { .. }, false) | (Cursor::Offset(_), true) => {}
            _ => {
                return Err(err(
                    "invalid cursor: it belongs to a listing with a different q; pass back the next_cursor of a response to the same query",
                ));
            }
        }
        query.cursor = Some(cursor);
    }
    if endpoint == Endpoint::Export {
        query.limit = MAX_LIMIT;
    }
    Ok(query)
}

/// Longest accepted `source`.
pub const MAX_SOURCE_CHARS: usize = 100;

/// A source name as records carry it (`mid.ru`, `kremlin.ru`): lower-case letters, digits,
/// dots and dashes.
fn parse_source(value: &str) -> Result<String, ParamError> {
    let name = value.trim();
    let ok = !name.is_empty()
        && name.len() <= MAX_SOURCE_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !ok {
        return Err(err(
            "source must be a source name: lower-case letters, digits, dots and dashes, e.g. source=kremlin.ru",
        ));
    }
    Ok(name.to_string())
}

fn parse_speaker(value: &str) -> Result<String, ParamError> {
    let name = value.trim();
    if name.is_empty() {
        return Err(err(
            "speaker is empty; give (part of) a name, e.g. speaker=Lavrov",
        ));
    }
    if name.chars().count() > MAX_SPEAKER_CHARS {
        return Err(err(format!(
            "speaker is longer than {MAX_SPEAKER_CHARS} characters; give (part of) a name"
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '.' | '-' | '\'' | '’'))
    {
        return Err(err(
            "speaker may contain only letters, spaces, dots, hyphens and apostrophes, e.g. speaker=Lavrov",
        ));
    }
    Ok(name.to_string())
}

/// Moscow time (UTC+3), the site's time zone, for calendar dates.
fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| Utc.fix())
}

fn parse_instant(name: &str, value: &str, until: bool) -> Result<DateTime<Utc>, ParamError> {
    let bad = || {
        err(format!(
            "{name} {value:?} is not a date: write YYYY-MM-DD (a Moscow calendar day) or an RFC 3339 time such as 2024-05-01T12:00:00Z"
        ))
    };
    let value = value.trim();
    let is_date = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if is_date {
        let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
        // `until` names a whole day: everything before the next midnight.
        let day = if until {
            date.succ_opt().ok_or_else(bad)?
        } else {
            date
        };
        let midnight = day.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        let local = moscow()
            .from_local_datetime(&midnight)
            .single()
            .ok_or_else(bad)?;
        return Ok(local.with_timezone(&Utc));
    }
    let instant = DateTime::parse_from_rfc3339(value)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    if until {
        // `until` is inclusive: everything up to and including this instant.
        instant
            .checked_add_signed(Duration::microseconds(1))
            .ok_or_else(bad)
    } else {
        Ok(instant)
    }
}

fn parse_q(value: &str) -> Result<String, ParamError> {
    let q = value.trim();
    if q.chars().count() > MAX_Q_CHARS {
        return Err(err(format!(
            "q is longer than {MAX_Q_CHARS} characters; search for fewer words"
        )));
    }
    if q.chars().any(char::is_control) {
        return Err(err("q contains control characters; search for plain words"));
    }
    if Terms::parse(q).is_none() {
        return Err(err(
            "q has nothing to search for: give at least one word, e.g. q=sanctions or q=\"Security Council\" (words, \"phrases\", OR and -word are understood)",
        ));
    }
    Ok(q.to_string())
}

fn parse_limit(value: &str) -> Result<u32, ParamError> {
    let bad = || {
        err(format!(
            "limit {value:?} is not valid: give a whole number from 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
        ))
    };
    if value.is_empty() || value.len() > 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let limit: u32 = value.parse().map_err(|_| bad())?;
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(list: &[(&str, &str)]) -> Result<Query, ParamError> {
        parse_query(&pairs(list), Endpoint::List)
    }

    #[test]
    fn the_source_filter_takes_a_source_name() {
        let q = parse(&[("source", "kremlin.ru")]).unwrap();
        assert_eq!(q.source.as_deref(), Some("kremlin.ru"));
        for bad in ["", "Kremlin.ru", "a' OR '1'='1", "x y", &"a".repeat(101)] {
            assert!(parse(&[("source", bad)]).is_err(), "{bad}");
        }
        for endpoint in [Endpoint::Feed, Endpoint::Export] {
            let q = parse_query(&pairs(&[("source", "fmprc.gov.cn")]), endpoint).unwrap();
            assert_eq!(q.source.as_deref(), Some("fmprc.gov.cn"));
        }
    }

    #[test]
    fn valid_parameters_become_a_query() {
        let q = parse(&[
            ("lang", "ru"),
            ("kind", "press_conference"),
            ("speaker", "Lavrov"),
            ("since", "2024-01-01"),
            ("until", "2024-01-31T23:59:59+03:00"),
            ("q", "sanctions"),
            ("limit", "500"),
        ])
        .unwrap();
        assert_eq!(q.lang, Some(Lang::Ru));
        assert_eq!(q.kind, Some(Kind::PressConference));
        assert_eq!(q.limit, 500);
        assert_eq!(q.since.unwrap().to_rfc3339(), "2023-12-31T21:00:00+00:00");
        assert_eq!(parse(&[]).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn until_date_covers_the_whole_day() {
        let q = parse(&[("since", "2024-02-29"), ("until", "2024-02-29")]).unwrap();
        assert_eq!(q.until.unwrap() - q.since.unwrap(), Duration::days(1));
    }

    #[test]
    fn hostile_parameters_are_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "-1"),
            ("limit", "ten"),
            ("limit", "1;DROP TABLE speeches"),
            ("limit", "99999999999999999999"),
            ("lang", "xx"),
            ("lang", "en' OR '1'='1"),
            ("kind", "Speech"),
            ("since", "2024-13-01"),
            ("since", "yesterday"),
            ("until", "2024-02-30"),
            ("since", "2024-1-1"),
            ("cursor", "bogus"),
            ("cursor", ""),
            ("speaker", "' OR 1=1 --"),
            ("speaker", ""),
            ("q", "!!! ---"),
            ("q", ""),
            ("page", "2"),
        ];
        for (key, value) in cases {
            let result = parse(&[(key, value)]);
            assert!(result.is_err(), "{key}={value} was accepted");
        }
        assert!(parse(&[("lang", "en"), ("lang", "ru")]).is_err());
        assert!(parse(&[("since", "2024-02-01"), ("until", "2024-01-01")]).is_err());
    }

    #[test]
    fn cursors_must_match_the_query_kind() {
        let after = Cursor::After {
            published_us: 1,
            id: "x".into(),
        }
        .encode();
        assert!(parse(&[("cursor", &after)]).is_ok());
        assert!(parse(&[("cursor", &after), ("q", "x")]).is_err());
        let offset = Cursor::Offset(50).encode();
        assert!(parse(&[("cursor", &offset), ("q", "x")]).is_ok());
        assert!(parse(&[("cursor", &offset)]).is_err());
    }

    #[test]
    fn endpoints_accept_their_own_parameters() {
        assert!(parse_query(&pairs(&[("limit", "5")]), Endpoint::Feed).is_ok());
        assert!(parse_query(&pairs(&[("cursor", "x")]), Endpoint::Feed).is_err());
        assert!(parse_query(&pairs(&[("limit", "5")]), Endpoint::Export).is_err());
    }
}
