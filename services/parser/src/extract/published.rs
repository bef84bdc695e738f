//! When a statement was published: the page's date line, its machine date or the listing's.

use chrono::{DateTime, NaiveTime};
use shared::ListingHint;

use super::Source;
use crate::page::PageParts;

pub(super) fn published_at(
    source: &Source,
    parts: &PageParts,
    listing: Option<&ListingHint>,
) -> Option<DateTime<chrono::FixedOffset>> {
    let dates = &source.dates;
    let listed = listing
        .and_then(|l| l.published_at)
        .map(|t| dates.to_local(t));
    // The known date element, else the first short text outside chrome that is a date line
    // (with the time in it or in the next short text).
    let line = match parts.date_text.as_deref() {
        Some(text) => dates
            .parse_date_line(text)
            .map(|(d, t)| (d, t, parts.time_text.as_deref())),
        None => parts
            .date_candidates
            .iter()
            .enumerate()
            .find_map(|(i, text)| {
                let (d, t) = dates.parse_date_line(text)?;
                Some((d, t, parts.date_candidates.get(i + 1).map(String::as_str)))
            }),
    };
    if let Some((date, time, time_text)) = line {
        let time = time.or_else(|| time_text.and_then(|t| dates.parse_time(t)));
        let time = match (time, listed) {
            (Some(t), _) => t,
            (None, Some(l)) if l.date_naive() == date => l.time(),
            _ => NaiveTime::MIN,
        };
        return Some(dates.local(date.and_time(time)));
    }
    parts
        .machine_date
        .as_deref()
        .and_then(|t| dates.parse_machine_date(t))
        .or(listed)
}
