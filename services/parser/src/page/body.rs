//! The walk of a body container that turns it into paragraphs, and the generic extractor
//! that finds a body when the known markup has none (see the module documentation of
//! [`crate::page`]).

use ego_tree::NodeRef;
use html5ever::local_name;
use scraper::node::Element;
use scraper::{Html, Node};

use super::rules::PageRules;
use super::selector::attr_named;
use crate::normalize::{
    LINE_BREAK_MARK, is_alphanumeric, is_space, lowercase, normalize_lines, normalize_ws,
};

/// The text of an element, whitespace normalised. An element boundary is a word boundary:
/// block elements and `<br>` are spaces, and where an inline boundary separates two digits
/// (`<span>30 March 2021</span><span>11:37</span>`) a space is put in too.
pub(super) fn text_of(node: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    let mut boundary = false;
    for edge in node.traverse() {
        let (opening, d) = match edge {
            ego_tree::iter::Edge::Open(d) => (true, d),
            ego_tree::iter::Edge::Close(d) => (false, d),
        };
        match d.value() {
            Node::Text(t) if opening => {
                push_joined(&mut out, &t.text, boundary);
                boundary = false;
            }
            Node::Element(e) if d != node => {
                if e.name() == "br" || is_block(e.name()) {
                    out.push(' ');
                } else {
                    boundary = true;
                }
            }
            _ => {}
        }
    }
    normalize_ws(&out)
}

/// Appends `text` to `out`; after an element boundary, a digit that would run into a digit is
/// kept apart by a space (numbers are never split across elements, dates and times are).
fn push_joined(out: &mut String, text: &str, boundary: bool) {
    if boundary
        && out.chars().next_back().is_some_and(|c| c.is_ascii_digit())
        && text.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        out.push(' ');
    }
    out.push_str(text);
}

/// Block elements: their boundaries are word boundaries in any text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "ul"
            | "ol"
            | "li"
            | "table"
            | "tbody"
            | "thead"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "blockquote"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "main"
            | "dl"
            | "dt"
            | "dd"
            | "pre"
            | "figure"
            | "figcaption"
            | "address"
            | "center"
            | "hr"
    )
}

/// Inline (phrasing) elements: their boundaries are not paragraph or word breaks.
pub(super) fn is_inline(name: &str) -> bool {
    matches!(
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
            | "nobr"
            | "ins"
            | "del"
            | "wbr"
            | "code"
            | "label"
    )
}

/// Elements whose subtree is never text (or is page chrome), by tag name.
pub(super) fn skipped_tag(name: &str) -> bool {
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
    /// An inline element opened or closed since the last text.
    boundary: bool,
}

impl Block {
    fn push(&mut self, text: &str) {
        push_joined(&mut self.text, text, self.boundary);
        self.boundary = false;
    }
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

fn has_child_named(node: NodeRef<'_, Node>, name: &str) -> bool {
    node.children()
        .any(|c| matches!(c.value(), Node::Element(e) if e.name() == name))
}

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
                    self.inline.push(&t.text);
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
            let cells: Vec<NodeRef<'_, Node>> = node
                .children()
                .filter(|c| matches!(c.value(), Node::Element(e) if e.name() == "td" || e.name() == "th"))
                .collect();
            let texts: Vec<String> = cells
                .iter()
                .map(|c| text_of(*c))
                .filter(|t| !t.is_empty())
                .collect();
            // A layout table (old pages): a row of one cell, or cells holding paragraphs or
            // `<br>`-separated text, is a container, not a row of data.
            let layout = texts.len() == 1
                || cells
                    .iter()
                    .any(|c| has_block_child(*c) || has_child_named(*c, "br"));
            if layout {
                for cell in cells {
                    self.container(cell);
                    self.flush();
                }
            } else if !texts.is_empty() {
                self.blocks.push(Block {
                    text: texts.join(" | "),
                    plain_text: true,
                    ..Block::default()
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
        let inline = is_inline(name);
        if inline {
            let hash = name == "a"
                && attr_named(el, &local_name!("href"))
                    .is_some_and(|h| h.trim_start().starts_with('#'));
            let mut block = std::mem::take(&mut self.inline);
            block.boundary = true;
            collect_children(self.rules, node, &mut block, hash);
            block.boundary = true;
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
                block.push(&t.text);
            }
            Node::Element(el) => {
                let name = el.name();
                if name == "br" {
                    block.text.push(LINE_BREAK_MARK);
                } else if rules.chrome_element(child, el) {
                } else {
                    let block_level = is_block(name);
                    if block_level {
                        block.text.push(' ');
                    } else {
                        block.boundary = true;
                    }
                    let hash = in_hash_link
                        || (name == "a"
                            && attr_named(el, &local_name!("href"))
                                .is_some_and(|h| h.trim_start().starts_with('#')));
                    collect_children(rules, child, block, hash);
                    if block_level {
                        block.text.push(' ');
                    } else {
                        block.boundary = true;
                    }
                }
            }
            _ => {}
        }
    }
}

fn key(text: &str) -> String {
    lowercase(text.trim_matches(|c: char| !is_alphanumeric(c)))
}

/// The paragraphs of one block's text: two `<br>` in a row (old pages' paragraph break, with
/// nothing but whitespace between them) end a paragraph; a single one is a line break.
fn paragraph_breaks(text: &str) -> Vec<&str> {
    if !text.contains(LINE_BREAK_MARK) {
        return vec![text];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut last_mark: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c == LINE_BREAK_MARK {
            if let Some(prev) = last_mark
                && text[prev + c.len_utf8()..i].chars().all(is_space)
            {
                out.push(&text[start..prev]);
                start = i + c.len_utf8();
                last_mark = None;
                continue;
            }
            last_mark = Some(i);
        } else if !is_space(c) {
            last_mark = None;
        }
    }
    out.push(&text[start..]);
    out
}

/// Turns walked blocks into paragraphs: normalised, TOC and chrome removed.
fn finish(rules: &PageRules, blocks: Vec<Block>) -> Vec<String> {
    let has_toc_links = blocks.iter().any(|b| b.hash_link_text && !b.plain_text);
    let mut out = Vec::with_capacity(blocks.len());
    let pieces = blocks.iter().flat_map(|block| {
        paragraph_breaks(&block.text)
            .into_iter()
            .map(move |piece| (block, piece))
    });
    for (block, piece) in pieces {
        let text = normalize_lines(piece);
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

pub(super) fn walk_body(
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
pub(super) fn in_chrome(rules: &PageRules, node: NodeRef<'_, Node>) -> bool {
    node.ancestors().any(
        |a| matches!(a.value(), Node::Element(e) if e.name() != "head" && rules.chrome_element(a, e)),
    )
}

/// The generic main-content extractor: the element whose direct `<p>` children hold the most
/// text, outside page chrome.
pub(super) fn densest_block<'a>(rules: &PageRules, html: &'a Html) -> Option<NodeRef<'a, Node>> {
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
