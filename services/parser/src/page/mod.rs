//! DOM extraction: one parse, one pass over the tree to find the known parts, then a walk of
//! the body container that turns it into paragraphs.
//!
//! The known parts are the source profile's selectors (`[parse.selectors]`, compiled once into
//! [`PageRules`]): title, date, time, place, body, tags, document number, language
//! alternates (mid.ru: title `h1.photo-content__title`, date `.photo-content__date`, body
//! `div.text.article-content`, …). A body split across several wrappers matching the body
//! selector is read from all of them, in order. When no known body has text, a generic
//! extractor takes the element whose `<p>` children hold the most text outside page chrome;
//! the record is then marked `fallback`. Without the known date element, the short texts with
//! digits outside chrome are kept as date candidates (print versions); without a known body,
//! the items of the source's listing markup are counted (a section index).
//!
//! Body rules (`page/body.rs`): `<p>`, headings, list items, `<dt>/<dd>`, `<blockquote>` and `<pre>`
//! are paragraphs, and so is a `<div>` of text; a table row is one paragraph of its non-empty
//! cells joined by " | ", while a layout table (a row of one cell, or cells holding paragraphs
//! or `<br>`) is read as text; text directly in a container is a paragraph, split at `<br>`;
//! a `<br>` inside a paragraph is a newline ([`crate::normalize::LINE_BREAK`]) and two in a row
//! end the paragraph; empty paragraphs are dropped. An element boundary is a word boundary
//! wherever text is joined. A table of contents (a heading of `chrome.toc_headings` and
//! paragraphs made only of links to `#` anchors) and `chrome.back_links` are removed, and so
//! is any page chrome (`[parse.chrome]`: chrome words a class or id names as a whole
//! (`page/rules.rs`), selectors, whole chrome lines). Selectors are compiled with a cheap pre-test
//! (`page/selector.rs`).

mod body;
mod rules;
mod selector;

use ego_tree::NodeRef;
use html5ever::local_name;
use scraper::node::Element;
use scraper::{Html, Node};

use body::{densest_block, in_chrome, skipped_tag, text_of, walk_body};
pub use rules::PageRules;
pub use selector::FastSelector;
use selector::{attr, attr_named, class_of};

use crate::normalize::normalize_ws;

/// Everything the page itself says, before interpretation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageParts {
    /// Title from the known title element.
    pub title: Option<String>,
    /// `<title>` text (suffix not yet removed).
    pub head_title: Option<String>,
    /// First `<h1>` outside page chrome (fallback title).
    pub any_h1: Option<String>,
    /// `<link rel=canonical href>`.
    pub canonical: Option<String>,
    /// `<meta property=og:url content>`.
    pub og_url: Option<String>,
    /// `<html lang>`.
    pub html_lang: Option<String>,
    /// Links to other language versions: (language code if the markup gives one, href).
    pub alternates: Vec<(Option<String>, String)>,
    /// Text of the place element.
    pub place: Option<String>,
    /// Text of the page date element (time included when nested).
    pub date_text: Option<String>,
    /// Text of a separate time element.
    pub time_text: Option<String>,
    /// `<time datetime>` or `article:published_time`.
    pub machine_date: Option<String>,
    /// Document number.
    pub doc_number: Option<String>,
    /// Body paragraphs.
    pub paragraphs: Vec<String>,
    /// Tags shown on the page.
    pub tags: Vec<String>,
    /// Whether the known body markup gave the paragraphs.
    pub known_body: bool,
    /// Whether a known body container exists (possibly empty): no generic fallback then.
    pub known_container: bool,
    /// Elements of the source's listing items (`[fetch.listing] item`): a section index.
    pub listing_items: usize,
    /// Short texts with digits, outside chrome, in document order (at most
    /// [`MAX_DATE_CANDIDATES`]): where a date line may be when the known date element is
    /// missing (print versions, other templates).
    pub date_candidates: Vec<String>,
}

/// How many short texts [`PageParts::date_candidates`] keeps.
pub const MAX_DATE_CANDIDATES: usize = 12;

/// Items of the source's listing markup outside chrome, each with a link.
fn listing_items(html: &Html, rules: &PageRules) -> usize {
    if rules.listing_item.is_empty() {
        return 0;
    }
    html.tree
        .root()
        .descendants()
        .filter(|node| {
            matches!(node.value(), Node::Element(el) if rules.listing_item.iter().any(|s| s.matches(*node, el)))
                && node
                    .descendants()
                    .any(|d| matches!(d.value(), Node::Element(e) if e.name() == "a"))
                && !in_chrome(rules, *node)
        })
        .count()
}

/// Short texts with digits outside chrome (see [`PageParts::date_candidates`]).
fn date_candidates(html: &Html, rules: &PageRules) -> Vec<String> {
    let mut out = Vec::new();
    for node in html.tree.root().descendants() {
        if out.len() >= MAX_DATE_CANDIDATES {
            break;
        }
        let Node::Element(el) = node.value() else {
            continue;
        };
        if skipped_tag(el.name()) || el.name() == "title" || !is_short_leaf(node) {
            continue;
        }
        let text = text_of(node);
        if text.len() <= 40 && text.chars().any(|c| c.is_ascii_digit()) && !in_chrome(rules, node) {
            out.push(text);
        }
    }
    out
}

/// An element with text and no element children but a few inline ones.
fn is_short_leaf(node: NodeRef<'_, Node>) -> bool {
    let mut any_text = false;
    for child in node.children() {
        match child.value() {
            Node::Text(t) => any_text |= !t.trim().is_empty(),
            Node::Element(e) if matches!(e.name(), "span" | "time" | "b" | "strong" | "br") => {
                any_text = true;
            }
            Node::Element(_) => return false,
            _ => {}
        }
    }
    any_text
}

/// The first element matching each selector of a priority list: the first selector whose first
/// match (in document order) has text wins. The text is kept, not read again.
struct Firsts {
    found: Vec<Option<String>>,
}

impl Firsts {
    fn new(len: usize) -> Self {
        Firsts {
            found: vec![None; len],
        }
    }

    /// Records the text of `node` for every selector it matches that has no non-empty match
    /// yet.
    fn offer(&mut self, list: &[FastSelector], node: NodeRef<'_, Node>, el: &Element) {
        let mut text: Option<String> = None;
        for (slot, selector) in self.found.iter_mut().zip(list) {
            if slot.is_none() && selector.matches(node, el) {
                let text = text.get_or_insert_with(|| text_of(node));
                if !text.is_empty() {
                    *slot = Some(text.clone());
                }
            }
        }
    }

    fn text(self) -> Option<String> {
        self.found.into_iter().flatten().next()
    }
}

/// Extracts the parts of a parsed page with a source's rules.
pub fn extract_parts(html: &Html, rules: &PageRules) -> PageParts {
    let mut parts = PageParts::default();
    let mut titles = Firsts::new(rules.title.len());
    let mut dates = Firsts::new(rules.date.len());
    let mut times = Firsts::new(rules.time.len());
    let mut places = Firsts::new(rules.place.len());
    let mut numbers = Firsts::new(rules.doc_number.len());
    // Every match of each body selector not inside an earlier one: a body split across
    // sibling wrappers is read from all of them, in document order.
    let mut bodies: Vec<Vec<NodeRef<'_, Node>>> = vec![Vec::new(); rules.body.len()];
    let mut tag_nodes: Vec<NodeRef<'_, Node>> = Vec::new();
    for node in html.tree.root().descendants() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        let tag = &el.name.local;
        if *tag == local_name!("html") {
            if parts.html_lang.is_none() {
                parts.html_lang =
                    attr_named(el, &local_name!("lang")).map(|l| l.trim().to_string());
            }
        } else if *tag == local_name!("title") {
            if parts.head_title.is_none() && !in_svg(node) {
                parts.head_title = Some(text_of(node));
            }
        } else if *tag == local_name!("link") {
            let rel = attr_named(el, &local_name!("rel")).unwrap_or_default();
            if parts.canonical.is_none()
                && rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
            {
                parts.canonical =
                    attr_named(el, &local_name!("href")).map(|h| h.trim().to_string());
            }
        } else if *tag == local_name!("meta") {
            let prop = attr_named(el, &local_name!("property"))
                .or_else(|| attr_named(el, &local_name!("name")))
                .or_else(|| attr_named(el, &local_name!("itemprop")))
                .unwrap_or_default()
                .to_ascii_lowercase();
            let content = attr_named(el, &local_name!("content")).map(|c| c.trim().to_string());
            match prop.as_str() {
                "og:url" if parts.og_url.is_none() => parts.og_url = content,
                "article:published_time" | "datepublished" | "date"
                    if parts.machine_date.is_none() =>
                {
                    parts.machine_date = content
                }
                _ => {}
            }
        } else if *tag == local_name!("time")
            && parts.machine_date.is_none()
            && let Some(dt) = attr_named(el, &local_name!("datetime"))
            && !in_chrome(rules, node)
        {
            parts.machine_date = Some(dt.trim().to_string());
        }
        // Most elements (menus, sidebars, footers) can match none of the selectors: one
        // pre-test rules them out for all.
        if !rules.walk.may_match(el) {
            if *tag == local_name!("h1") && parts.any_h1.is_none() && !in_chrome(rules, node) {
                parts.any_h1 = Some(text_of(node)).filter(|t| !t.is_empty());
            }
            continue;
        }
        let is_title = rules.title.iter().any(|s| s.matches(node, el));
        if is_title {
            titles.offer(&rules.title, node, el);
        } else if *tag == local_name!("h1") && parts.any_h1.is_none() && !in_chrome(rules, node) {
            parts.any_h1 = Some(text_of(node)).filter(|t| !t.is_empty());
        }
        for (found, selector) in bodies.iter_mut().zip(&rules.body) {
            if selector.matches(node, el)
                && !node
                    .ancestors()
                    .any(|a| found.iter().any(|f| f.id() == a.id()))
            {
                found.push(node);
            }
        }

        numbers.offer(&rules.doc_number, node, el);
        dates.offer(&rules.date, node, el);
        times.offer(&rules.time, node, el);
        places.offer(&rules.place, node, el);
        for (selector, lang_attr) in &rules.alternates {
            if selector.matches(node, el)
                && let Some(href) = attr_named(el, &local_name!("href"))
            {
                let lang = lang_attr
                    .as_deref()
                    .and_then(|a| attr(el, a))
                    .map(|l| l.trim().to_string());
                parts.alternates.push((lang, href.trim().to_string()));
            }
        }
        if rules.tags.iter().any(|s| s.matches(node, el))
            && !node.ancestors().any(|a| {
                matches!(a.value(), Node::Element(e) if e.name.local == local_name!("aside")
                    || class_of(e).is_some_and(|c| c.contains("sidebar")))
            })
        {
            tag_nodes.push(node);
        }
    }
    parts.title = titles.text();
    parts.date_text = dates.text();
    if parts.date_text.is_none() && parts.machine_date.is_none() {
        parts.date_candidates = date_candidates(html, rules);
    }
    parts.time_text = times.text();
    parts.place = places.text();
    let doc_number = numbers.text();
    for tags in tag_nodes {
        let links: Vec<String> = tags
            .descendants()
            .filter(|d| matches!(d.value(), Node::Element(e) if e.name() == "a"))
            .map(text_of)
            .filter(|t| !t.is_empty())
            .collect();
        let items = if links.is_empty() {
            text_of(tags)
                .split(',')
                .map(normalize_ws)
                .filter(|t| !t.is_empty())
                .collect()
        } else {
            links
        };
        for item in items {
            if !parts.tags.contains(&item) {
                parts.tags.push(item);
            }
        }
    }
    parts.known_container = bodies.iter().any(|b| !b.is_empty());
    let known = bodies.into_iter().find_map(|nodes| {
        let mut paragraphs = Vec::new();
        let mut number = None;
        for node in nodes {
            let (p, n) = walk_body(rules, node, false);
            paragraphs.extend(p);
            number = number.or(n);
        }
        (!paragraphs.is_empty()).then_some((paragraphs, number))
    });
    let (mut paragraphs, inner_number) = match known {
        Some((p, n)) => {
            parts.known_body = true;
            (p, n)
        }
        None if parts.known_container => (Vec::new(), None),
        None => match densest_block(rules, html) {
            Some(node) => walk_body(rules, node, true),
            None => (Vec::new(), None),
        },
    };
    if !parts.known_body {
        parts.listing_items = listing_items(html, rules);
    }
    parts.doc_number = doc_number.or(inner_number);
    // A document number printed as a plain first or last paragraph is not body text.
    for index in [paragraphs.len().wrapping_sub(1), 0] {
        if paragraphs
            .get(index)
            .is_some_and(|p| rules.is_doc_number(p))
        {
            let number = paragraphs.remove(index);
            if parts.doc_number.is_none() {
                parts.doc_number = Some(number);
            }
        }
    }
    if parts.doc_number.as_deref().is_some_and(|n| n.is_empty()) {
        parts.doc_number = None;
    }
    parts.paragraphs = paragraphs;
    parts
}

fn in_svg(node: NodeRef<'_, Node>) -> bool {
    node.ancestors()
        .any(|a| matches!(a.value(), Node::Element(e) if e.name() == "svg"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::profile::SourceProfile;

    fn rules() -> PageRules {
        PageRules::compile(&SourceProfile::builtin("mid.ru").unwrap()).unwrap()
    }

    fn parts(html: &str) -> PageParts {
        extract_parts(&Html::parse_document(html), &rules())
    }

    #[test]
    fn known_markup() {
        let p = parts(
            r##"<html lang="en"><head><title>T - Министерство иностранных дел Российской Федерации</title>
            <link rel="canonical" href="https://mid.ru/en/foreign_policy/news/1950001/">
            <link rel="alternate" hreflang="ru" href="https://mid.ru/ru/foreign_policy/news/1950001/">
            </head><body><header class="header"><p>Advanced settings</p></header>
            <div class="photo-content"><h1 class="photo-content__title"> Title&nbsp;text </h1>
            <div class="photo-content__date">18 July 2024 <span class="photo-content__time">14:30</span></div>
            <div class="photo-gallery">1 of 1 photos in album</div>
            <div class="text article-content">
              <p>First&nbsp;&nbsp;paragraph.</p><p> </p>
              <p>Line one<br>line two</p>
              <h3>Heading</h3>
              <ul><li>Item one</li><li><p>Item two</p></li></ul>
              <table><tr><td>a</td><td></td><td>b</td></tr></table>
              Loose text
              <p class="article-line__note article-line__note_small">1402-18-07-2024</p>
            </div><div class="share">Share</div></div>
            <aside class="sidebar"><p>Other statement</p></aside>
            <footer>© Министерство иностранных дел Российской Федерации</footer></body></html>"##,
        );
        assert_eq!(p.title.as_deref(), Some("Title text"));
        assert_eq!(p.html_lang.as_deref(), Some("en"));
        assert_eq!(p.date_text.as_deref(), Some("18 July 2024 14:30"));
        assert_eq!(p.time_text.as_deref(), Some("14:30"));
        assert_eq!(p.doc_number.as_deref(), Some("1402-18-07-2024"));
        assert_eq!(
            p.paragraphs,
            vec![
                "First paragraph.",
                "Line one\nline two",
                "Heading",
                "Item one",
                "Item two",
                "a | b",
                "Loose text"
            ]
        );
        assert!(p.known_body);
        assert_eq!(p.alternates.len(), 1);
    }

    #[test]
    fn table_of_contents_is_removed() {
        let p = parts(
            r##"<div class="text article-content">
            <p><strong>Содержание</strong></p>
            <p><a href="#1">О ситуации на Украине</a></p>
            <p><a href="#2">О визите</a><br></p>
            <h4 id="1">О ситуации на Украине</h4>
            <p>Текст раздела.</p>
            <p><a href="#top">Назад к оглавлению</a></p>
            <h4 id="2">О визите</h4><p>Ещё текст со <a href="#1">ссылкой</a>.</p>
            <p>Назад к оглавлению</p>
            </div>"##,
        );
        assert_eq!(
            p.paragraphs,
            vec![
                "О ситуации на Украине",
                "Текст раздела.",
                "О визите",
                "Ещё текст со ссылкой."
            ]
        );
    }

    #[test]
    fn announcement_markup() {
        let p = parts(
            r#"<ul class="announcements"><li><h3 class="announcement__title">О встрече</h3>
            <div class="announcement__doc-num">12-03-2024</div>
            <div class="announcement__text"><p>Текст.</p></div></li></ul>"#,
        );
        assert_eq!(p.title.as_deref(), Some("О встрече"));
        assert_eq!(p.doc_number.as_deref(), Some("12-03-2024"));
        assert_eq!(p.paragraphs, vec!["Текст."]);
    }

    #[test]
    fn fallback_takes_the_densest_block() {
        let p = parts(
            r#"<html><head><title>Some page</title></head><body>
            <nav><p>Menu item one that is long enough to matter a lot</p></nav>
            <div class="menu"><p>Another menu entry with many many words in it, really</p></div>
            <div id="content"><h1>Real title</h1><time datetime="2024-07-18T14:30:00+03:00">today</time>
            <p>Body one.</p><p>Body two is here.</p></div>
            <footer><p>Footer text that is very very very long and should never be the body</p></footer>
            </body></html>"#,
        );
        assert!(!p.known_body);
        assert_eq!(p.any_h1.as_deref(), Some("Real title"));
        assert_eq!(p.paragraphs, vec!["Body one.", "Body two is here."]);
        assert_eq!(p.machine_date.as_deref(), Some("2024-07-18T14:30:00+03:00"));
    }

    #[test]
    fn doc_number_as_plain_first_paragraph() {
        let p = parts(
            r#"<div class="text article-content"><p>867-05-05-2023</p><p>Добрый день!</p></div>"#,
        );
        assert_eq!(p.doc_number.as_deref(), Some("867-05-05-2023"));
        assert_eq!(p.paragraphs, vec!["Добрый день!"]);
    }

    #[test]
    fn challenge_markers() {
        let rules = rules();
        assert_eq!(
            rules.challenge_marker(r#"<script src="/TSPD/08abc?type=7"></script>"#),
            Some("/TSPD/")
        );
        assert_eq!(rules.challenge_marker("<p>Hello</p>"), None);
    }
}
