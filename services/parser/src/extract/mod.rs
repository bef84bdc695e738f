//! The entry point: page bytes in, a [`SpeechRecord`] (or the reason there is none) out.
//! Pure: no I/O, no clock, no global state besides compiled patterns.

mod identity;
mod published;
mod source;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use scraper::Html;
use shared::messages::SPEECH_SCHEMA_VERSION;
use shared::{Lang, ListingHint, Quality, SpeechRecord};

use crate::charset;
use crate::normalize::{is_alphanumeric, lowercase};
use crate::page::extract_parts;
use crate::turns::split_turns;
use identity::{lang_of_tag, pick_source, record_identity};
use published::published_at;
pub use source::{Extractor, Source, SourceError};

/// Longest title, in words, that may merely contain a system page's title (`parse.system_titles`).
pub const SYSTEM_TITLE_MAX_WORDS: usize = 6;

/// Whether a title (lower case) is one of the site's system pages: an entry itself, or a short
/// title (at most [`SYSTEM_TITLE_MAX_WORDS`] words) holding an entry of two words or more as
/// whole words ("ошибка 404. страница не найдена").
fn is_system_title(title: &str, entries: &[String]) -> bool {
    let words: Vec<&str> = title
        .split(|c: char| !is_alphanumeric(c))
        .filter(|w| !w.is_empty())
        .collect();
    entries.iter().any(|entry| {
        let want: Vec<&str> = entry.split_whitespace().collect();
        words == want
            || (want.len() >= 2
                && words.len() <= SYSTEM_TITLE_MAX_WORDS
                && words.windows(want.len()).any(|w| w == want.as_slice()))
    })
}

/// A page without the known body that shows this many listing items is a section index.
pub const MIN_LISTING_ITEMS: usize = 3;

/// The version written into every record.
pub const PARSER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One page to extract.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    /// The bytes as served.
    pub bytes: &'a [u8],
    /// The source the page comes from (RawPage `source`, `parser parse --source`); without
    /// it, the source whose hosts include the URL's host (else the page's canonical link's),
    /// else the first profile (mid.ru).
    pub source: Option<&'a str>,
    /// An explicit URL for the page (`parser parse --url`): used as is.
    pub url: Option<&'a str>,
    /// The URL the page was fetched from (RawPage `url`): used when the page has neither a
    /// canonical link nor `og:url`.
    pub fetch_url: Option<&'a str>,
    /// The HTTP `Content-Type`, if known.
    pub content_type: Option<&'a str>,
    /// When the page was fetched.
    pub fetched_at: DateTime<Utc>,
    /// What the listing or feed said about it.
    pub listing: Option<&'a ListingHint>,
    /// The language the fetcher asked for, used when the URL does not say.
    pub lang: Option<Lang>,
}

/// Why a page gives no record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The site served its anti-bot JavaScript challenge instead of the page.
    #[error(
        "anti-bot challenge page (marker {marker:?}), not a statement: fetch the page again later"
    )]
    Challenge {
        /// The marker found.
        marker: String,
    },
    /// The page has no title or no body text.
    #[error("not a statement page: {reason}")]
    NotAStatement {
        /// What is missing.
        reason: String,
    },
    /// No URL was given and the page names none.
    #[error(
        "no URL known for this page: it has no <link rel=\"canonical\"> or og:url; pass --url with the statement's URL (e.g. {example})"
    )]
    NoUrl {
        /// A statement URL of the source.
        example: String,
    },
    /// The URL is not a statement URL.
    #[error(
        "{url:?} is not a {site} statement URL: its path has no document id (expected e.g. {example}); pass the statement's URL with --url"
    )]
    NotStatementUrl {
        /// The URL.
        url: String,
        /// The source.
        site: String,
        /// A statement URL of the source.
        example: String,
    },
    /// The language could not be told.
    #[error(
        "cannot tell the language of {url:?}: it is under none of the {site} languages' base URLs and the page has no <html lang>; pass a URL such as {example}"
    )]
    UnknownLang {
        /// The URL.
        url: String,
        /// The source.
        site: String,
        /// A statement URL of the source.
        example: String,
    },
    /// No profile has that name.
    #[error(
        "the page is from source {name:?}, which this parser has no profile for: add it with --source-file FILE"
    )]
    UnknownSource {
        /// The source name.
        name: String,
    },
    /// The page's source profile does not compile (found when its first page came, see
    /// [`Extractor::lazy`]).
    #[error("the source profile {name:?} is invalid: {reason}; fix the profile file")]
    InvalidSource {
        /// The source name.
        name: String,
        /// Why it does not compile (the file, the key and the reason).
        reason: String,
    },
}

impl ExtractError {
    /// A short label for metrics (`parser_rejected_pages{reason=…}`).
    pub fn reason_label(&self) -> &'static str {
        match self {
            ExtractError::Challenge { .. } => "challenge",
            ExtractError::NotAStatement { .. } => "not_a_statement",
            ExtractError::NoUrl { .. } => "no_url",
            ExtractError::NotStatementUrl { .. } => "not_a_statement_url",
            ExtractError::UnknownLang { .. } => "unknown_language",
            ExtractError::UnknownSource { .. } => "unknown_source",
            ExtractError::InvalidSource { .. } => "invalid_source",
        }
    }
}

/// Extracts the record of one page.
pub fn extract(input: &PageInput<'_>, ctx: &Extractor) -> Result<SpeechRecord, ExtractError> {
    let text = charset::decode(input.bytes, input.content_type);
    let html = Html::parse_document(&text);
    let source = pick_source(input, ctx, &html)?;
    let profile = &source.profile;
    let parts = extract_parts(&html, &source.page);
    drop(html);
    if !parts.known_body
        && let Some(marker) = source.page.challenge_marker(&text)
    {
        return Err(ExtractError::Challenge {
            marker: marker.to_string(),
        });
    }
    let fetch_url = input.fetch_url.unwrap_or_default();
    if profile.fetch.soft_404.matches(fetch_url, &text) {
        return Err(ExtractError::NotAStatement {
            reason: format!(
                "{fetch_url} is the site's \"not found\" page (a soft 404 of {})",
                profile.name
            ),
        });
    }

    let (url, doc_id, url_lang) = record_identity(input, source, &parts)?;
    let lang = url_lang
        .or(input.lang)
        .or_else(|| parts.html_lang.as_deref().and_then(lang_of_tag))
        .ok_or_else(|| ExtractError::UnknownLang {
            url: url.to_string(),
            site: profile.name.clone(),
            example: profile.example_url.clone(),
        })?;

    let head_title = || {
        parts
            .head_title
            .as_deref()
            .map(|t| source.title.strip_site_suffix(t))
            .filter(|t| !t.is_empty())
    };
    let title = if parts.known_body {
        parts
            .title
            .clone()
            .or_else(head_title)
            .or_else(|| parts.any_h1.clone())
    } else {
        parts
            .title
            .clone()
            .or_else(|| parts.any_h1.clone())
            .or_else(head_title)
    }
    .filter(|t| !t.is_empty())
    .ok_or_else(|| ExtractError::NotAStatement {
        reason: format!(
            "the page has no title (no {}, <h1> or <title>)",
            source.page.title_css()
        ),
    })?;
    let title_key = lowercase(&title);
    // A system page's title is short: the entry itself, or the entry with a code or the
    // site's name around it ("Ошибка 404. Страница не найдена").
    if is_system_title(&title_key, &profile.parse.system_titles) {
        return Err(ExtractError::NotAStatement {
            reason: format!("the page is the site's system page {title:?}, not a statement"),
        });
    }
    if !parts.known_body && parts.listing_items >= MIN_LISTING_ITEMS {
        return Err(ExtractError::NotAStatement {
            reason: format!(
                "the page is a section index ({} listing items, no statement body)",
                parts.listing_items
            ),
        });
    }
    let text_chars: usize = parts.paragraphs.iter().map(|p| p.chars().count()).sum();
    if !parts.known_body
        && !parts.paragraphs.is_empty()
        && text_chars < profile.parse.fallback_min_chars
    {
        return Err(ExtractError::NotAStatement {
            reason: format!(
                "the page has no {} and the generic extractor found only {text_chars} characters of text (a statement needs {})",
                source.page.body_css(),
                profile.parse.fallback_min_chars
            ),
        });
    }
    if parts.paragraphs.is_empty() {
        let body = source.page.body_css();
        let reason = if parts.known_container {
            format!("the statement body ({body}) is empty")
        } else {
            format!("the page has no body text (no {body} and no block of <p> text)")
        };
        return Err(ExtractError::NotAStatement { reason });
    }

    let tail = source.title.parse_tail(&title, &source.dates);
    let published_at = published_at(source, &parts, input.listing);
    let registry = &source.registry;
    let mut title_speakers: Vec<String> = registry
        .find_all(&title)
        .into_iter()
        .map(str::to_string)
        .collect();
    // The President is implicit on kremlin.ru: the speaker of titles naming no official, and
    // the host of meetings and calls whose title names an official as the counterpart.
    let facts = &profile.parse.page_facts;
    if let Some(implicit) =
        facts.implicit_speaker_on(tail.event_date.or(published_at.map(|p| p.date_naive())))
        && !title_speakers.iter().any(|s| s == implicit)
        && (title_speakers.is_empty() || facts.names_a_host_event(&title_key))
    {
        title_speakers.insert(0, implicit.to_string());
    }
    let (turns, label_speakers) = split_turns(
        &parts.paragraphs,
        registry,
        title_speakers.first().map(String::as_str),
        &source.labels,
    );
    let mut speakers = title_speakers;
    for speaker in label_speakers {
        if !speakers.contains(&speaker) {
            speakers.push(speaker);
        }
    }
    let event_date = tail.event_date.or_else(|| {
        profile
            .parse
            .page_facts
            .event_date_from_page
            .then(|| published_at.map(|p| p.date_naive()))
            .flatten()
    });
    // A page that shows no date of its own (fmprc.gov.cn 2018-2020) was published on the
    // day its title names.
    let published_at = published_at.or_else(|| {
        tail.event_date
            .map(|d| source.dates.local(d.and_time(chrono::NaiveTime::MIN)))
    });
    let location = tail.location.or_else(|| parts.place.clone());

    let mut translations = BTreeMap::new();
    for (tag, href) in &parts.alternates {
        let Ok(absolute) = url.join(href.trim()) else {
            continue;
        };
        let other = match tag {
            Some(tag) => lang_of_tag(tag),
            None => source.langs.lang_of(&absolute),
        };
        let Some(other) = other else {
            continue;
        };
        // Only the source's own hosts (or the host the page came from) are translations.
        let own_host = absolute
            .host_str()
            .is_some_and(|h| profile.declares_host(h) || url.host_str() == Some(h));
        if other == lang || translations.contains_key(&other) {
            continue;
        }
        // A translation is the same document in another language, on the site.
        let same_doc = source
            .doc_id
            .doc_id(absolute.path())
            .is_some_and(|id| id == doc_id);
        if !own_host || !same_doc {
            tracing::warn!(link = %absolute, %doc_id, "a language alternate names another document or host; ignored");
            continue;
        }
        translations.insert(other, absolute.to_string());
    }
    let tags = match input.listing {
        Some(listing) if !listing.tags.is_empty() => listing.tags.clone(),
        _ => parts.tags.clone(),
    };

    let mut record = SpeechRecord {
        schema_version: SPEECH_SCHEMA_VERSION,
        id: SpeechRecord::make_id(&profile.name, &doc_id, lang),
        source: profile.name.clone(),
        doc_id,
        lang,
        url: url.to_string(),
        kind: source.kinds.classify(&title, lang),
        title,
        speakers,
        location,
        event_date,
        published_at,
        doc_number: parts.doc_number.clone(),
        paragraphs: parts.paragraphs,
        turns,
        tags,
        translations,
        quality: if parts.known_body {
            Quality::Full
        } else {
            Quality::Fallback
        },
        content_hash: String::new(),
        fetched_at: input.fetched_at,
        parser_version: PARSER_VERSION.to_string(),
    };
    record.content_hash = record.compute_content_hash();
    Ok(record)
}

#[cfg(test)]
mod tests;
