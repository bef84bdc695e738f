//! The entry point: page bytes in, a [`SpeechRecord`] (or the reason there is none) out.
//! Pure: no I/O, no clock, no global state besides compiled patterns.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use scraper::Html;
use shared::messages::SPEECH_SCHEMA_VERSION;
use shared::profile::{DocIdMatcher, ProfileError, Profiles, SourceProfile};
use shared::{Lang, ListingHint, Quality, SpeechRecord};
use url::Url;

use crate::charset;
use crate::dates::DateGrammar;
use crate::kinds::KindTable;
use crate::officials::{Registry, RegistryError};
use crate::page::{PageParts, PageRules, extract_parts};
use crate::title::TitleGrammar;
use crate::turns::{LabelRules, split_turns};

/// Longest title, in words, that may merely contain a system page's title (`parse.system_titles`).
pub const SYSTEM_TITLE_MAX_WORDS: usize = 6;

/// Whether a title (lower case) is one of the site's system pages: an entry itself, or a short
/// title (at most [`SYSTEM_TITLE_MAX_WORDS`] words) holding an entry of two words or more as
/// whole words ("ошибка 404. страница не найдена").
fn is_system_title(title: &str, entries: &[String]) -> bool {
    let words: Vec<&str> = title
        .split(|c: char| !c.is_alphanumeric())
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
        }
    }
}

/// Why the sources cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// An officials registry is invalid.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// One source, compiled once: its profile and every matcher the engine needs.
#[derive(Debug)]
pub struct Source {
    profile: Arc<SourceProfile>,
    doc_id: DocIdMatcher,
    page: PageRules,
    dates: DateGrammar,
    title: TitleGrammar,
    kinds: KindTable,
    labels: LabelRules,
    registry: Registry,
    root: Option<Url>,
}

impl Source {
    /// Compiles `profile`, merging `extra_officials` (JSON text, origin) into its registry.
    pub fn compile(
        profile: Arc<SourceProfile>,
        extra_officials: Option<(&str, &str)>,
    ) -> Result<Self, SourceError> {
        let dates = DateGrammar::compile(&profile)?;
        Ok(Source {
            doc_id: DocIdMatcher::new(&profile)?,
            page: PageRules::compile(&profile)?,
            title: TitleGrammar::compile(&profile, &dates)?,
            kinds: KindTable::compile(&profile)?,
            labels: LabelRules::new(&profile),
            registry: Registry::of_profile_with_extra(&profile, extra_officials)?,
            root: profile.site_root(),
            dates,
            profile,
        })
    }

    /// The profile.
    pub fn profile(&self) -> &SourceProfile {
        &self.profile
    }

    /// The officials registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The compiled page rules.
    pub fn page_rules(&self) -> &PageRules {
        &self.page
    }

    /// The compiled date grammar.
    pub fn dates(&self) -> &DateGrammar {
        &self.dates
    }

    /// The compiled title grammar.
    pub fn title_grammar(&self) -> &TitleGrammar {
        &self.title
    }

    /// The compiled kind cues.
    pub fn kinds(&self) -> &KindTable {
        &self.kinds
    }

    /// The turn label rules.
    pub fn labels(&self) -> &LabelRules {
        &self.labels
    }

    /// The document id and language a statement URL names.
    pub fn parse_statement_url(
        &self,
        url: &str,
    ) -> Result<(Url, String, Option<Lang>), ExtractError> {
        let not_statement = || ExtractError::NotStatementUrl {
            url: url.to_string(),
            site: self.profile.name.clone(),
            example: self.profile.example_url.clone(),
        };
        let parsed = Url::parse(url.trim())
            .or_else(|e| match &self.root {
                Some(root) => root.join(url.trim()),
                None => Err(e),
            })
            .map_err(|_| not_statement())?;
        let doc_id = self
            .doc_id
            .doc_id(parsed.path())
            .ok_or_else(not_statement)?;
        let lang = self.profile.lang_of_url(&parsed);
        Ok((parsed, doc_id, lang))
    }
}

/// Every source the parser knows, compiled once and shared by every page.
#[derive(Debug)]
pub struct Extractor {
    sources: Vec<Source>,
}

impl Extractor {
    /// Compiles every profile of `profiles`, merging `extra_officials` (JSON text, origin)
    /// into each source's registry.
    pub fn new(
        profiles: &Profiles,
        extra_officials: Option<(&str, &str)>,
    ) -> Result<Self, SourceError> {
        let sources = profiles
            .all()
            .iter()
            .map(|p| Source::compile(Arc::clone(p), extra_officials))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Extractor { sources })
    }

    /// The built-in sources.
    pub fn builtin() -> Result<Self, SourceError> {
        Self::new(&Profiles::load(&[])?, None)
    }

    /// Every source.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The source named `name`.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.profile.name == name)
    }

    /// The source whose hosts include the host of `url`.
    pub fn source_for_url(&self, url: &str) -> Option<&Source> {
        let host = Url::parse(url.trim()).ok()?.host_str()?.to_string();
        self.sources.iter().find(|s| s.profile.declares_host(&host))
    }

    /// Extracts one page (see [`extract`]).
    pub fn extract(&self, input: &PageInput<'_>) -> Result<SpeechRecord, ExtractError> {
        extract(input, self)
    }
}

fn lang_of_tag(tag: &str) -> Option<Lang> {
    tag.get(..2)?.parse::<Lang>().ok()
}

fn published_at(
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

/// The source of a page: named, else by the URL's host, else by the page's canonical link or
/// og:url, else the first.
fn pick_source<'e>(
    input: &PageInput<'_>,
    ctx: &'e Extractor,
    html: &Html,
) -> Result<&'e Source, ExtractError> {
    if let Some(name) = input.source {
        return ctx.source(name).ok_or_else(|| ExtractError::UnknownSource {
            name: name.to_string(),
        });
    }
    let by_url = [input.url, input.fetch_url]
        .into_iter()
        .flatten()
        .find_map(|u| ctx.source_for_url(u));
    // The page's own links decide only when nothing says where the page came from.
    let offline = input.url.is_none() && input.fetch_url.is_none();
    let by_page = || {
        if !offline {
            return None;
        }
        let links = scraper::Selector::parse(
            "link[rel~=canonical][href], meta[property=\"og:url\"][content]",
        )
        .ok()?;
        html.select(&links).find_map(|el| {
            let url = el.attr("href").or_else(|| el.attr("content"))?;
            ctx.source_for_url(url)
        })
    };
    by_url
        .or_else(by_page)
        .or_else(|| ctx.sources.first())
        .ok_or_else(|| ExtractError::UnknownSource {
            name: String::new(),
        })
}

/// The record's URL, document id and language (issue 13.4). An explicit URL is used as is.
/// Otherwise the URL the page was fetched from (the raw page's) decides the document and the
/// language; the page's canonical link or `og:url` only chooses the record's `url` when it
/// names the same document on one of the source's own hosts (a link to another document or
/// host changes nothing and is logged). Without either URL (an offline parse of a file), the
/// canonical link, else `og:url`, is the page's URL.
fn record_identity(
    input: &PageInput<'_>,
    source: &Source,
    parts: &PageParts,
) -> Result<(Url, String, Option<Lang>), ExtractError> {
    let profile = &source.profile;
    fn non_empty(u: Option<&str>) -> Option<&str> {
        u.map(str::trim).filter(|u| !u.is_empty())
    }
    if let Some(explicit) = non_empty(input.url) {
        return source.parse_statement_url(explicit);
    }
    let links: Vec<&str> = [parts.canonical.as_deref(), parts.og_url.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    if let Some(fetched) = non_empty(input.fetch_url) {
        let (fetch_url, doc_id, lang) = source.parse_statement_url(fetched)?;
        let own = links.iter().find_map(|link| {
            let same = source
                .parse_statement_url(link)
                .ok()
                .filter(|(u, id, l)| {
                    *id == doc_id
                        && u.host_str().is_some_and(|h| profile.declares_host(h))
                        && (l.is_none() || lang.is_none() || *l == lang)
                });
            if same.is_none() {
                tracing::warn!(
                    link = *link,
                    fetched = fetched,
                    "the page links another document or host as its own URL; ignored (the fetched URL decides)"
                );
            }
            same
        });
        let url = own.map_or(fetch_url, |(u, _, _)| u);
        return Ok((url, doc_id, lang));
    }
    let first = *links.first().ok_or_else(|| ExtractError::NoUrl {
        example: profile.example_url.clone(),
    })?;
    links
        .iter()
        .find_map(|u| source.parse_statement_url(u).ok())
        .ok_or_else(|| ExtractError::NotStatementUrl {
            url: first.to_string(),
            site: profile.name.clone(),
            example: profile.example_url.clone(),
        })
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
    let title_key = title.to_lowercase();
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

    let registry = &source.registry;
    let mut title_speakers: Vec<String> = registry
        .find_all(&title)
        .into_iter()
        .map(str::to_string)
        .collect();
    if title_speakers.is_empty()
        && let Some(implicit) = &profile.parse.page_facts.implicit_speaker
    {
        title_speakers.push(implicit.clone());
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
    let tail = source.title.parse_tail(&title, &source.dates);
    let published_at = published_at(source, &parts, input.listing);
    let event_date = tail.event_date.or_else(|| {
        profile
            .parse
            .page_facts
            .event_date_from_page
            .then(|| published_at.map(|p| p.date_naive()))
            .flatten()
    });
    let location = tail.location.or_else(|| parts.place.clone());

    let mut translations = BTreeMap::new();
    for (tag, href) in &parts.alternates {
        let Ok(absolute) = url.join(href.trim()) else {
            continue;
        };
        let other = match tag {
            Some(tag) => lang_of_tag(tag),
            None => profile.lang_of_url(&absolute),
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
                source: None,
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
        assert_eq!(run(&no_url, None).unwrap_err().reason_label(), "no_url");
        let r = run(
            &no_url,
            Some("https://www.mid.ru/en/press_service/minister_speeches/1799937/"),
        )
        .unwrap();
        assert_eq!(r.id, "mid.ru:1799937:en");
        let ctx = Extractor::builtin().unwrap();
        let (_, id, lang) = ctx
            .source("mid.ru")
            .unwrap()
            .parse_statement_url("https://mid.ru/foreign_policy/news/1653435/?lang=de")
            .unwrap();
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
                source: None,
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

    fn fetched_as(html: &str, fetch_url: &str) -> Result<SpeechRecord, ExtractError> {
        let ctx = Extractor::builtin().unwrap();
        extract(
            &PageInput {
                bytes: html.as_bytes(),
                source: Some("mid.ru"),
                url: None,
                fetch_url: Some(fetch_url),
                content_type: None,
                fetched_at: fetched(),
                listing: None,
                lang: Some(Lang::Ru),
            },
            &ctx,
        )
    }

    #[test]
    fn identity_comes_from_the_fetched_url() {
        // The page names another document (and another host) as its canonical URL: the
        // record is still the fetched document, and alternates off the site are dropped.
        let hostile = PAGE
            .replace(
                "https://mid.ru/ru/foreign_policy/news/1799937/\">\n      <link rel=\"alternate\" hreflang=\"en\"",
                "https://mid.ru/ru/foreign_policy/news/1000001/\">\n      <link rel=\"alternate\" hreflang=\"en\"",
            )
            .replace("/en/foreign_policy/news/1799937/", "https://evil.example/en/foreign_policy/news/1799937/");
        assert!(hostile.contains("news/1000001/"));
        let r = fetched_as(
            &hostile,
            "https://www.mid.ru/ru/press_service/minister_speeches/1799937/",
        )
        .unwrap();
        assert_eq!(r.id, "mid.ru:1799937:ru");
        assert_eq!(r.doc_id, "1799937");
        assert_eq!(
            r.url,
            "https://www.mid.ru/ru/press_service/minister_speeches/1799937/"
        );
        assert!(r.translations.is_empty(), "{:?}", r.translations);
        // A canonical link to the same document on the site is the record's URL.
        let r = fetched_as(
            PAGE,
            "https://www.mid.ru/ru/press_service/minister_speeches/1799937/",
        )
        .unwrap();
        assert_eq!(r.url, "https://mid.ru/ru/foreign_policy/news/1799937/");
        // Another language of the same document: the fetched language stands.
        let other_lang = PAGE.replace("https://mid.ru/ru/foreign_policy/news/1799937/\">\n      <link rel=\"alternate\" hreflang=\"en\"", "https://mid.ru/en/foreign_policy/news/1799937/\">\n      <link rel=\"alternate\" hreflang=\"en\"");
        let r = fetched_as(
            &other_lang,
            "https://mid.ru/ru/foreign_policy/news/1799937/",
        )
        .unwrap();
        assert_eq!(
            (r.lang, r.url.as_str()),
            (Lang::Ru, "https://mid.ru/ru/foreign_policy/news/1799937/")
        );
    }

    #[test]
    fn system_pages_and_section_indexes_are_not_statements() {
        let not_found = r#"<html lang="ru"><head><title>Страница не найдена - Министерство иностранных дел Российской Федерации</title></head>
          <body><main><h1>Страница не найдена</h1><p>Запрошенная страница не существует или была удалена. Проверьте правильность адреса или воспользуйтесь поиском по сайту, картой сайта или разделом новостей Министерства иностранных дел Российской Федерации, где собраны все материалы за последние годы.</p><p>Если вы считаете, что это ошибка, напишите нам через форму обратной связи, указав адрес страницы, на которой вы оказались, и время обращения.</p></main></body></html>"#;
        let err =
            fetched_as(not_found, "https://mid.ru/ru/foreign_policy/news/1999999/").unwrap_err();
        assert!(err.to_string().contains("system page"), "{err}");
        let item = |n: u32| {
            format!(
                r#"<li class="announce__item"><span class="announce__date">0{n}.03.2024</span><a class="announce__link" href="/ru/foreign_policy/news/19{n}0000/">О визите номер {n} заместителя Министра иностранных дел Российской Федерации в ряд стран региона</a><p>Краткое описание материала номер {n}, которое выводится в ленте раздела под заголовком.</p></li>"#
            )
        };
        let index = format!(
            r#"<html lang="ru"><head><title>Новости</title></head><body><h1>Новости</h1><ul class="announce announce_articles">{}</ul></body></html>"#,
            (1..=5).map(item).collect::<String>()
        );
        let err = fetched_as(&index, "https://mid.ru/ru/foreign_policy/news/1999999/").unwrap_err();
        assert!(
            err.to_string().contains("section index (5 listing items"),
            "{err}"
        );
    }

    #[test]
    fn fallback_record() {
        let page = r#"<html lang="en"><head><title>Statement by Sergey Lavrov - Министерство иностранных дел Российской Федерации</title></head>
          <body><nav><p>Menu text, plenty of words in the navigation menu here.</p></nav>
          <main><h1>Foreign Minister Sergey Lavrov’s statement, Moscow, March 3, 2022</h1>
          <time datetime="2022-03-03T12:00">3 March</time><p>One. The minister spoke about the situation in the region and the steps the parties agreed on during the talks held earlier in the week.</p><p>Two. He underlined that the dialogue would continue at the level of experts and that the next round of consultations is planned for the spring, in Moscow or in Geneva.</p></main></body></html>"#;
        let r = run(page, Some("https://mid.ru/en/foreign_policy/news/1802000/")).unwrap();
        assert_eq!(r.quality, Quality::Fallback);
        assert_eq!(
            r.title,
            "Foreign Minister Sergey Lavrov’s statement, Moscow, March 3, 2022"
        );
        assert_eq!(r.paragraphs.len(), 2);
        assert!(r.paragraphs[0].starts_with("One. The minister"));
        let short = page
            .replace(" The minister spoke", "")
            .split("<p>Two.")
            .next()
            .unwrap()
            .to_string()
            + "</main></body></html>";
        let err = run(
            &short,
            Some("https://mid.ru/en/foreign_policy/news/1802000/"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("characters of text"), "{err}");
        assert_eq!(
            r.published_at.unwrap().to_rfc3339(),
            "2022-03-03T12:00:00+03:00"
        );
        assert_eq!(r.kind, Kind::Statement);
    }
}
