//! A source's page rules, compiled once from its profile.

use aho_corasick::AhoCorasick;
use ego_tree::NodeRef;
use regex::Regex;
use scraper::Node;
use scraper::node::Element;
use shared::profile::{ProfileError, SourceProfile, compile_regex};

use super::body::skipped_tag;
use super::selector::{FastSelector, Prefilter, class_of, compile_list, id_of};

/// A source's page markup and chrome, compiled once (`[parse.selectors]`, `[parse.chrome]`,
/// `parse.doc_number_pattern`, the anti-bot markers of `[fetch]`).
#[derive(Debug, Clone)]
pub struct PageRules {
    pub(super) title: Vec<FastSelector>,
    pub(super) date: Vec<FastSelector>,
    pub(super) time: Vec<FastSelector>,
    pub(super) place: Vec<FastSelector>,
    pub(super) body: Vec<FastSelector>,
    pub(super) tags: Vec<FastSelector>,
    pub(super) doc_number: Vec<FastSelector>,
    pub(super) alternates: Vec<(FastSelector, Option<String>)>,
    chrome_fragments: Vec<String>,
    /// Finds every chrome fragment in a class or id at once (overlapping matches: each
    /// fragment the value contains is reported).
    chrome_fragment_finder: Option<AhoCorasick>,
    pub(super) chrome: Vec<FastSelector>,
    pub(super) chrome_line: Option<Regex>,
    pub(super) toc_headings: Vec<String>,
    pub(super) back_links: Vec<String>,
    pub(super) doc_number_shape: Option<Regex>,
    pub(super) challenge_markers: Vec<String>,
    /// Items of the source's listing pages (`[fetch.listing] item`, `item_fallback`).
    pub(super) listing_item: Vec<FastSelector>,
    /// The first body selector as written, for messages.
    pub(super) body_css: String,
    /// The first title selector as written, for messages.
    pub(super) title_css: String,
    /// The pre-test of every selector the page walk tries on each element (title, date,
    /// time, place, body, tags, document number, alternates).
    pub(super) walk: Prefilter,
    /// The pre-test of the chrome selectors, tried on every element of a body.
    chrome_filter: Prefilter,
    /// The pre-test of the document number selectors, tried on every element of a body.
    doc_number_filter: Prefilter,
}

impl PageRules {
    /// Compiles the page rules of `profile`.
    pub fn compile(profile: &SourceProfile) -> Result<Self, ProfileError> {
        let s = &profile.parse.selectors;
        let c = &profile.parse.chrome;
        let chrome_line = if c.lines.is_empty() {
            None
        } else {
            Some(compile_regex(
                profile,
                "parse.chrome.lines",
                &format!("(?i)^(?:{})$", c.lines.join("|")),
            )?)
        };
        let anti_bot = &profile.fetch.anti_bot;
        let mut rules = PageRules {
            title: compile_list(profile, "parse.selectors.title", &s.title)?,
            date: compile_list(profile, "parse.selectors.date", &s.date)?,
            time: compile_list(profile, "parse.selectors.time", &s.time)?,
            place: compile_list(profile, "parse.selectors.place", &s.place)?,
            body: compile_list(profile, "parse.selectors.body", &s.body)?,
            tags: compile_list(profile, "parse.selectors.tags", &s.tags)?,
            doc_number: compile_list(profile, "parse.selectors.doc_number", &s.doc_number)?,
            alternates: s
                .alternates
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let key = format!("parse.selectors.alternates[{i}].selector");
                    Ok((
                        FastSelector::compile(profile, &key, &a.selector)?,
                        a.lang_attr.clone(),
                    ))
                })
                .collect::<Result<Vec<_>, ProfileError>>()?,
            chrome_fragments: c.class_fragments.clone(),
            chrome_fragment_finder: fragment_finder(profile, &c.class_fragments)?,
            chrome: compile_list(profile, "parse.chrome.selectors", &c.selectors)?,
            chrome_line,
            toc_headings: c.toc_headings.iter().map(|h| h.to_lowercase()).collect(),
            back_links: c.back_links.iter().map(|h| h.to_lowercase()).collect(),
            doc_number_shape: profile
                .parse
                .doc_number_pattern
                .as_deref()
                .map(|p| compile_regex(profile, "parse.doc_number_pattern", p))
                .transpose()?,
            challenge_markers: anti_bot
                .script_markers
                .iter()
                .chain(&anti_bot.text_markers)
                .filter(|m| !m.is_empty())
                .cloned()
                .collect(),
            listing_item: std::iter::once(&profile.fetch.listing.item)
                .chain(&profile.fetch.listing.item_fallback)
                .filter(|css| !css.trim().is_empty())
                .enumerate()
                .map(|(i, css)| {
                    FastSelector::compile(profile, &format!("fetch.listing.item[{i}]"), css)
                })
                .collect::<Result<Vec<_>, ProfileError>>()?,
            body_css: s.body.first().cloned().unwrap_or_default(),
            title_css: s.title.first().cloned().unwrap_or_default(),
            walk: Prefilter::default(),
            chrome_filter: Prefilter::default(),
            doc_number_filter: Prefilter::default(),
        };
        rules.chrome_filter = Prefilter::of(&rules.chrome);
        rules.doc_number_filter = Prefilter::of(&rules.doc_number);
        rules.walk = Prefilter::of(
            [
                &rules.title,
                &rules.date,
                &rules.time,
                &rules.place,
                &rules.body,
                &rules.tags,
                &rules.doc_number,
            ]
            .into_iter()
            .flatten()
            .chain(rules.alternates.iter().map(|(s, _)| s)),
        );
        Ok(rules)
    }

    /// The first body selector as written (`div.text.article-content`).
    pub fn body_css(&self) -> &str {
        &self.body_css
    }

    /// The first title selector as written (`h1.photo-content__title`).
    pub fn title_css(&self) -> &str {
        &self.title_css
    }

    /// The challenge marker present in the page text, if any.
    pub fn challenge_marker(&self, text: &str) -> Option<&str> {
        self.challenge_markers
            .iter()
            .find(|m| text.contains(m.as_str()))
            .map(String::as_str)
    }

    pub(super) fn chrome_element(&self, node: NodeRef<'_, Node>, el: &Element) -> bool {
        if skipped_tag(el.name()) {
            return true;
        }
        let is_chrome = |v: &str| {
            self.chrome_fragment_finder.as_ref().is_some_and(|finder| {
                finder
                    .find_overlapping_iter(v)
                    .any(|m| names_chrome(v, &self.chrome_fragments[m.pattern().as_usize()]))
            })
        };
        class_of(el).is_some_and(is_chrome)
            || id_of(el).is_some_and(is_chrome)
            || (self.chrome_filter.may_match(el) && self.chrome.iter().any(|s| s.matches(node, el)))
    }

    pub(super) fn is_doc_number_el(&self, node: NodeRef<'_, Node>, el: &Element) -> bool {
        self.doc_number_filter.may_match(el) && self.doc_number.iter().any(|s| s.matches(node, el))
    }

    /// Whether `text` has the shape of a document number (`1897-09-10-2017`, `09-10-2017`).
    pub fn is_doc_number(&self, text: &str) -> bool {
        self.doc_number_shape
            .as_ref()
            .is_some_and(|r| r.is_match(text))
    }
}

/// The automaton finding the chrome fragments (`parse.chrome.class_fragments`); none when
/// there are none.
fn fragment_finder(
    profile: &SourceProfile,
    fragments: &[String],
) -> Result<Option<AhoCorasick>, ProfileError> {
    if fragments.is_empty() {
        return Ok(None);
    }
    AhoCorasick::new(fragments)
        .map(Some)
        .map_err(|e| ProfileError::Invalid {
            file: profile.origin.clone(),
            key: "parse.chrome.class_fragments".into(),
            reason: format!("cannot be compiled into one matcher: {e}"),
        })
}

/// Whether a `class` or `id` value names the chrome word `fragment` as a whole name, not a
/// substring: each token is split into BEM names at `__` and `_` (block, element, modifier),
/// and a name is chrome when it is the word (`share`), its plural (`breadcrumbs`) or ends with
/// it after a hyphen (`site-header`, `photo-gallery`); a fragment with `_` in it
/// (`announce__meta`) matches tokens it begins. So `share__btn`, `menu_main` and
/// `related__list` are chrome, while `language-ru` or `related-info` are not.
pub(super) fn names_chrome(value: &str, fragment: &str) -> bool {
    value.split_ascii_whitespace().any(|token| {
        if fragment.contains('_') {
            return token == fragment
                || token
                    .strip_prefix(fragment)
                    .is_some_and(|rest| rest.starts_with(['_', '-']));
        }
        token.split('_').any(|name| {
            let name = name
                .strip_suffix('s')
                .filter(|_| !fragment.ends_with('s'))
                .unwrap_or(name);
            name == fragment
                || name
                    .strip_suffix(fragment)
                    .is_some_and(|head| head.ends_with('-'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::names_chrome;

    #[test]
    fn chrome_words_are_whole_names() {
        for (value, fragment) in [
            ("share", "share"),
            ("share__btn share__btn_vk", "share"),
            ("read__share", "share"),
            ("breadcrumbs", "breadcrumb"),
            ("site-header", "header"),
            ("header__lang", "header"),
            ("menu_main", "menu"),
            ("photo-gallery__counter", "gallery"),
            ("announce__meta-tags", "announce__meta"),
            ("related__list", "related"),
        ] {
            assert!(names_chrome(value, fragment), "{value} / {fragment}");
        }
        for (value, fragment) in [
            ("language-ru", "language"),
            ("related-info", "related"),
            ("sharepoint", "share"),
            ("text article-content", "header"),
            ("printable-text", "print"),
            ("menuitem-like", "menu"),
        ] {
            assert!(!names_chrome(value, fragment), "{value} / {fragment}");
        }
    }
}
