//! Compiled CSS selectors with a cheap pre-test on the raw attributes, and attribute access
//! that does not intern names.

use ego_tree::NodeRef;
use html5ever::{LocalName, local_name};
use scraper::node::Element;
use scraper::{ElementRef, Node, Selector};
use shared::profile::{ProfileError, SourceProfile, compile_selector};

/// What an element must have to match one alternative of a selector: the tag, classes and
/// id of its last compound. A cheap test on the raw attributes that rules out almost every
/// element before the full selector runs.
#[derive(Debug, Clone, Default)]
pub(super) struct Need {
    tag: Option<LocalName>,
    classes: Vec<String>,
    id: Option<String>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// The last compound selector of one alternative (after the last top-level combinator).
pub(super) fn last_compound(alternative: &str) -> &str {
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

pub(super) fn need_of(compound: &str) -> Need {
    let mut need = Need::default();
    let tag: String = compound.chars().take_while(|c| is_ident(*c)).collect();
    if !tag.is_empty() {
        need.tag = Some(LocalName::from(tag.to_ascii_lowercase()));
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
pub(super) fn alternatives(css: &str) -> Vec<&str> {
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
            n.tag.as_ref().is_none_or(|t| el.name.local == *t)
                && n.id.as_deref().is_none_or(|i| id_of(el) == Some(i))
                && (n.classes.is_empty()
                    || class_of(el).is_some_and(|c| n.classes.iter().all(|k| class_list_has(c, k))))
        })
    }

    /// Whether the element at `node` matches.
    pub fn matches(&self, node: NodeRef<'_, Node>, el: &Element) -> bool {
        self.quick(el) && ElementRef::wrap(node).is_some_and(|e| self.full.matches(&e))
    }
}

/// A pre-test shared by a group of selectors: an element can match one of them only if its
/// tag, one of its classes or its id is one of the group's anchors (each alternative's first
/// needed class, else its id, else its tag). One scan of the element's attributes (names
/// compared as atoms) and, per class, a look at the few anchors of the same length rule out
/// an element for the whole group, instead of a pre-test per alternative.
#[derive(Debug, Clone, Default)]
pub(super) struct Prefilter {
    /// An alternative needs no tag, class or id (`[attr]`, `*`, `:is(…)`): every element.
    any: bool,
    tags: Vec<LocalName>,
    /// The anchor classes by length in bytes: `classes[n]` holds those of `n` bytes.
    classes: Vec<Vec<String>>,
    ids: Vec<String>,
}

impl Prefilter {
    /// The pre-test of every selector of `selectors`.
    pub(super) fn of<'a>(selectors: impl IntoIterator<Item = &'a FastSelector>) -> Self {
        let mut filter = Prefilter::default();
        for need in selectors.into_iter().flat_map(|s| &s.needs) {
            if let Some(class) = need.classes.first() {
                if filter.classes.len() <= class.len() {
                    filter.classes.resize(class.len() + 1, Vec::new());
                }
                let same_length = &mut filter.classes[class.len()];
                if !same_length.contains(class) {
                    same_length.push(class.clone());
                }
            } else if let Some(id) = &need.id {
                if !filter.ids.contains(id) {
                    filter.ids.push(id.clone());
                }
            } else if let Some(tag) = &need.tag {
                if !filter.tags.contains(tag) {
                    filter.tags.push(tag.clone());
                }
            } else {
                filter.any = true;
            }
        }
        filter
    }

    /// Whether the element may match one of the group's selectors (a necessary condition of
    /// each one's own pre-test).
    pub(super) fn may_match(&self, el: &Element) -> bool {
        if self.any || self.tags.contains(&el.name.local) {
            return true;
        }
        el.attrs.iter().any(|(name, value)| {
            if name.local == local_name!("class") {
                value.split_ascii_whitespace().any(|c| {
                    self.classes
                        .get(c.len())
                        .is_some_and(|same_length| same_length.iter().any(|k| k == c))
                })
            } else if name.local == local_name!("id") {
                self.ids.iter().any(|i| **i == **value)
            } else {
                false
            }
        })
    }
}

pub(super) fn compile_list(
    profile: &SourceProfile,
    key: &str,
    list: &[String],
) -> Result<Vec<FastSelector>, ProfileError> {
    list.iter()
        .enumerate()
        .map(|(i, css)| FastSelector::compile(profile, &format!("{key}[{i}]"), css))
        .collect()
}

/// An attribute's value, by a name known only at run time (a profile's `lang_attr`).
/// `Element::attr` interns the name into an atom on every call; the attribute list of an
/// element is short, so a scan by string is cheaper.
pub(super) fn attr<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// An attribute's value, by a name known when compiling (`local_name!("href")`): the names
/// compare as atoms, one integer comparison per attribute.
pub(super) fn attr_named<'a>(el: &'a Element, name: &LocalName) -> Option<&'a str> {
    el.attrs
        .iter()
        .find(|(k, _)| k.local == *name)
        .map(|(_, v)| &**v)
}

/// The element's `class` attribute.
pub(super) fn class_of(el: &Element) -> Option<&str> {
    attr_named(el, &local_name!("class"))
}

/// The element's `id` attribute.
pub(super) fn id_of(el: &Element) -> Option<&str> {
    attr_named(el, &local_name!("id"))
}

// Classes are read from the raw attribute: `Element::classes` interns every class name into
// a global atom table on first use, which costs more than the whole rest of the walk.
pub(super) fn class_list_has(classes: &str, class: &str) -> bool {
    classes.split_ascii_whitespace().any(|c| c == class)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn prefilter_is_a_necessary_condition() {
        let profile = SourceProfile::builtin("mid.ru").unwrap();
        let selectors: Vec<FastSelector> = [
            "h1.photo-content__title",
            "div.text.article-content",
            "link[rel~=alternate][hreflang]",
            "#main .lead",
        ]
        .iter()
        .map(|css| FastSelector::compile(&profile, "test", css).unwrap())
        .collect();
        let filter = Prefilter::of(&selectors);
        let html = scraper::Html::parse_document(
            r#"<html><head><link rel="alternate" hreflang="en" href="/en/"></head><body>
            <h1 class="x photo-content__title">T</h1><div class="article-content text">B</div>
            <div id="main"><p class="lead">L</p><p class="other">O</p></div>
            <ul class="menu"><li><a href="/">M</a></li></ul></body></html>"#,
        );
        let mut passed = Vec::new();
        for node in html.tree.root().descendants() {
            let Node::Element(el) = node.value() else {
                continue;
            };
            let matched = selectors.iter().any(|s| s.matches(node, el));
            assert!(!matched || filter.may_match(el), "{}", el.name());
            if filter.may_match(el) {
                passed.push(el.name().to_string());
            }
        }
        assert_eq!(passed, vec!["link", "h1", "div", "p"]);
    }
}
