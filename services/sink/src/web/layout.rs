//! The page shell (head, header, footer), the filters of the URL, and small shared pieces.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use shared::SpeechRecord;

use super::i18n::{UI_PARAM, Ui, zone};

/// Version of the stylesheet and script, so browsers fetch them again after an upgrade.
pub const ASSETS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The filters and position of a listing, as they live in the URL. Empty values are absent
/// (an empty form field means "any").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// `source` (`kremlin.ru`).
    pub source: Option<String>,
    /// `lang`.
    pub lang: Option<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `speaker`.
    pub speaker: Option<String>,
    /// `since` (a date).
    pub since: Option<String>,
    /// `until` (a date).
    pub until: Option<String>,
    /// `q` (search pages).
    pub q: Option<String>,
    /// `cursor`.
    pub cursor: Option<String>,
}

impl Filters {
    /// Reads the query string pairs: the filters, and the `ui` parameter apart. Unknown
    /// parameters are ignored (links from elsewhere may carry some).
    pub fn from_pairs(pairs: &[(String, String)]) -> (Filters, Option<String>) {
        let mut filters = Filters::default();
        let mut ui = None;
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let slot = match key.as_str() {
                "source" => &mut filters.source,
                "lang" => &mut filters.lang,
                "kind" => &mut filters.kind,
                "speaker" => &mut filters.speaker,
                "since" => &mut filters.since,
                "until" => &mut filters.until,
                "q" => &mut filters.q,
                "cursor" => &mut filters.cursor,
                UI_PARAM => &mut ui,
                _ => continue,
            };
            *slot = Some(value.to_string());
        }
        (filters, ui)
    }

    /// The filters as `(key, value)` pairs, `q` and `cursor` included when `search`/`paged`.
    pub fn pairs(&self, search: bool, paged: bool) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut add = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                pairs.push((key.to_string(), v.clone()));
            }
        };
        if search {
            add("q", &self.q);
        }
        add("source", &self.source);
        add("lang", &self.lang);
        add("kind", &self.kind);
        add("speaker", &self.speaker);
        add("since", &self.since);
        add("until", &self.until);
        if paged {
            add("cursor", &self.cursor);
        }
        pairs
    }

    /// `path` with the filters (and `extra` pairs) as its query string.
    pub fn href(&self, path: &str, search: bool, extra: &[(&str, &str)]) -> String {
        let mut pairs = self.pairs(search, false);
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        with_query(path, &pairs)
    }

    /// Whether any filter (not `q`, not the cursor) is set.
    pub fn any(&self) -> bool {
        !self.pairs(false, false).is_empty()
    }
}

/// `path?k=v&...` (just `path` without pairs), form-encoded.
pub fn with_query(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_string();
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    format!("{path}?{}", query.finish())
}

/// A record's page.
pub fn statement_href(id: &str) -> String {
    format!("/statements/{}", encode_segment(id))
}

/// Percent-encodes a path segment (ids contain `:` and `.`, which are fine; the rest is not).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What the shell needs besides the body.
pub struct Chrome<'a> {
    /// Interface language.
    pub ui: Ui,
    /// The page title (the site name is appended).
    pub title: &'a str,
    /// The page's path and query, for the language switcher.
    pub path: &'a str,
    /// The query pairs of the page (without `ui`), for the language switcher.
    pub pairs: Vec<(String, String)>,
    /// Atom feed of the page, for `<link rel=alternate>`.
    pub feed: Option<String>,
    /// Which main navigation entry is current: `latest` or `search`.
    pub current: &'a str,
}

/// The whole page around `body`.
pub fn page(chrome: &Chrome<'_>, body: Markup) -> Markup {
    let t = chrome.ui.t();
    html! {
        (DOCTYPE)
        html lang=(chrome.ui.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (chrome.title) " · " (t.site) }
                link rel="stylesheet" href={ "/assets/site.css?v=" (ASSETS_VERSION) };
                @if let Some(feed) = &chrome.feed {
                    link rel="alternate" type="application/atom+xml" title=(t.feed) href=(feed);
                }
                script src={ "/assets/live.js?v=" (ASSETS_VERSION) } defer {}
            }
            body {
                a.skip href="#main" { (t.skip) }
                header.site {
                    a.brand href="/" { "ministry-feed " span { (t.site) } }
                    nav.main aria-label=(t.nav) {
                        ul {
                            li { a href="/" aria-current=[(chrome.current == "latest").then_some("page")] { (t.latest) } }
                            li { a href="/search" aria-current=[(chrome.current == "search").then_some("page")] { (t.search) } }
                        }
                    }
                    nav.langs aria-label=(t.interface_language) {
                        ul {
                            @for ui in Ui::ALL {
                                li {
                                    @if ui == chrome.ui {
                                        span aria-current="true" lang=(ui.code()) { (ui.endonym()) }
                                    } @else {
                                        a href=(switch_href(chrome, ui)) lang=(ui.code()) hreflang=(ui.code()) { (ui.endonym()) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main { (body) }
                footer.site {
                    p {
                        (t.for_programs) ": "
                        a href="/v1/speeches" { "/v1/speeches" } " · "
                        a href="/v1/events" { "/v1/events" } " · "
                        a href="/v1/feed.atom" { "feed.atom" } " · "
                        a href="/v1/openapi.json" { "openapi.json" }
                    }
                }
            }
        }
    }
}

fn switch_href(chrome: &Chrome<'_>, ui: Ui) -> String {
    let mut pairs = chrome.pairs.clone();
    pairs.push((UI_PARAM.to_string(), ui.code().to_string()));
    with_query(chrome.path, &pairs)
}

/// The `<time>` of a record: publication in the site's zone, else the event date.
pub fn record_time(ui: Ui, record: &SpeechRecord) -> Markup {
    let t = ui.t();
    html! {
        @if let Some(published) = &record.published_at {
            time datetime=(published.to_rfc3339()) {
                (ui.date_time(published)) " " span.zone { (zone(published)) }
            }
        } @else if let Some(day) = record.event_date {
            time datetime=(day.to_string()) { (ui.date(day)) }
        } @else {
            span.nodate { (t.no_date) }
        }
    }
}

/// A search snippet: escaped text with the store's `<mark>` tags kept.
pub fn snippet(text: &str) -> Markup {
    let escaped = maud::html! { (text) }.into_string();
    PreEscaped(
        escaped
            .replace("&lt;mark&gt;", "<mark>")
            .replace("&lt;/mark&gt;", "</mark>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_live_in_the_url() {
        let (filters, ui) = Filters::from_pairs(&pairs(&[
            ("lang", "ru"),
            ("kind", ""),
            ("speaker", "Lavrov & Co"),
            ("utm_source", "x"),
            ("ui", "ru"),
        ]));
        assert_eq!(ui.as_deref(), Some("ru"));
        assert_eq!(filters.kind, None);
        assert_eq!(
            filters.href("/", false, &[("cursor", "abc")]),
            "/?lang=ru&speaker=Lavrov+%26+Co&cursor=abc"
        );
        assert!(filters.any());
        assert_eq!(Filters::default().href("/search", true, &[]), "/search");
    }

    #[test]
    fn snippets_keep_only_marks() {
        assert_eq!(
            snippet("a <mark>b</mark> <script>x</script>").into_string(),
            "a <mark>b</mark> &lt;script&gt;x&lt;/script&gt;"
        );
        assert_eq!(encode_segment("mid.ru:1:en"), "mid.ru:1:en");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
