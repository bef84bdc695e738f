//! Dates: month names, the page's date line, and Moscow time with the offset of that date.
//!
//! Moscow local times are converted with the tz database (`Europe/Moscow` from chrono-tz), so
//! a date gets the offset Moscow had then: +03:00 today and in winter before 2011, +04:00 in
//! summer before 2011 and all year from 27 March 2011 to 26 October 2014.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Europe::Moscow;
use regex::Regex;

/// Month numbers by lower-case name: English full names and abbreviations, Russian
/// nominative and genitive forms.
pub const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
    ("января", 1),
    ("январь", 1),
    ("февраля", 2),
    ("февраль", 2),
    ("марта", 3),
    ("март", 3),
    ("апреля", 4),
    ("апрель", 4),
    ("мая", 5),
    ("май", 5),
    ("июня", 6),
    ("июнь", 6),
    ("июля", 7),
    ("июль", 7),
    ("августа", 8),
    ("август", 8),
    ("сентября", 9),
    ("сентябрь", 9),
    ("октября", 10),
    ("октябрь", 10),
    ("ноября", 11),
    ("ноябрь", 11),
    ("декабря", 12),
    ("декабрь", 12),
];

/// Regex alternation of every month name (longest first), for building patterns.
pub fn month_alternation() -> String {
    let mut names: Vec<&str> = MONTHS.iter().map(|(n, _)| *n).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names.join("|")
}

/// The month number of a name (any case, trailing dot allowed).
pub fn month_number(name: &str) -> Option<u32> {
    let lower = name.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(n, _)| *n == lower).map(|(_, m)| *m)
}

/// A calendar date from day, month and year numbers, if valid and plausible (1990–2100).
pub fn ymd(year: &str, month: u32, day: &str) -> Option<NaiveDate> {
    let year: i32 = year.parse().ok()?;
    let day: u32 = day.parse().ok()?;
    if !(1990..=2100).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

struct DatePatterns {
    numeric: Regex,
    day_month: Regex,
    month_day: Regex,
    time: Regex,
}

static PATTERNS: LazyLock<Option<DatePatterns>> = LazyLock::new(|| {
    let months = month_alternation();
    Some(DatePatterns {
        // ASCII word boundaries around digits; explicit letter classes before month names
        // (a Unicode `\b` keeps the regex engine off its fast DFA on Cyrillic text).
        numeric: Regex::new(r"(?-u:\b)(\d{1,2})\.(\d{1,2})\.(\d{4})(?-u:\b)").ok()?,
        day_month: Regex::new(&format!(
            r"(?i)(?-u:\b)(\d{{1,2}})\s+({months})\.?,?\s+(\d{{4}})(?-u:\b)"
        ))
        .ok()?,
        month_day: Regex::new(&format!(
            r"(?i)(?:^|[^\p{{L}}\p{{N}}])({months})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})(?-u:\b)"
        ))
        .ok()?,
        time: Regex::new(r"(?-u:\b)([01]?\d|2[0-3]):([0-5]\d)(?-u:\b)").ok()?,
    })
});

/// Parses a page date line such as `05.05.2023`, `5 May 2023 15:04`, `May 5, 2023`,
/// `5 мая 2023 года, 15:04`: the first date found and the first time after it, if any.
pub fn parse_date_line(text: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    let p = PATTERNS.as_ref()?;
    let mut found: Option<(usize, usize, NaiveDate)> = None;
    let mut consider = |start: usize, end: usize, date: Option<NaiveDate>| {
        if let Some(date) = date
            && found.is_none_or(|(s, _, _)| start < s)
        {
            found = Some((start, end, date));
        }
    };
    for c in p.numeric.captures_iter(text) {
        let m = c.get(0)?;
        let month: u32 = c[2].parse().ok()?;
        consider(m.start(), m.end(), ymd(&c[3], month, &c[1]));
    }
    for c in p.day_month.captures_iter(text) {
        let m = c.get(0)?;
        consider(
            m.start(),
            m.end(),
            month_number(&c[2]).and_then(|mo| ymd(&c[3], mo, &c[1])),
        );
    }
    for c in p.month_day.captures_iter(text) {
        let m = c.get(0)?;
        consider(
            m.start(),
            m.end(),
            month_number(&c[1]).and_then(|mo| ymd(&c[3], mo, &c[2])),
        );
    }
    let (_, end, date) = found?;
    let time = p
        .time
        .captures(&text[end..])
        .and_then(|c| NaiveTime::from_hms_opt(c[1].parse().ok()?, c[2].parse().ok()?, 0));
    Some((date, time))
}

/// Parses a bare time `15:04` anywhere in `text`.
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let c = PATTERNS.as_ref()?.time.captures(text)?;
    NaiveTime::from_hms_opt(c[1].parse().ok()?, c[2].parse().ok()?, 0)
}

/// A Moscow wall-clock time with the offset Moscow had at that moment. Times inside a
/// spring-forward gap are moved one hour later; ambiguous autumn times take the earlier
/// (summer) offset.
pub fn moscow(local: NaiveDateTime) -> DateTime<FixedOffset> {
    let resolved = Moscow.from_local_datetime(&local).earliest().or_else(|| {
        Moscow
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
    });
    match resolved {
        Some(dt) => dt.fixed_offset(),
        // Unreachable with the tz database; keep today's offset rather than fail.
        None => {
            let offset = FixedOffset::east_opt(3 * 3600)
                .unwrap_or(Moscow.from_utc_datetime(&local).offset().fix());
            DateTime::from_naive_utc_and_offset(local - chrono::Duration::hours(3), offset)
        }
    }
}

/// Re-expresses an instant in Moscow time with the offset of that date.
pub fn to_moscow(instant: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    instant.with_timezone(&Moscow).fixed_offset()
}

/// Parses an RFC 3339 timestamp or a bare `YYYY-MM-DD` (as Moscow midnight), for
/// `<time datetime>` and `article:published_time`.
pub fn parse_machine_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(to_moscow(dt));
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Some(moscow(dt));
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
        return Some(moscow(dt));
    }
    let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    Some(moscow(date.and_time(NaiveTime::MIN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn date_lines() {
        assert_eq!(parse_date_line("05.05.2023"), Some((d(2023, 5, 5), None)));
        assert_eq!(
            parse_date_line(" 18 July 2024 14:30 "),
            Some((d(2024, 7, 18), Some(t(14, 30))))
        );
        assert_eq!(
            parse_date_line("5 мая 2023 года, 9:05"),
            Some((d(2023, 5, 5), Some(t(9, 5))))
        );
        assert_eq!(
            parse_date_line("March 30, 2021"),
            Some((d(2021, 3, 30), None))
        );
        assert_eq!(parse_date_line("31.02.2023"), None);
        assert_eq!(parse_date_line("no date here 12:00"), None);
    }

    #[test]
    fn moscow_offsets_follow_the_tz_database() {
        let at = |y, m, day, h| moscow(d(y, m, day).and_time(t(h, 0))).to_rfc3339();
        assert_eq!(at(2024, 7, 18, 14), "2024-07-18T14:00:00+03:00");
        assert_eq!(at(2013, 5, 20, 12), "2013-05-20T12:00:00+04:00");
        assert_eq!(at(2012, 1, 10, 12), "2012-01-10T12:00:00+04:00");
        assert_eq!(at(2009, 5, 4, 12), "2009-05-04T12:00:00+04:00");
        assert_eq!(at(2009, 12, 4, 12), "2009-12-04T12:00:00+03:00");
        assert_eq!(at(2003, 1, 23, 12), "2003-01-23T12:00:00+03:00");
        assert_eq!(at(2014, 10, 27, 12), "2014-10-27T12:00:00+03:00");
        // Spring-forward gap (2010-03-28 02:00 → 03:00) does not fail.
        assert_eq!(at(2010, 3, 28, 2), "2010-03-28T03:00:00+04:00");
    }

    #[test]
    fn machine_dates() {
        assert_eq!(
            parse_machine_date("2024-07-18T11:30:00Z")
                .unwrap()
                .to_rfc3339(),
            "2024-07-18T14:30:00+03:00"
        );
        assert_eq!(
            parse_machine_date("2013-05-20").unwrap().to_rfc3339(),
            "2013-05-20T00:00:00+04:00"
        );
        assert!(parse_machine_date("yesterday").is_none());
    }
}
