//! The entry point: page bytes in, a [`SpeechRecord`] (or the reason there is none) out.
//! Pure: no I/O, no clock, no global state besides compiled patterns.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use scraper::Html;
use shared::messages::{SOURCE_MID_RU, SPEECH_SCHEMA_VERSION};
use shared::{Lang, ListingHint, Quality, SpeechRecord};
use url::Url;

use crate::charset;
use crate::dates::{moscow, parse_date_line, parse_machine_date, parse_time, to_moscow};
use crate::kinds::classify;
use crate::officials::{Registry, RegistryError};
use crate::page::{PageParts, challenge_marker, extract_parts};
use crate::title::{parse_tail, strip_site_suffix};
use crate::turns::split_turns;

/// The version written into every record.
pub const PARSER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Base for relative URLs found in a page that has no absolute URL of its own.
pub const SITE_BASE: &str = "https://mid.ru/";

/// One page to extract.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    /// The bytes as served.
    pub bytes: &'a [u8],
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
        marker: &'static str,
    },
    /// The page has no title or no body text.
    #[error("not a statement page: {reason}")]
    NotAStatement {
        /// What is missing.
        reason: String,
    },
    /// No URL was given and the page names none.
    #[error(
        "no URL known for this page: it has no <link rel=\"canonical\"> or og:url; pass --url with the statement's mid.ru URL"
    )]
    NoUrl,
    /// The URL is not a statement URL.
    #[error(
        "{url:?} is not a mid.ru statement URL: its path has no numeric document id (expected e.g. https://mid.ru/en/foreign_policy/news/1950001/); pass the statement's URL with --url"
    )]
    NotStatementUrl {
        /// The URL.
        url: String,
    },
    /// The language could not be told.
    #[error(
        "cannot tell the language of {url:?}: the path does not start with /en/, /ru/, … and the page has no <html lang>; pass a URL such as https://mid.ru/en/…/{{id}}/"
    )]
    UnknownLang {
        /// The URL.
        url: String,
    },
}

impl ExtractError {
    /// A short label for metrics (`parser_rejected_pages{reason=…}`).
    pub fn reason_label(&self) -> &'static str {
        match self {
            ExtractError::Challenge { .. } => "challenge",
            ExtractError::NotAStatement { .. } => "not_a_statement",
            ExtractError::NoUrl => "no_url",
            ExtractError::NotStatementUrl { .. } => "not_a_statement_url",
            ExtractError::UnknownLang { .. } => "unknown_language",
        }
    }
}

/// What every extraction shares: the officials registry, built once.
#[derive(Debug)]
pub struct Extractor {
    registry: Registry,
}

impl Extractor {
    /// An extractor with the given registry.
    pub fn new(registry: Registry) -> Self {
        Extractor { registry }
    }

    /// An extractor with the built-in registry.
    pub fn builtin() -> Result<Self, RegistryError> {
        Ok(Self::new(Registry::builtin()?))
    }

    /// The officials registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Extracts one page (see [`extract`]).
    pub fn extract(&self, input: &PageInput<'_>) -> Result<SpeechRecord, ExtractError> {
        extract(input, self)
    }
}

/// The document id and language a statement URL names.
pub fn parse_statement_url(url: &str) -> Result<(Url, String, Option<Lang>), ExtractError> {
    let parsed = Url::parse(url.trim())
        .or_else(|_| Url::parse(SITE_BASE).and_then(|base| base.join(url.trim())))
        .map_err(|_| ExtractError::NotStatementUrl {
            url: url.to_string(),
        })?;
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let doc_id = segments
        .iter()
        .rev()
        .find(|s| (4..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .map(|s| s.to_string())
        .ok_or_else(|| ExtractError::NotStatementUrl {
            url: url.to_string(),
        })?;
    let lang = segments
        .first()
        .and_then(|s| (s.len() == 2).then(|| s.parse::<Lang>().ok()).flatten())
        .or_else(|| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| v.parse::<Lang>().ok())
        });
    Ok((parsed, doc_id, lang))
}

fn lang_of_tag(tag: &str) -> Option<Lang> {
    tag.get(..2)?.parse::<Lang>().ok()
}

fn published_at(
    parts: &PageParts,
    listing: Option<&ListingHint>,
) -> Option<DateTime<chrono::FixedOffset>> {
    let listed = listing.and_then(|l| l.published_at).map(to_moscow);
    if let Some((date, time)) = parts.date_text.as_deref().and_then(parse_date_line) {
        let time = time.or_else(|| parts.time_text.as_deref().and_then(parse_time));
        let time = match (time, listed) {
            (Some(t), _) => t,
            (None, Some(l)) if l.date_naive() == date => l.time(),
            _ => NaiveTime::MIN,
        };
        return Some(moscow(date.and_time(time)));
    }
    parts
        .machine_date
        .as_deref()
        .and_then(parse_machine_date)
        .or(listed)
}

/// Extracts the record of one page.
pub fn extract(input: &PageInput<'_>, ctx: &Extractor) -> Result<SpeechRecord, ExtractError> {
    let text = charset::decode(input.bytes, input.content_type);
    let html = Html::parse_document(&text);
    let parts = extract_parts(&html);
    drop(html);
    if !parts.known_body
        && let Some(marker) = challenge_marker(&text)
    {
        return Err(ExtractError::Challenge { marker });
    }

    // URL: an explicit override, else the page's canonical link, else og:url, else the URL
    // it was fetched from; the first that is a statement URL (numeric document id) wins.
    let candidates: Vec<&str> = [
        input.url,
        parts.canonical.as_deref(),
        parts.og_url.as_deref(),
        input.fetch_url,
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|u| !u.is_empty())
    .collect();
    let first = *candidates.first().ok_or(ExtractError::NoUrl)?;
    let (url, doc_id, url_lang) = match input.url.filter(|u| !u.trim().is_empty()) {
        // An explicit URL is never second-guessed.
        Some(explicit) => parse_statement_url(explicit)?,
        None => candidates
            .iter()
            .find_map(|u| parse_statement_url(u).ok())
            .ok_or_else(|| ExtractError::NotStatementUrl {
                url: first.to_string(),
            })?,
    };
    let lang = url_lang
        .or(input.lang)
        .or_else(|| parts.html_lang.as_deref().and_then(lang_of_tag))
        .ok_or_else(|| ExtractError::UnknownLang {
            url: url.to_string(),
        })?;

    let head_title = || {
        parts
            .head_title
            .as_deref()
            .map(strip_site_suffix)
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
        reason: "the page has no title (no h1.photo-content__title, <h1> or <title>)".into(),
    })?;
    if parts.paragraphs.is_empty() {
        let reason = if parts.known_container {
            "the statement body (div.text.article-content) is empty"
        } else {
            "the page has no body text (no div.text.article-content and no block of <p> text)"
        };
        return Err(ExtractError::NotAStatement {
            reason: reason.into(),
        });
    }

    let registry = ctx.registry();
    let title_speakers: Vec<String> = registry
        .find_all(&title)
        .into_iter()
        .map(str::to_string)
        .collect();
    let (turns, label_speakers) = split_turns(
        &parts.paragraphs,
        registry,
        title_speakers.first().map(String::as_str),
    );
    let mut speakers = title_speakers;
    for speaker in label_speakers {
        if !speakers.contains(&speaker) {
            speakers.push(speaker);
        }
    }
    let tail = parse_tail(&title);
    let published_at = published_at(&parts, input.listing);

    let mut translations = BTreeMap::new();
    for (hreflang, href) in &parts.alternates {
        let Some(other) = lang_of_tag(hreflang) else {
            continue;
        };
        if other == lang || translations.contains_key(&other) {
            continue;
        }
        if let Ok(absolute) = url.join(href.trim()) {
            translations.insert(other, absolute.to_string());
        }
    }
    let tags = match input.listing {
        Some(listing) if !listing.tags.is_empty() => listing.tags.clone(),
        _ => parts.tags.clone(),
    };

    let mut record = SpeechRecord {
        schema_version: SPEECH_SCHEMA_VERSION,
        id: SpeechRecord::make_id(SOURCE_MID_RU, &doc_id, lang),
        source: SOURCE_MID_RU.to_string(),
        doc_id,
        lang,
        url: url.to_string(),
        kind: classify(&title),
        title,
        speakers,
        location: tail.location,
        event_date: tail.event_date,
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
mod tests {
    use super::*;
    use chrono::TimeZone;
    use shared::Kind;

    fn fetched() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 7, 19, 8, 0, 0).unwrap()
    }

    fn run(html: &str, url: Option<&str>) -> Result<SpeechRecord, ExtractError> {
        let ctx = Extractor::builtin().unwrap();
        extract(
            &PageInput {
                bytes: html.as_bytes(),
                url,
                fetch_url: None,
                content_type: None,
                fetched_at: fetched(),
                listing: None,
                lang: None,
            },
            &ctx,
        )
    }

    const PAGE: &str = r#"<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">
      <title>Интервью Министра иностранных дел Российской Федерации С.В.Лаврова телеканалу «Россия 1», Москва, 22 февраля 2022 года - Министерство иностранных дел Российской Федерации</title>
      <link rel="canonical" href="https://mid.ru/ru/foreign_policy/news/1799937/">
      <link rel="alternate" hreflang="en" href="/en/foreign_policy/news/1799937/">
      <link rel="alternate" hreflang="ru" href="https://mid.ru/ru/foreign_policy/news/1799937/">
      </head><body><div class="photo-content">
      <h1 class="photo-content__title">Интервью Министра иностранных дел Российской Федерации С.В.Лаврова телеканалу «Россия 1», Москва, 22 февраля 2022 года</h1>
      <div class="photo-content__date">22.02.2022</div>
      <div class="text article-content"><p><strong>Вопрос:</strong> Как Вы оцениваете?</p>
      <p><strong>С.В.Лавров:</strong> Хорошо.</p><p>Далее.</p>
      <p class="article-line__note article-line__note_small">300-22-02-2022</p></div></div></body></html>"#;

    #[test]
    fn full_record() {
        let r = run(PAGE, None).unwrap();
        assert_eq!(r.id, "mid.ru:1799937:ru");
        assert_eq!(r.lang, Lang::Ru);
        assert_eq!(r.kind, Kind::Interview);
        assert_eq!(r.speakers, vec!["Sergey Lavrov"]);
        assert_eq!(r.location.as_deref(), Some("Москва"));
        assert_eq!(r.event_date.unwrap().to_string(), "2022-02-22");
        assert_eq!(
            r.published_at.unwrap().to_rfc3339(),
            "2022-02-22T00:00:00+03:00"
        );
        assert_eq!(r.doc_number.as_deref(), Some("300-22-02-2022"));
        assert_eq!(r.turns.len(), 2);
        assert_eq!(r.turns[1].text, "Хорошо.\n\nДалее.");
        assert_eq!(
            r.translations.get(&Lang::En).map(String::as_str),
            Some("https://mid.ru/en/foreign_policy/news/1799937/")
        );
        assert_eq!(r.translations.len(), 1);
        assert_eq!(r.quality, Quality::Full);
        assert!(r.content_hash.starts_with("sha256:"));
    }

    #[test]
    fn url_rules() {
        assert!(matches!(
            run(PAGE, Some("https://mid.ru/ru/about/")),
            Err(ExtractError::NotStatementUrl { .. })
        ));
        let no_url = PAGE.replace("rel=\"canonical\"", "rel=\"x\"");
        assert_eq!(run(&no_url, None).unwrap_err(), ExtractError::NoUrl);
        let r = run(
            &no_url,
            Some("https://www.mid.ru/en/press_service/minister_speeches/1799937/"),
        )
        .unwrap();
        assert_eq!(r.id, "mid.ru:1799937:en");
        let (_, id, lang) =
            parse_statement_url("https://mid.ru/foreign_policy/news/1653435/?lang=de").unwrap();
        assert_eq!((id.as_str(), lang), ("1653435", Some(Lang::De)));
    }

    #[test]
    fn listing_time_fills_a_missing_page_time() {
        let ctx = Extractor::builtin().unwrap();
        let listing = ListingHint {
            published_at: Some(
                chrono::FixedOffset::east_opt(3 * 3600)
                    .unwrap()
                    .with_ymd_and_hms(2022, 2, 22, 15, 4, 0)
                    .unwrap(),
            ),
            tags: vec!["С.В.Лавров".into()],
            ..Default::default()
        };
        let r = extract(
            &PageInput {
                bytes: PAGE.as_bytes(),
                url: None,
                fetch_url: None,
                content_type: None,
                fetched_at: fetched(),
                listing: Some(&listing),
                lang: None,
            },
            &ctx,
        )
        .unwrap();
        assert_eq!(
            r.published_at.unwrap().to_rfc3339(),
            "2022-02-22T15:04:00+03:00"
        );
        assert_eq!(r.tags, vec!["С.В.Лавров"]);
    }

    #[test]
    fn challenge_and_not_a_statement() {
        let challenge = r#"<html><head><script src="/TSPD/0812?type=9"></script></head><body><noscript>Please enable JavaScript to view the page content.</noscript></body></html>"#;
        assert!(matches!(
            run(challenge, Some("https://mid.ru/en/foreign_policy/news/1/")),
            Err(ExtractError::Challenge { .. })
        ));
        let empty = r#"<html><head><title>Not found</title></head><body></body></html>"#;
        assert!(matches!(
            run(
                empty,
                Some("https://mid.ru/en/foreign_policy/news/1950001/")
            ),
            Err(ExtractError::NotAStatement { .. })
        ));
    }

    #[test]
    fn fallback_record() {
        let page = r#"<html lang="en"><head><title>Statement by Sergey Lavrov - Министерство иностранных дел Российской Федерации</title></head>
          <body><nav><p>Menu text, plenty of words in the navigation menu here.</p></nav>
          <main><h1>Foreign Minister Sergey Lavrov’s statement, Moscow, March 3, 2022</h1>
          <time datetime="2022-03-03T12:00">3 March</time><p>One.</p><p>Two.</p></main></body></html>"#;
        let r = run(page, Some("https://mid.ru/en/foreign_policy/news/1802000/")).unwrap();
        assert_eq!(r.quality, Quality::Fallback);
        assert_eq!(
            r.title,
            "Foreign Minister Sergey Lavrov’s statement, Moscow, March 3, 2022"
        );
        assert_eq!(r.paragraphs, vec!["One.", "Two."]);
        assert_eq!(
            r.published_at.unwrap().to_rfc3339(),
            "2022-03-03T12:00:00+03:00"
        );
        assert_eq!(r.kind, Kind::Statement);
    }
}
