//! DOM extraction: one parse, one pass over the tree to find the known parts, then a walk of
//! the body container that turns it into paragraphs.
//!
//! The known parts are the source profile's selectors (`[parse.selectors]`, compiled once into
//! [`PageRules`]): title, date, time, place, body, tags, document number, language
//! alternates (mid.ru: title `h1.photo-content__title`, date `.photo-content__date`, body
//! `div.text.article-content`, …). When no known body has text, a generic extractor takes the
//! element whose `<p>` children hold the most text outside page chrome; the record is then
//! marked `fallback`.
//!
//! Body rules: `<p>`, headings, list items, `<dt>/<dd>`, `<blockquote>` and `<pre>` are
//! paragraphs; a table row is one paragraph of its non-empty cells joined by " | "; text
//! directly in a container is a paragraph, split at `<br>`; a `<br>` inside a paragraph is a
//! newline ([`crate::normalize::LINE_BREAK`]); empty paragraphs are dropped. A table of
//! contents (a heading of `chrome.toc_headings` and paragraphs made only of links to `#`
//! anchors) and `chrome.back_links` are removed, and so is any page chrome
//! (`[parse.chrome]`: class fragments, selectors, whole chrome lines).

use ego_tree::NodeRef;
use regex::Regex;
use scraper::node::Element;
use scraper::{ElementRef, Html, Node, Selector};
use shared::profile::{ProfileError, SourceProfile, compile_regex, compile_selector};

use crate::normalize::{LINE_BREAK_MARK, normalize_lines, normalize_ws};

/// What an element must have to match one alternative of a selector: the tag, classes and
/// id of its last compound. A cheap test on the raw attributes that rules out almost every
/// element before the full selector runs.
#[derive(Debug, Clone, Default)]
struct Need {
    tag: Option<String>,
    classes: Vec<String>,
    id: Option<String>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// The last compound selector of one alternative (after the last top-level combinator).
fn last_compound(alternative: &str) -> &str {
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in alternative.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ' ' | '>' | '+' | '~' | '\t' | '\n' if depth == 0 => start = i + c.len_utf8(),
            _ => {}
        }
    }
    &alternative[start..]
}

fn need_of(compound: &str) -> Need {
    let mut need = Need::default();
    let tag: String = compound.chars().take_while(|c| is_ident(*c)).collect();
    if !tag.is_empty() {
        need.tag = Some(tag.to_ascii_lowercase());
    }
    let mut rest = &compound[compound.len() - compound.trim_start_matches(is_ident).len()..];
    loop {
        let mut chars = rest.chars();
        let Some(kind) = chars.next() else { break };
        if kind != '.' && kind != '#' {
            break; // `[`, `:`, `*`: nothing more is needed for sure
        }
        let name: String = chars.take_while(|c| is_ident(*c)).collect();
        if name.is_empty() {
            break;
        }
        rest = &rest[1 + name.len()..];
        if kind == '.' {
            need.classes.push(name);
        } else {
            need.id = Some(name);
        }
    }
    need
}

/// Splits a selector list at its top-level commas.
fn alternatives(css: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in css.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(css[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(css[start..].trim());
    out
}

/// A compiled CSS selector with a quick pre-test (see [`Need`]).
#[derive(Debug, Clone)]
pub struct FastSelector {
    needs: Vec<Need>,
    full: Selector,
}

impl FastSelector {
    /// Compiles the selector at `key` of `profile`.
    pub fn compile(profile: &SourceProfile, key: &str, css: &str) -> Result<Self, ProfileError> {
        let full = compile_selector(profile, key, css)?;
        let needs = alternatives(css)
            .into_iter()
            .map(|a| need_of(last_compound(a)))
            .collect();
        Ok(FastSelector { needs, full })
    }

    fn quick(&self, el: &Element) -> bool {
        self.needs.iter().any(|n| {
            n.tag.as_deref().is_none_or(|t| el.name() == t)
                && n.id.as_deref().is_none_or(|i| attr(el, "id") == Some(i))
                && (n.classes.is_empty()
                    || attr(el, "class")
                        .is_some_and(|c| n.classes.iter().all(|k| class_list_has(c, k))))
        })
    }

    /// Whether the element at `node` matches.
    pub fn matches(&self, node: NodeRef<'_, Node>, el: &Element) -> bool {
        self.quick(el) && ElementRef::wrap(node).is_some_and(|e| self.full.matches(&e))
    }
}

fn compile_list(
    profile: &SourceProfile,
    key: &str,
    list: &[String],
) -> Result<Vec<FastSelector>, ProfileError> {
    list.iter()
        .enumerate()
        .map(|(i, css)| FastSelector::compile(profile, &format!("{key}[{i}]"), css))
        .collect()
}

/// A source's page markup and chrome, compiled once (`[parse.selectors]`, `[parse.chrome]`,
/// `parse.doc_number_pattern`, the anti-bot markers of `[fetch]`).
#[derive(Debug, Clone)]
pub struct PageRules {
    title: Vec<FastSelector>,
    date: Vec<FastSelector>,
    time: Vec<FastSelector>,
    place: Vec<FastSelector>,
    body: Vec<FastSelector>,
    tags: Vec<FastSelector>,
    doc_number: Vec<FastSelector>,
    alternates: Vec<(FastSelector, Option<String>)>,
    chrome_fragments: Vec<String>,
    chrome: Vec<FastSelector>,
    chrome_line: Option<Regex>,
    toc_headings: Vec<String>,
    back_links: Vec<String>,
    doc_number_shape: Option<Regex>,
    challenge_markers: Vec<String>,
    /// The first body selector as written, for messages.
    body_css: String,
    /// The first title selector as written, for messages.
    title_css: String,
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
        Ok(PageRules {
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
            body_css: s.body.first().cloned().unwrap_or_default(),
            title_css: s.title.first().cloned().unwrap_or_default(),
        })
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

    fn chrome_element(&self, node: NodeRef<'_, Node>, el: &Element) -> bool {
        if skipped_tag(el.name()) {
            return true;
        }
        let is_chrome = |v: &str| self.chrome_fragments.iter().any(|p| v.contains(p.as_str()));
        attr(el, "class").is_some_and(is_chrome)
            || attr(el, "id").is_some_and(is_chrome)
            || self.chrome.iter().any(|s| s.matches(node, el))
    }

    fn is_doc_number_el(&self, node: NodeRef<'_, Node>, el: &Element) -> bool {
        self.doc_number.iter().any(|s| s.matches(node, el))
    }

    /// Whether `text` has the shape of a document number (`1897-09-10-2017`, `09-10-2017`).
    pub fn is_doc_number(&self, text: &str) -> bool {
        self.doc_number_shape
            .as_ref()
            .is_some_and(|r| r.is_match(text))
    }
}

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
}

/// An attribute's value. `Element::attr` interns the name into an atom on every call; the
/// attribute list of an element is short, so a scan by string is cheaper.
fn attr<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
}

// Classes are read from the raw attribute: `Element::classes` interns every class name into
// a global atom table on first use, which costs more than the whole rest of the walk.
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

#[derive(Debug, Default)]
struct Block {
    text: String,
    /// Text outside `#` links seen.
    plain_text: bool,
    /// Text inside `#` links seen.
    hash_link_text: bool,
}

struct Walker<'r> {
    rules: &'r PageRules,
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

impl Walker<'_> {
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
        if self.rules.is_doc_number_el(node, el) {
            self.flush();
            let text = text_of(node);
            if !text.is_empty() && self.doc_number.is_none() {
                self.doc_number = Some(text);
            }
            return;
        }
        if self.rules.chrome_element(node, el) || (self.fallback && matches!(name, "h1" | "time")) {
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
            collect_children(self.rules, node, &mut block, false);
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
            collect_children(self.rules, node, &mut block, hash);
            self.inline = block;
        } else {
            self.flush();
            self.container(node);
            self.flush();
        }
    }
}

fn collect_children(
    rules: &PageRules,
    node: NodeRef<'_, Node>,
    block: &mut Block,
    in_hash_link: bool,
) {
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
                } else if rules.chrome_element(child, el) {
                } else {
                    let block_level = BLOCK_CHILDREN.contains(&name) || name == "li";
                    if block_level {
                        block.text.push(' ');
                    }
                    let hash = in_hash_link
                        || (name == "a"
                            && attr(el, "href").is_some_and(|h| h.trim_start().starts_with('#')));
                    collect_children(rules, child, block, hash);
                    if block_level {
                        block.text.push(' ');
                    }
                }
            }
            _ => {}
        }
    }
}

fn key(text: &str) -> String {
    text.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// Turns walked blocks into paragraphs: normalised, TOC and chrome removed.
fn finish(rules: &PageRules, blocks: Vec<Block>) -> Vec<String> {
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
            if rules.back_links.contains(&k) {
                continue;
            }
            if has_toc_links && rules.toc_headings.contains(&k) {
                continue;
            }
            if rules
                .chrome_line
                .as_ref()
                .is_some_and(|r| r.is_match(&text))
            {
                continue;
            }
        }
        out.push(text);
    }
    out
}

fn walk_body(
    rules: &PageRules,
    node: NodeRef<'_, Node>,
    fallback: bool,
) -> (Vec<String>, Option<String>) {
    let mut walker = Walker {
        rules,
        fallback,
        blocks: Vec::new(),
        inline: Block::default(),
        doc_number: None,
    };
    walker.container(node);
    walker.flush();
    let doc_number = walker.doc_number.take();
    (finish(rules, walker.blocks), doc_number)
}

/// Whether an element is inside page chrome (header, nav, footer, aside, menus, share bars).
fn in_chrome(rules: &PageRules, node: NodeRef<'_, Node>) -> bool {
    node.ancestors().any(
        |a| matches!(a.value(), Node::Element(e) if e.name() != "head" && rules.chrome_element(a, e)),
    )
}

/// The generic main-content extractor: the element whose direct `<p>` children hold the most
/// text, outside page chrome.
fn densest_block<'a>(rules: &PageRules, html: &'a Html) -> Option<NodeRef<'a, Node>> {
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
        if in_chrome(rules, node) {
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

/// The first element matching each selector of a priority list: the first selector whose first
/// match (in document order) has text wins.
struct Firsts<'a> {
    found: Vec<Option<NodeRef<'a, Node>>>,
}

impl<'a> Firsts<'a> {
    fn new(len: usize) -> Self {
        Firsts {
            found: vec![None; len],
        }
    }

    /// Records `node` for every selector it matches that has no non-empty match yet.
    fn offer(&mut self, list: &[FastSelector], node: NodeRef<'a, Node>, el: &Element) {
        for (slot, selector) in self.found.iter_mut().zip(list) {
            if slot.is_none() && selector.matches(node, el) && !text_of(node).is_empty() {
                *slot = Some(node);
            }
        }
    }

    fn text(&self) -> Option<String> {
        self.found.iter().flatten().next().map(|n| text_of(*n))
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
    let mut bodies: Vec<Option<NodeRef<'_, Node>>> = vec![None; rules.body.len()];
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
                if rel.split_whitespace().any(|r| r == "canonical") && parts.canonical.is_none() {
                    parts.canonical = attr(el, "href").map(|h| h.trim().to_string());
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
                    && !in_chrome(rules, node)
                {
                    parts.machine_date = Some(dt.trim().to_string());
                }
            }
            _ => {}
        }
        let is_title = rules.title.iter().any(|s| s.matches(node, el));
        if is_title {
            titles.offer(&rules.title, node, el);
        } else if el.name() == "h1" && parts.any_h1.is_none() && !in_chrome(rules, node) {
            parts.any_h1 = Some(text_of(node)).filter(|t| !t.is_empty());
        }
        for (slot, selector) in bodies.iter_mut().zip(&rules.body) {
            if slot.is_none() && selector.matches(node, el) {
                *slot = Some(node);
            }
        }
        numbers.offer(&rules.doc_number, node, el);
        dates.offer(&rules.date, node, el);
        times.offer(&rules.time, node, el);
        places.offer(&rules.place, node, el);
        for (selector, lang_attr) in &rules.alternates {
            if selector.matches(node, el)
                && let Some(href) = attr(el, "href")
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
                matches!(a.value(), Node::Element(e) if e.name() == "aside"
                    || attr(e, "class").is_some_and(|c| c.contains("sidebar")))
            })
        {
            tag_nodes.push(node);
        }
    }
    parts.title = titles.text();
    parts.date_text = dates.text();
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
    parts.known_container = bodies.iter().any(Option::is_some);
    let known = bodies.into_iter().flatten().find_map(|node| {
        let (paragraphs, number) = walk_body(rules, node, false);
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

    #[test]
    fn selector_pre_tests() {
        let n = need_of(last_compound("ul.announce > li.announce__item#x[data-a]"));
        assert_eq!(n.tag.as_deref(), Some("li"));
        assert_eq!(n.classes, vec!["announce__item"]);
        assert_eq!(n.id.as_deref(), Some("x"));
        let n = need_of(last_compound(".a.b:not(.c)"));
        assert_eq!(
            (n.tag, n.classes),
            (None, vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            alternatives("a, b:is(c, d) , e"),
            vec!["a", "b:is(c, d)", "e"]
        );
    }
}
