//! The `[fetch]` table of a source profile: where the fetcher finds statements and how it
//! treats the site. Paths are relative to the language's `base_url` (so `--base-url` can move
//! a whole language version onto a mirror or the fixture site); every URL they make must stay
//! on a host the profile declares (checked at load).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::messages::Lang;

/// How the fetcher finds and fetches a source's statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchProfile {
    /// Languages fetched when `--langs` is not given (default: every language of the source).
    #[serde(default)]
    pub langs: Option<Vec<Lang>>,
    /// Listing sections polled for new statements.
    #[serde(default)]
    pub sections: Vec<Section>,
    /// Feeds (RSS or Atom) polled before the listings.
    #[serde(default)]
    pub feeds: Vec<Feed>,
    /// Regex the path of a statement URL matches (e.g. `^/(en|ru)/.+/\d{5,9}/$`); links of a
    /// listing or feed that do not match are not statements.
    pub item_url: String,
    /// Regex matched against each path segment of a statement URL; the last segment that
    /// matches gives the document id: its `id` capture group, else the whole match
    /// (`^(?P<id>\d{4,10})$`, `^t\d{8}_(?P<id>\d{5,10})\.s?html$`).
    pub doc_id: String,
    /// Date-filtered listing of one day, for `fetcher backfill`, where the site has one.
    #[serde(default)]
    pub backfill: Option<Backfill>,
    /// Numbered listing pages, where the site has them: a template with `{section}` and
    /// `{n}` (e.g. `{section}page/{n}`, `{section}index_{n}.html`).
    #[serde(default)]
    pub pagination: Option<String>,
    /// Selectors of a listing page.
    pub listing: ListingSelectors,
    /// Markers of the anti-bot challenge page served instead of content.
    #[serde(default)]
    pub anti_bot: AntiBot,
    /// Markers of a "soft 404": a missing item answered with 200 and a generic page.
    #[serde(default)]
    pub soft_404: Soft404,
    /// Politeness defaults (command-line flags override them).
    #[serde(default)]
    pub politeness: Politeness,
}

/// One listing section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Path relative to the language's base URL (`press_service/minister_speeches/`).
    pub path: String,
    /// A different path in some languages (`ru = "press_service/spokesman/kommentarii/"`).
    #[serde(default)]
    pub paths: BTreeMap<Lang, String>,
    /// Languages the section exists in (default: every language of the source).
    #[serde(default)]
    pub langs: Option<Vec<Lang>>,
}

impl Section {
    /// The section's path in `lang`.
    pub fn path_for(&self, lang: Lang) -> &str {
        self.paths
            .get(&lang)
            .map_or(self.path.as_str(), String::as_str)
    }

    /// Whether the section exists in `lang`.
    pub fn has_lang(&self, lang: Lang) -> bool {
        self.langs.as_ref().is_none_or(|l| l.contains(&lang))
    }
}

/// Format of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    /// RSS 2.0 (`<item>`).
    Rss,
    /// Atom (`<entry>`).
    Atom,
}

/// One feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// Path relative to the language's base URL (`rss.php`).
    pub path: String,
    /// RSS or Atom.
    pub format: FeedFormat,
    /// Languages the feed exists in (default: every language of the source).
    #[serde(default)]
    pub langs: Option<Vec<Lang>>,
}

/// The date-filtered listing of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    /// Template relative to the language's base URL with `{section}` (the section's path)
    /// and `{date}` (the day in `date_format`):
    /// `{section}?activeFrom={date}&activeTo={date}`.
    pub template: String,
    /// chrono `strftime` format of `{date}` (`%d.%m.%Y`).
    pub date_format: String,
    /// Items one page of the listing shows at most: a full page warns that more may be
    /// hidden (mid.ru: 20).
    #[serde(default)]
    pub page_size: Option<usize>,
}

/// Selectors of a listing page (CSS, checked at load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingSelectors {
    /// One listed statement (`ul.announce.announce_articles > li.announce__item`).
    pub item: String,
    /// Used when `item` matches nothing (`li.announce__item`).
    #[serde(default)]
    pub item_fallback: Option<String>,
    /// The statement's link, inside the item (`a.announce__link`).
    pub link: String,
    /// Its title, inside the item (default: the link's text).
    #[serde(default)]
    pub title: Option<String>,
    /// Its date, inside the item.
    #[serde(default)]
    pub date: Option<String>,
    /// Read the date from this attribute (`datetime`) of the date element (or of the day
    /// heading, or an element inside it) instead of its text.
    #[serde(default)]
    pub date_attr: Option<String>,
    /// A heading before a group of items that gives their date (kremlin.ru's day headings
    /// `h2.events__title`), for items without a date of their own.
    #[serde(default)]
    pub day_heading: Option<String>,
    /// Its time, inside the item.
    #[serde(default)]
    pub time: Option<String>,
    /// Its tags, inside the item (links, else comma-separated text).
    #[serde(default)]
    pub tags: Option<String>,
}

/// Markers of the anti-bot challenge page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AntiBot {
    /// Strings only a challenge page carries (script URLs, script variables): one is enough.
    #[serde(default)]
    pub script_markers: Vec<String>,
    /// Texts of the challenge page ("Please enable JavaScript"): a challenge only when the
    /// body has none of `content_markers` (a statement may quote such a text).
    #[serde(default)]
    pub text_markers: Vec<String>,
    /// Strings of real content (statement or listing markup).
    #[serde(default)]
    pub content_markers: Vec<String>,
}

impl AntiBot {
    /// Whether a response body (its first 64 KiB) is the challenge page: it carries a script
    /// marker, or a text marker and none of the content markers.
    pub fn is_challenge(&self, body: &[u8]) -> bool {
        let head = &body[..body.len().min(64 * 1024)];
        let text = String::from_utf8_lossy(head);
        let has = |markers: &[String]| {
            markers
                .iter()
                .any(|m| !m.is_empty() && text.contains(m.as_str()))
        };
        has(&self.script_markers) || (has(&self.text_markers) && !has(&self.content_markers))
    }

    /// The first marker found in `text`: script markers first, then text markers (whatever
    /// else the page holds).
    pub fn marker_in<'a>(&'a self, text: &str) -> Option<&'a str> {
        self.script_markers
            .iter()
            .chain(&self.text_markers)
            .find(|m| !m.is_empty() && text.contains(m.as_str()))
            .map(String::as_str)
    }
}

/// Markers of a soft 404.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Soft404 {
    /// Substrings of the final URL (after redirects) of the generic page (`/web/system/`).
    #[serde(default)]
    pub url_contains: Vec<String>,
    /// Texts of the generic page.
    #[serde(default)]
    pub text_markers: Vec<String>,
}

impl Soft404 {
    /// Whether a page at `url` with `text` is the site's "not found" page.
    pub fn matches(&self, url: &str, text: &str) -> bool {
        self.url_contains
            .iter()
            .any(|m| !m.is_empty() && url.contains(m.as_str()))
            || self
                .text_markers
                .iter()
                .any(|m| !m.is_empty() && text.contains(m.as_str()))
    }
}

/// Politeness defaults of the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Politeness {
    /// Pause between two requests to one host (`10s`).
    #[serde(default)]
    pub request_interval: Option<String>,
    /// Pause of the host after an HTTP 403 (`30m`).
    #[serde(default)]
    pub pause_after_403: Option<String>,
    /// Whether the site's robots.txt is read and obeyed (default true).
    #[serde(default = "yes")]
    pub robots_txt: bool,
}

fn yes() -> bool {
    true
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            request_interval: None,
            pause_after_403: None,
            robots_txt: true,
        }
    }
}

impl Politeness {
    /// `request_interval` as a duration (validated at load).
    pub fn request_interval(&self) -> Option<Duration> {
        self.request_interval
            .as_deref()
            .and_then(|d| humantime::parse_duration(d).ok())
    }

    /// `pause_after_403` as a duration (validated at load).
    pub fn pause_after_403(&self) -> Option<Duration> {
        self.pause_after_403
            .as_deref()
            .and_then(|d| humantime::parse_duration(d).ok())
    }
}
