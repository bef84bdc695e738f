//! Checks of a loaded profile, and the compile helpers services use (so a pattern is checked
//! and compiled the same way everywhere, and errors name the file and the key).

use regex::Regex;
use regex_syntax::hir::{Hir, HirKind};
use scraper::Selector;
use url::Url;

use super::{ProfileError, SourceProfile};

fn invalid(profile: &SourceProfile, key: &str, reason: impl Into<String>) -> ProfileError {
    ProfileError::Invalid {
        file: profile.origin.clone(),
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn invalid_regex(
    profile: &SourceProfile,
    key: &str,
    error: &dyn std::fmt::Display,
) -> ProfileError {
    invalid(
        profile,
        key,
        format!(
            "is not a valid regular expression: {}",
            error.to_string().replace('\n', " ")
        ),
    )
}

/// Compiles the regex at `key` of `profile`.
pub fn compile_regex(
    profile: &SourceProfile,
    key: &str,
    pattern: &str,
) -> Result<Regex, ProfileError> {
    Regex::new(pattern).map_err(|e| invalid_regex(profile, key, &e))
}

/// Checks the syntax of the regex at `key` of `profile` the way [`compile_regex`] parses it,
/// without building its matcher (the service compiles it where it is used: loading a profile
/// stays cheap for a short `parser parse`); returns its named groups.
fn check_regex(
    profile: &SourceProfile,
    key: &str,
    pattern: &str,
) -> Result<Vec<String>, ProfileError> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| invalid_regex(profile, key, &e))?;
    let mut names = Vec::new();
    group_names(&hir, &mut names);
    Ok(names)
}

fn group_names(hir: &Hir, out: &mut Vec<String>) {
    match hir.kind() {
        HirKind::Capture(group) => {
            out.extend(group.name.as_deref().map(str::to_string));
            group_names(&group.sub, out);
        }
        HirKind::Repetition(repetition) => group_names(&repetition.sub, out),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            for part in parts {
                group_names(part, out);
            }
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

/// Parses the CSS selector at `key` of `profile`.
pub fn compile_selector(
    profile: &SourceProfile,
    key: &str,
    css: &str,
) -> Result<Selector, ProfileError> {
    if css.trim().is_empty() {
        return Err(invalid(profile, key, "is an empty CSS selector"));
    }
    Selector::parse(css).map_err(|e| {
        invalid(
            profile,
            key,
            format!("is not a CSS selector the parser understands ({css:?}): {e}"),
        )
    })
}

/// The compiled `fetch.doc_id` rule: the document id of a statement URL's path.
#[derive(Debug, Clone)]
pub struct DocIdMatcher {
    regex: Regex,
}

impl DocIdMatcher {
    /// Compiles `fetch.doc_id` of `profile`.
    pub fn new(profile: &SourceProfile) -> Result<Self, ProfileError> {
        Ok(DocIdMatcher {
            regex: compile_regex(profile, "fetch.doc_id", &profile.fetch.doc_id)?,
        })
    }

    /// The id of the last path segment that matches (its `id` group, else the match).
    pub fn doc_id(&self, path: &str) -> Option<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .rev()
            .find_map(|segment| {
                let caps = self.regex.captures(segment)?;
                let m = caps.name("id").or_else(|| caps.get(0))?;
                (!m.as_str().is_empty()).then(|| m.as_str().to_string())
            })
    }
}

fn check_name(profile: &SourceProfile) -> Result<(), ProfileError> {
    let name_ok = !profile.name.is_empty()
        && profile
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'));
    if !name_ok {
        return Err(invalid(
            profile,
            "name",
            format!(
                "{:?} is not a source name: use lower-case letters, digits, dots and dashes (e.g. \"mid.ru\")",
                profile.name
            ),
        ));
    }
    let token_ok = !profile.token.is_empty()
        && profile
            .token
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    if !token_ok {
        return Err(invalid(
            profile,
            "token",
            format!(
                "{:?} is not a subject token: use lower-case letters, digits, '_' and '-' (e.g. \"mid_ru\")",
                profile.token
            ),
        ));
    }
    if profile.display_name.trim().is_empty() {
        return Err(invalid(profile, "display_name", "is empty: name the site"));
    }
    if profile.time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(invalid(
            profile,
            "time_zone",
            format!(
                "{:?} is not a time zone of the tz database: write an IANA name such as \"Europe/Moscow\" or \"Asia/Shanghai\"",
                profile.time_zone
            ),
        ));
    }
    Ok(())
}

fn check_hosts(profile: &SourceProfile) -> Result<(), ProfileError> {
    if profile.hosts.is_empty() {
        return Err(invalid(
            profile,
            "hosts",
            "is empty: list every host the site is fetched from",
        ));
    }
    for (i, host) in profile.hosts.iter().enumerate() {
        let parsed = Url::parse(&format!("http://{host}/"))
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        if parsed.as_deref() != Some(host.to_ascii_lowercase().as_str()) {
            return Err(invalid(
                profile,
                &format!("hosts[{i}]"),
                format!(
                    "{host:?} is not a host name (write e.g. \"mid.ru\", without scheme or path)"
                ),
            ));
        }
    }
    if profile.languages.is_empty() {
        return Err(invalid(
            profile,
            "languages",
            "is empty: give at least one language with its base_url",
        ));
    }
    for (lang, site) in &profile.languages {
        let key = format!("languages.{lang}.base_url");
        let url = Url::parse(&site.base_url).map_err(|e| {
            invalid(
                profile,
                &key,
                format!("{:?} is not a URL: {e}", site.base_url),
            )
        })?;
        on_declared_host(profile, &key, &url)?;
        if !url.path().ends_with('/') {
            return Err(invalid(
                profile,
                &key,
                format!(
                    "{:?} must end with '/' (the profile's paths are relative to it)",
                    site.base_url
                ),
            ));
        }
    }
    Ok(())
}

fn on_declared_host(profile: &SourceProfile, key: &str, url: &Url) -> Result<(), ProfileError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            profile,
            key,
            format!("gives {url}, which is not an http(s) URL"),
        ));
    }
    let host = url.host_str().unwrap_or_default();
    if !profile.declares_host(host) {
        return Err(invalid(
            profile,
            key,
            format!(
                "gives {url}, on host {host:?}, which `hosts` does not declare ({}); add the host to `hosts` or fix the URL",
                profile.hosts.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Every path of `[fetch]`, joined onto every base URL, stays on a declared host.
fn check_fetch(profile: &SourceProfile) -> Result<(), ProfileError> {
    let fetch = &profile.fetch;
    let item = compile_regex(profile, "fetch.item_url", &fetch.item_url)?;
    let doc_id = DocIdMatcher::new(profile)?;
    let example = Url::parse(&profile.example_url).map_err(|e| {
        invalid(
            profile,
            "example_url",
            format!("{:?} is not a URL: {e}", profile.example_url),
        )
    })?;
    on_declared_host(profile, "example_url", &example)?;
    if !item.is_match(example.path()) {
        return Err(invalid(
            profile,
            "fetch.item_url",
            format!(
                "does not match the path of example_url ({})",
                example.path()
            ),
        ));
    }
    if doc_id.doc_id(example.path()).is_none() {
        return Err(invalid(
            profile,
            "fetch.doc_id",
            format!("finds no document id in example_url ({example})"),
        ));
    }
    if profile.lang_of_url(&example).is_none() {
        return Err(invalid(
            profile,
            "example_url",
            format!(
                "{example} does not tell its language: it must start with one of the languages' base_url"
            ),
        ));
    }
    let mut paths: Vec<(String, String)> = Vec::new();
    for (i, section) in fetch.sections.iter().enumerate() {
        paths.push((format!("fetch.sections[{i}].path"), section.path.clone()));
        for (lang, path) in &section.paths {
            paths.push((format!("fetch.sections[{i}].paths.{lang}"), path.clone()));
        }
    }
    for (i, feed) in fetch.feeds.iter().enumerate() {
        paths.push((format!("fetch.feeds[{i}].path"), feed.path.clone()));
    }
    if let Some(backfill) = &fetch.backfill {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 7, 18).unwrap_or_default();
        let formatted = chrono::format::StrftimeItems::new(&backfill.date_format)
            .parse()
            .map(|items| day.format_with_items(items.into_iter()).to_string())
            .map_err(|e| {
                invalid(
                    profile,
                    "fetch.backfill.date_format",
                    format!("is not a strftime format: {e}"),
                )
            })?;
        let path = backfill
            .template
            .replace("{section}", "section/")
            .replace("{date}", &formatted);
        paths.push(("fetch.backfill.template".into(), path));
    }
    if let Some(pagination) = &fetch.pagination {
        let path = pagination
            .replace("{section}", "section/")
            .replace("{n}", "2");
        paths.push(("fetch.pagination".into(), path));
    }
    for (key, path) in &paths {
        for lang in profile.langs() {
            let Some(base) = profile.base_url(lang) else {
                continue;
            };
            let url = base
                .join(path)
                .map_err(|e| invalid(profile, key, format!("{path:?} is not a URL path: {e}")))?;
            on_declared_host(profile, key, &url)?;
        }
    }
    let listing = &fetch.listing;
    let selectors = [
        ("fetch.listing.item", Some(&listing.item)),
        (
            "fetch.listing.item_fallback",
            listing.item_fallback.as_ref(),
        ),
        ("fetch.listing.link", Some(&listing.link)),
        ("fetch.listing.title", listing.title.as_ref()),
        ("fetch.listing.date", listing.date.as_ref()),
        ("fetch.listing.time", listing.time.as_ref()),
        ("fetch.listing.tags", listing.tags.as_ref()),
        ("fetch.listing.day_heading", listing.day_heading.as_ref()),
    ];
    for (key, css) in selectors {
        if let Some(css) = css {
            compile_selector(profile, key, css)?;
        }
    }
    let politeness = &fetch.politeness;
    for (key, value) in [
        (
            "fetch.politeness.request_interval",
            &politeness.request_interval,
        ),
        (
            "fetch.politeness.pause_after_403",
            &politeness.pause_after_403,
        ),
    ] {
        if let Some(text) = value
            && let Err(e) = humantime::parse_duration(text)
        {
            return Err(invalid(
                profile,
                key,
                format!("{text:?} is not a duration ({e}); write e.g. \"10s\" or \"30m\""),
            ));
        }
    }
    Ok(())
}

fn check_selectors(
    profile: &SourceProfile,
    key: &str,
    list: &[String],
) -> Result<(), ProfileError> {
    for (i, css) in list.iter().enumerate() {
        compile_selector(profile, &format!("{key}[{i}]"), css)?;
    }
    Ok(())
}

/// Checks each regex of `list` (month names expanded); returns the named groups of each.
fn check_regexes(
    profile: &SourceProfile,
    key: &str,
    list: &[String],
) -> Result<Vec<Vec<String>>, ProfileError> {
    list.iter()
        .enumerate()
        .map(|(i, pattern)| {
            check_regex(
                profile,
                &format!("{key}[{i}]"),
                &profile.parse.dates.expand(pattern),
            )
        })
        .collect()
}

fn check_parse(profile: &SourceProfile) -> Result<(), ProfileError> {
    let parse = &profile.parse;
    let s = &parse.selectors;
    if s.title.is_empty() {
        return Err(invalid(
            profile,
            "parse.selectors.title",
            "is empty: give the selector of the headline (e.g. \"h1\")",
        ));
    }
    if s.body.is_empty() {
        return Err(invalid(
            profile,
            "parse.selectors.body",
            "is empty: give the selector of the element holding the text",
        ));
    }
    for (key, list) in [
        ("parse.selectors.title", &s.title),
        ("parse.selectors.date", &s.date),
        ("parse.selectors.time", &s.time),
        ("parse.selectors.place", &s.place),
        ("parse.selectors.body", &s.body),
        ("parse.selectors.tags", &s.tags),
        ("parse.selectors.doc_number", &s.doc_number),
        ("parse.chrome.selectors", &parse.chrome.selectors),
    ] {
        check_selectors(profile, key, list)?;
    }
    for (i, alternate) in s.alternates.iter().enumerate() {
        compile_selector(
            profile,
            &format!("parse.selectors.alternates[{i}].selector"),
            &alternate.selector,
        )?;
    }
    for (name, month) in &parse.dates.months {
        if !(1..=12).contains(month) || name.is_empty() || name.to_lowercase() != *name {
            return Err(invalid(
                profile,
                &format!("parse.dates.months.{name}"),
                format!("= {month}: month names are lower case and months are 1 to 12"),
            ));
        }
    }
    let date_groups = check_regexes(profile, "parse.dates.patterns", &parse.dates.patterns)?;
    let tail_groups = check_regexes(profile, "parse.title.tail", &parse.title.tail)?;
    check_regexes(profile, "parse.chrome.lines", &parse.chrome.lines)?;
    for (i, names) in date_groups.iter().enumerate() {
        for group in ["day", "month", "year"] {
            if !names.iter().any(|n| n == group) {
                return Err(invalid(
                    profile,
                    &format!("parse.dates.patterns[{i}]"),
                    format!("has no `(?P<{group}>…)` group"),
                ));
            }
        }
    }
    for (i, names) in tail_groups.iter().enumerate() {
        for group in ["date", "day", "month", "year"] {
            if !names.iter().any(|n| n == group) {
                return Err(invalid(
                    profile,
                    &format!("parse.title.tail[{i}]"),
                    format!("has no `(?P<{group}>…)` group"),
                ));
            }
        }
    }
    let time_groups = check_regex(profile, "parse.dates.time", &parse.dates.time)?;
    for group in ["hour", "minute"] {
        if !time_groups.iter().any(|n| n == group) {
            return Err(invalid(
                profile,
                "parse.dates.time",
                format!("has no `(?P<{group}>…)` group"),
            ));
        }
    }
    if let Some(pattern) = &parse.doc_number_pattern {
        check_regex(profile, "parse.doc_number_pattern", pattern)?;
    }
    for (i, d) in parse.title.place_delimiters.iter().enumerate() {
        if d.chars().count() != 1 {
            return Err(invalid(
                profile,
                &format!("parse.title.place_delimiters[{i}]"),
                format!("{d:?} must be a single character"),
            ));
        }
    }
    for (lang, cues) in &parse.kinds {
        for (i, cue) in cues.iter().enumerate() {
            if cue.cue.is_empty() || cue.cue.to_lowercase() != cue.cue {
                return Err(invalid(
                    profile,
                    &format!("parse.kinds.{lang}[{i}].cue"),
                    format!("{:?} must be non-empty lower-case text", cue.cue),
                ));
            }
            if cue.cue.split(" … ").any(|part| part.trim().is_empty()) {
                return Err(invalid(
                    profile,
                    &format!("parse.kinds.{lang}[{i}].cue"),
                    format!(
                        "{:?} has an empty part: write parts joined by \" … \" (\"replies … to … questions\")",
                        cue.cue
                    ),
                ));
            }
        }
    }
    for (key, words) in [
        ("parse.system_titles", &parse.system_titles),
        ("parse.turns.question_labels", &parse.turns.question_labels),
        ("parse.turns.not_labels", &parse.turns.not_labels),
    ] {
        for (i, word) in words.iter().enumerate() {
            if word.trim().is_empty() || word.to_lowercase() != *word {
                return Err(invalid(
                    profile,
                    &format!("{key}[{i}]"),
                    format!("{word:?} must be non-empty lower-case text"),
                ));
            }
        }
    }
    Ok(())
}

/// Every check of a freshly loaded profile.
pub(super) fn validate(profile: &SourceProfile) -> Result<(), ProfileError> {
    check_name(profile)?;
    check_hosts(profile)?;
    check_fetch(profile)?;
    check_parse(profile)
}
