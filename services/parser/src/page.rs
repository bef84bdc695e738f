//! DOM extraction: one parse, one pass over the tree to find the known parts, then a walk of
//! the body container that turns it into paragraphs.
//!
//! Known markup (see `/work/shared/reference/mid-ru.md`): title `h1.photo-content__title`
//! (announcements: `h3.announcement__title`), date `.photo-content__date` (+
//! `.photo-content__time`), document number `p.article-line__note.article-line__note_small` /
//! `div.announcement__doc-num`, body `div.text.article-content` / `div.announcement__text`.
//! When no known body has text, a generic extractor takes the element whose `<p>` children
//! hold the most text outside page chrome; the record is then marked `fallback`.
//!
//! Body rules: `<p>`, headings, list items, `<dt>/<dd>`, `<blockquote>` and `<pre>` are
//! paragraphs; a table row is one paragraph of its non-empty cells joined by " | "; text
//! directly in a container is a paragraph, split at `<br>`; a `<br>` inside a paragraph is a
//! newline ([`crate::normalize::LINE_BREAK`]); empty paragraphs are dropped. The table of
//! contents of briefings (a "Contents"/"Содержание" heading and paragraphs made only of
//! links to `#` anchors) and "Back to contents"/"Назад к оглавлению" links are removed, and so
//! is any page chrome (photo counters, copyright line, "Additional materials", share bars).

use std::sync::LazyLock;

use ego_tree::NodeRef;
use regex::Regex;
use scraper::node::Element;
use scraper::{Html, Node};

use crate::normalize::{LINE_BREAK_MARK, normalize_lines, normalize_ws};

/// Markers of the anti-bot challenge page.
pub const CHALLENGE_MARKERS: &[&str] = &[
    "/TSPD/",
    "window[\"bobcmn\"]",
    "bobcmn",
    "Please enable JavaScript",
    "Data processing... Please, wait.",
];

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
    /// `link[rel=alternate][hreflang]`: (hreflang, href).
    pub alternates: Vec<(String, String)>,
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
}

/// An attribute's value. `Element::attr` interns the name into an atom on every call; the
/// attribute list of an element is short, so a scan by string is cheaper.
fn attr<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
}

// Classes are read from the raw attribute: `Element::classes` interns every class name into
// a global atom table on first use, which costs more than the whole rest of the walk.
fn has_class(el: &Element, class: &str) -> bool {
    attr(el, "class").is_some_and(|c| class_list_has(c, class))
}

fn class_list_has(classes: &str, class: &str) -> bool {
    classes.split_ascii_whitespace().any(|c| c == class)
}

fn text_of(node: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for d in node.descendants() {
        if let Node::Text(t) = d.value() {
            out.push_str(&t.text);
        } else if let Node::Element(e) = d.value()
            && e.name() == "br"
        {
            out.push(' ');
        }
    }
    normalize_ws(&out)
}

/// Elements whose subtree is never text (or is page chrome), by tag name.
fn skipped_tag(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "iframe"
            | "form"
            | "button"
            | "svg"
            | "nav"
            | "header"
            | "footer"
            | "aside"
            | "select"
            | "input"
            | "img"
            | "video"
            | "audio"
            | "object"
            | "head"
            | "menu"
    )
}

/// Class or id fragments of page chrome.
const CHROME_CLASS_PARTS: &[&str] = &[
    "share",
    "photo-gallery",
    "gallery",
    "additional-materials",
    "sidebar",
    "breadcrumb",
    "menu",
    "header",
    "footer",
    "social",
    "search",
    "lang-switch",
    "language",
    "banner",
    "cookie",
    "related",
    "announce__meta",
    "print",
];

fn chrome_element(el: &Element) -> bool {
    if skipped_tag(el.name()) {
        return true;
    }
    let is_chrome = |v: &str| CHROME_CLASS_PARTS.iter().any(|p| v.contains(p));
    attr(el, "class").is_some_and(is_chrome) || attr(el, "id").is_some_and(is_chrome)
}

fn is_doc_number_el(el: &Element) -> bool {
    (el.name() == "p" || el.name() == "div" || el.name() == "span")
        && ((has_class(el, "article-line__note") && has_class(el, "article-line__note_small"))
            || has_class(el, "announcement__doc-num"))
}

static DOC_NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:\d{1,7}-)?\d{2}-\d{2}-\d{4}$").ok());

/// Whether `text` has the shape of a document number (`1897-09-10-2017`, `09-10-2017`).
pub fn is_doc_number(text: &str) -> bool {
    DOC_NUMBER.as_ref().is_some_and(|r| r.is_match(text))
}

#[derive(Debug, Default)]
struct Block {
    text: String,
    /// Text outside `#` links seen.
    plain_text: bool,
    /// Text inside `#` links seen.
    hash_link_text: bool,
}

#[derive(Default)]
struct Walker {
    /// Generic extraction: the title (`h1`) and date (`time`) sit beside the text.
    fallback: bool,
    blocks: Vec<Block>,
    inline: Block,
    doc_number: Option<String>,
}

const PARAGRAPH_TAGS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dt",
    "dd",
    "pre",
    "caption",
    "figcaption",
    "address",
];
const CONTAINER_IF_BLOCKS: &[&str] = &["li", "blockquote", "td", "th"];
const BLOCK_CHILDREN: &[&str] = &[
    "p",
    "div",
    "ul",
    "ol",
    "table",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "dl",
    "pre",
];

fn has_block_child(node: NodeRef<'_, Node>) -> bool {
    node.children()
        .any(|c| matches!(c.value(), Node::Element(e) if BLOCK_CHILDREN.contains(&e.name())))
}

impl Walker {
    fn flush(&mut self) {
        let block = std::mem::take(&mut self.inline);
        if !block.text.trim().is_empty() {
            self.blocks.push(block);
        }
    }

    fn container(&mut self, node: NodeRef<'_, Node>) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => {
                    if !t.trim().is_empty() {
                        self.inline.plain_text = true;
                    }
                    self.inline.text.push_str(&t.text);
                }
                Node::Element(el) => self.element(child, el),
                _ => {}
            }
        }
    }

    fn element(&mut self, node: NodeRef<'_, Node>, el: &Element) {
        let name = el.name();
        if is_doc_number_el(el) {
            self.flush();
            let text = text_of(node);
            if !text.is_empty() && self.doc_number.is_none() {
                self.doc_number = Some(text);
            }
            return;
        }
        if chrome_element(el) || (self.fallback && matches!(name, "h1" | "time")) {
            return;
        }
        if name == "br" {
            self.flush();
            return;
        }
        if name == "tr" {
            self.flush();
            let cells: Vec<String> = node
                .children()
                .filter(|c| matches!(c.value(), Node::Element(e) if e.name() == "td" || e.name() == "th"))
                .map(text_of)
                .filter(|t| !t.is_empty())
                .collect();
            if !cells.is_empty() {
                self.blocks.push(Block {
                    text: cells.join(" | "),
                    plain_text: true,
                    hash_link_text: false,
                });
            }
            return;
        }
        let paragraph = PARAGRAPH_TAGS.contains(&name)
            || (CONTAINER_IF_BLOCKS.contains(&name) && !has_block_child(node));
        if paragraph {
            self.flush();
            let mut block = Block::default();
            collect(node, &mut block, false);
            if !block.text.trim().is_empty() {
                self.blocks.push(block);
            }
            return;
        }
        let inline = matches!(
            name,
            "span"
                | "a"
                | "strong"
                | "b"
                | "em"
                | "i"
                | "u"
                | "sup"
                | "sub"
                | "font"
                | "small"
                | "big"
                | "mark"
                | "abbr"
                | "cite"
                | "q"
                | "s"
                | "time"
        );
        if inline {
            let hash =
                name == "a" && attr(el, "href").is_some_and(|h| h.trim_start().starts_with('#'));
            let mut block = std::mem::take(&mut self.inline);
            collect_children(node, &mut block, hash);
            self.inline = block;
        } else {
            self.flush();
            self.container(node);
            self.flush();
        }
    }
}

fn collect(node: NodeRef<'_, Node>, block: &mut Block, in_hash_link: bool) {
    collect_children(node, block, in_hash_link);
}

fn collect_children(node: NodeRef<'_, Node>, block: &mut Block, in_hash_link: bool) {
    for child in node.children() {
        match child.value() {
            Node::Text(t) => {
                if !t.trim().is_empty() {
                    if in_hash_link {
                        block.hash_link_text = true;
                    } else {
                        block.plain_text = true;
                    }
                }
                block.text.push_str(&t.text);
            }
            Node::Element(el) => {
                let name = el.name();
                if name == "br" {
                    block.text.push(LINE_BREAK_MARK);
                } else if chrome_element(el) {
                } else {
                    let block_level = BLOCK_CHILDREN.contains(&name) || name == "li";
                    if block_level {
                        block.text.push(' ');
                    }
                    let hash = in_hash_link
                        || (name == "a"
                            && attr(el, "href").is_some_and(|h| h.trim_start().starts_with('#')));
                    collect_children(child, block, hash);
                    if block_level {
                        block.text.push(' ');
                    }
                }
            }
            _ => {}
        }
    }
}

const TOC_HEADINGS: &[&str] = &["contents", "содержание", "оглавление", "table of contents"];
const BACK_LINKS: &[&str] = &[
    "back to contents",
    "назад к оглавлению",
    "back to the contents",
    "к оглавлению",
    "назад к содержанию",
    "back to top",
    "наверх",
];

static CHROME_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\d+\s+(?:of|из)\s+\d+\s+(?:photos?\s+in\s+(?:the\s+)?album|фотографи[йия]\s+в\s+альбоме)|©.*|additional materials|дополнительные материалы|advanced settings|расширенный поиск|share|поделиться)$",
    )
    .ok()
});

fn key(text: &str) -> String {
    text.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// Turns walked blocks into paragraphs: normalised, TOC and chrome removed.
fn finish(blocks: Vec<Block>) -> Vec<String> {
    let has_toc_links = blocks.iter().any(|b| b.hash_link_text && !b.plain_text);
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks {
        let text = normalize_lines(&block.text);
        if text.is_empty() {
            continue;
        }
        if block.hash_link_text && !block.plain_text {
            continue; // a table-of-contents entry or a "back to contents" link
        }
        // Navigation lines and chrome are short: only short paragraphs are compared.
        if text.len() <= 120 {
            let k = key(&text);
            if BACK_LINKS.contains(&k.as_str()) {
                continue;
            }
            if has_toc_links && TOC_HEADINGS.contains(&k.as_str()) {
                continue;
            }
            if CHROME_LINE.as_ref().is_some_and(|r| r.is_match(&text)) {
                continue;
            }
        }
        out.push(text);
    }
    out
}

fn walk_body(node: NodeRef<'_, Node>, fallback: bool) -> (Vec<String>, Option<String>) {
    let mut walker = Walker {
        fallback,
        ..Walker::default()
    };
    walker.container(node);
    walker.flush();
    let doc_number = walker.doc_number.take();
    (finish(walker.blocks), doc_number)
}

/// Whether an element is inside page chrome (header, nav, footer, aside, menus, share bars).
fn in_chrome(node: NodeRef<'_, Node>) -> bool {
    node.ancestors()
        .any(|a| matches!(a.value(), Node::Element(e) if chrome_element(e) && e.name() != "head"))
}

/// The generic main-content extractor: the element whose direct `<p>` children hold the most
/// text, outside page chrome.
fn densest_block<'a>(html: &'a Html) -> Option<NodeRef<'a, Node>> {
    let mut scores: Vec<(ego_tree::NodeId, usize)> = Vec::new();
    for node in html.tree.root().descendants() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        if el.name() != "p" {
            continue;
        }
        let Some(parent) = node.parent() else {
            continue;
        };
        if in_chrome(node) {
            continue;
        }
        let len = text_of(node).chars().count();
        if len == 0 {
            continue;
        }
        match scores.iter_mut().find(|(id, _)| *id == parent.id()) {
            Some((_, score)) => *score += len,
            None => scores.push((parent.id(), len)),
        }
    }
    let best = scores.into_iter().max_by_key(|(_, score)| *score)?;
    html.tree.get(best.0)
}

/// Extracts the parts of a parsed page.
pub fn extract_parts(html: &Html) -> PageParts {
    let mut parts = PageParts::default();
    let mut body: Option<NodeRef<'_, Node>> = None;
    let mut announcement_body: Option<NodeRef<'_, Node>> = None;
    let mut announcement_title: Option<String> = None;
    let mut doc_number: Option<String> = None;
    let mut date_node: Option<NodeRef<'_, Node>> = None;
    let mut tag_nodes: Vec<NodeRef<'_, Node>> = Vec::new();
    for node in html.tree.root().descendants() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        match el.name() {
            "html" if parts.html_lang.is_none() => {
                parts.html_lang = attr(el, "lang").map(|l| l.trim().to_string());
            }
            "title" if parts.head_title.is_none() && !in_svg(node) => {
                parts.head_title = Some(text_of(node));
            }
            "link" => {
                let rel = attr(el, "rel").unwrap_or_default().to_ascii_lowercase();
                let href = attr(el, "href").map(|h| h.trim().to_string());
                if rel.split_whitespace().any(|r| r == "canonical") {
                    if parts.canonical.is_none() {
                        parts.canonical = href;
                    }
                } else if rel.split_whitespace().any(|r| r == "alternate")
                    && let (Some(lang), Some(href)) = (attr(el, "hreflang"), href)
                {
                    parts.alternates.push((lang.trim().to_string(), href));
                }
            }
            "meta" => {
                let prop = attr(el, "property")
                    .or_else(|| attr(el, "name"))
                    .or_else(|| attr(el, "itemprop"))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let content = attr(el, "content").map(|c| c.trim().to_string());
                match prop.as_str() {
                    "og:url" if parts.og_url.is_none() => parts.og_url = content,
                    "article:published_time" | "datepublished" | "date"
                        if parts.machine_date.is_none() =>
                    {
                        parts.machine_date = content
                    }
                    _ => {}
                }
            }
            "time" => {
                if parts.machine_date.is_none()
                    && let Some(dt) = attr(el, "datetime")
                    && !in_chrome(node)
                {
                    parts.machine_date = Some(dt.trim().to_string());
                }
            }
            "h1" => {
                if has_class(el, "photo-content__title") {
                    if parts.title.is_none() {
                        parts.title = Some(text_of(node)).filter(|t| !t.is_empty());
                    }
                } else if parts.any_h1.is_none() && !in_chrome(node) {
                    parts.any_h1 = Some(text_of(node)).filter(|t| !t.is_empty());
                }
            }
            "h3" if announcement_title.is_none() && has_class(el, "announcement__title") => {
                announcement_title = Some(text_of(node)).filter(|t| !t.is_empty());
            }
            "div"
                if body.is_none() && has_class(el, "text") && has_class(el, "article-content") =>
            {
                body = Some(node);
            }
            "div" if announcement_body.is_none() && has_class(el, "announcement__text") => {
                announcement_body = Some(node);
            }
            _ => {}
        }
        if is_doc_number_el(el) && doc_number.is_none() {
            doc_number = Some(text_of(node)).filter(|t| !t.is_empty());
        }
        if (has_class(el, "photo-content__date") || has_class(el, "announcement__date"))
            && date_node.is_none()
        {
            date_node = Some(node);
        }
        if (has_class(el, "photo-content__time") || has_class(el, "announcement__time"))
            && parts.time_text.is_none()
        {
            parts.time_text = Some(text_of(node));
        }
        if attr(el, "class").is_some_and(|c| {
            c.split_ascii_whitespace().any(|c| {
                matches!(
                    c,
                    "tags" | "article-tags" | "photo-content__tags" | "tags-list" | "article__tags"
                )
            })
        }) && !node.ancestors().any(|a| {
            matches!(a.value(), Node::Element(e) if e.name() == "aside"
                || attr(e, "class").is_some_and(|c| c.contains("sidebar")))
        }) {
            tag_nodes.push(node);
        }
    }
    if let Some(date) = date_node {
        parts.date_text = Some(text_of(date));
    }
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
    if parts.title.is_none() {
        parts.title = announcement_title;
    }
    parts.known_container = body.is_some() || announcement_body.is_some();
    let known = [body, announcement_body]
        .into_iter()
        .flatten()
        .find_map(|node| {
            let (paragraphs, number) = walk_body(node, false);
            (!paragraphs.is_empty()).then_some((paragraphs, number))
        });
    let (mut paragraphs, inner_number) = match known {
        Some((p, n)) => {
            parts.known_body = true;
            (p, n)
        }
        None if parts.known_container => (Vec::new(), None),
        None => match densest_block(html) {
            Some(node) => walk_body(node, true),
            None => (Vec::new(), None),
        },
    };
    parts.doc_number = doc_number.or(inner_number);
    // A document number printed as a plain first or last paragraph is not body text.
    for index in [paragraphs.len().wrapping_sub(1), 0] {
        if paragraphs.get(index).is_some_and(|p| is_doc_number(p)) {
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

/// The challenge marker present in the page text, if any.
pub fn challenge_marker(text: &str) -> Option<&'static str> {
    CHALLENGE_MARKERS.iter().copied().find(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(html: &str) -> PageParts {
        extract_parts(&Html::parse_document(html))
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
        assert_eq!(
            challenge_marker(r#"<script src="/TSPD/08abc?type=7"></script>"#),
            Some("/TSPD/")
        );
        assert_eq!(challenge_marker("<p>Hello</p>"), None);
    }
}
