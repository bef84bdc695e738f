//! Dates: a source's month names, the page's date line, and local time in the source's time
//! zone with the offset of that date.
//!
//! Local times are converted with the tz database (chrono-tz), so a date gets the offset its
//! zone had then: Moscow (`Europe/Moscow`) is +03:00 today and in winter before 2011, +04:00
//! in summer before 2011 and all year from 27 March 2011 to 26 October 2014; Beijing
//! (`Asia/Shanghai`) is +08:00.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use regex::{Captures, Regex};
use shared::profile::parse::DateRules;
use shared::profile::{ProfileError, SourceProfile, compile_regex};

/// A calendar date from day, month and year numbers, if valid and plausible (1990–2100).
pub fn ymd(year: &str, month: u32, day: &str) -> Option<NaiveDate> {
    let year: i32 = year.parse().ok()?;
    let day: u32 = day.parse().ok()?;
    if !(1990..=2100).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A wall-clock time in `tz` with the offset the zone had at that moment. Times inside a
/// spring-forward gap are moved one hour later; ambiguous autumn times take the earlier
/// (summer) offset.
pub fn local_time(tz: Tz, local: NaiveDateTime) -> DateTime<FixedOffset> {
    let resolved = tz.from_local_datetime(&local).earliest().or_else(|| {
        tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
    });
    match resolved {
        Some(dt) => dt.fixed_offset(),
        // Unreachable with the tz database; take the offset of that instant rather than fail.
        None => {
            let offset = tz.offset_from_utc_datetime(&local).fix();
            DateTime::from_naive_utc_and_offset(local - offset, offset)
        }
    }
}

/// A source's date grammar, compiled once: month names, date-line patterns, the time pattern
/// and the time zone (`[parse.dates]` and `time_zone` of the profile).
#[derive(Debug, Clone)]
pub struct DateGrammar {
    rules: DateRules,
    patterns: Vec<Regex>,
    time: Regex,
    tz: Tz,
}

impl DateGrammar {
    /// Compiles the date rules of `profile`.
    pub fn compile(profile: &SourceProfile) -> Result<Self, ProfileError> {
        let rules = profile.parse.dates.clone();
        let patterns = rules
            .patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                compile_regex(
                    profile,
                    &format!("parse.dates.patterns[{i}]"),
                    &rules.expand(p),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let time = compile_regex(profile, "parse.dates.time", &rules.time)?;
        let tz = profile
            .time_zone
            .parse::<Tz>()
            .map_err(|_| ProfileError::Invalid {
                file: profile.origin.clone(),
                key: "time_zone".into(),
                reason: format!(
                    "{:?} is not a time zone of the tz database",
                    profile.time_zone
                ),
            })?;
        Ok(DateGrammar {
            rules,
            patterns,
            time,
            tz,
        })
    }

    /// The source's time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The month number of a name (any case, trailing dot allowed) or a number.
    pub fn month_number(&self, name: &str) -> Option<u32> {
        self.rules.month_number(name)
    }

    /// Regex alternation of every month name, longest first.
    pub fn expand(&self, pattern: &str) -> String {
        self.rules.expand(pattern)
    }

    /// The date named by a match with groups `day`, `month`, `year`.
    pub fn date_of(&self, caps: &Captures<'_>) -> Option<NaiveDate> {
        let month = self.month_number(caps.name("month")?.as_str())?;
        ymd(
            caps.name("year")?.as_str(),
            month,
            caps.name("day")?.as_str(),
        )
    }

    /// Parses a page date line such as `05.05.2023`, `5 May 2023 15:04`, `May 5, 2023`,
    /// `5 мая 2023 года, 15:04`: the earliest date any pattern finds (the first pattern at the
    /// same place) and the first time after it, if any.
    pub fn parse_date_line(&self, text: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
        let mut found: Option<(usize, usize, NaiveDate)> = None;
        for pattern in &self.patterns {
            for caps in pattern.captures_iter(text) {
                let Some(m) = caps.get(0) else {
                    continue;
                };
                if let Some(date) = self.date_of(&caps)
                    && found.is_none_or(|(s, _, _)| m.start() < s)
                {
                    found = Some((m.start(), m.end(), date));
                }
            }
        }
        let (_, end, date) = found?;
        Some((date, self.parse_time(&text[end..])))
    }

    /// Parses a bare time `15:04` anywhere in `text`.
    pub fn parse_time(&self, text: &str) -> Option<NaiveTime> {
        let c = self.time.captures(text)?;
        NaiveTime::from_hms_opt(c["hour"].parse().ok()?, c["minute"].parse().ok()?, 0)
    }

    /// A wall-clock time of the source's zone with the offset of that moment.
    pub fn local(&self, local: NaiveDateTime) -> DateTime<FixedOffset> {
        local_time(self.tz, local)
    }

    /// Re-expresses an instant in the source's zone with the offset of that date.
    pub fn to_local(&self, instant: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        instant.with_timezone(&self.tz).fixed_offset()
    }

    /// Parses an RFC 3339 timestamp or a bare `YYYY-MM-DD` (local midnight), for
    /// `<time datetime>` and `article:published_time`.
    pub fn parse_machine_date(&self, text: &str) -> Option<DateTime<FixedOffset>> {
        let text = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(self.to_local(dt));
        }
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
            return Some(self.local(dt));
        }
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
            return Some(self.local(dt));
        }
        let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
        Some(self.local(date.and_time(NaiveTime::MIN)))
    }
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

    fn mid() -> DateGrammar {
        DateGrammar::compile(&SourceProfile::builtin("mid.ru").unwrap()).unwrap()
    }

    fn parse_date_line(text: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
        mid().parse_date_line(text)
    }

    fn moscow(local: NaiveDateTime) -> DateTime<FixedOffset> {
        mid().local(local)
    }

    fn parse_machine_date(text: &str) -> Option<DateTime<FixedOffset>> {
        mid().parse_machine_date(text)
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

    #[test]
    fn other_zones_and_formats() {
        let fmprc = DateGrammar::compile(&SourceProfile::builtin("fmprc.gov.cn").unwrap()).unwrap();
        let (date, time) = fmprc
            .parse_date_line("Updated: June 27, 2025 18:22")
            .unwrap();
        assert_eq!((date, time), (d(2025, 6, 27), Some(t(18, 22))));
        assert_eq!(
            fmprc.parse_date_line("2024-03-18 18:40"),
            Some((d(2024, 3, 18), Some(t(18, 40))))
        );
        assert_eq!(
            fmprc.local(d(2024, 3, 18).and_time(t(18, 40))).to_rfc3339(),
            "2024-03-18T18:40:00+08:00"
        );
    }
}
