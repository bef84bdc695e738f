//! The publishing side of a soak: the fixture site of a source keeps publishing new statements
//! and editing recent ones in its own markup ([`Markup`]), driven by a seed, and the
//! publication log of everything it served.
//!
//! Every generated page carries a marker paragraph `SOAK-{doc_id}-{lang}-r{revision}`; an edit
//! replaces it with the next revision's. The checker finds the markers in the stored records,
//! so it can tell which revision each stored version is without running the parser's code.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDateTime, Timelike, Utc};
use serde::Serialize;

use super::markup::Markup;
use crate::rng::Rng;
use crate::site::SourceSite;
/// Generated statements younger than this are edited.
const RECENT_SECS: f64 = 600.0;

/// What a publication did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A page the site served before the soak began (the bundled corpus), never edited.
    Baseline,
    /// A new statement's page, revision 1.
    Publish,
    /// A new revision of a page.
    Edit,
    /// A new page designed to fail: a statement page without any text (never a record).
    Broken,
}

/// One line of the publication log.
#[derive(Debug, Clone, Serialize)]
pub struct Publication {
    /// Seconds since the soak began.
    pub at: f64,
    /// The record id the page gives (`mid.ru:{doc_id}:{lang}`).
    pub id: String,
    /// What happened.
    pub action: Action,
    /// The page's revision (0 for the baseline, 1 when published).
    pub revision: u32,
    /// The marker of this revision, when generated.
    pub marker: Option<String>,
    /// SHA-256 of the page bytes as served from then on.
    pub sha256: String,
    /// For an edit: whether the revision it replaces was stored when it was replaced. A
    /// revision replaced before it was stored may never be seen by the fetcher, so only
    /// revisions that were stored when replaced (and every last revision) must be stored.
    pub replaced_stored: Option<bool>,
}

/// The marker of a revision of a page.
pub fn marker(doc_id: &str, lang: &str, revision: u32) -> String {
    format!("SOAK-{doc_id}-{lang}-r{revision}")
}

/// Parses a marker into (doc_id, lang, revision).
pub fn parse_marker(text: &str) -> Option<(String, String, u32)> {
    let rest = text.strip_prefix("SOAK-")?;
    let (doc_id, rest) = rest.split_once('-')?;
    let (lang, revision) = rest.split_once("-r")?;
    Some((doc_id.to_string(), lang.to_string(), revision.parse().ok()?))
}

#[derive(Debug)]
struct PageState {
    doc_id: String,
    lang: String,
    revision: u32,
    published: f64,
}

/// Publishes and edits on the fixture site of one source; keeps the publication log.
pub struct Generator {
    site: Arc<SourceSite>,
    markup: Markup,
    /// Chance per second of a new statement, and of an edit, in percent.
    rates: (usize, usize),
    source: String,
    rng: Rng,
    started: Instant,
    next: usize,
    pages: BTreeMap<String, PageState>,
    log: Vec<Publication>,
}

impl Generator {
    /// A generator for `site` (records `{source}:{doc_id}:{lang}`) publishing in `markup`;
    /// logs every page the site serves now as the baseline. mid.ru publishes about every 6 s
    /// and edits about every 5 s, the other sources about every 10 s and 8 s.
    pub fn new(site: Arc<SourceSite>, markup: Markup, seed: u64, started: Instant) -> Generator {
        let salt = site
            .name
            .bytes()
            .fold(0u64, |h, b| h.rotate_left(7) ^ u64::from(b));
        let rates = if markup == Markup::Mid {
            (17, 20)
        } else {
            (10, 12)
        };
        let mut generator = Generator {
            source: site.name.clone(),
            site,
            markup,
            rates,
            rng: Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15 ^ salt),
            started,
            next: 0,
            pages: BTreeMap::new(),
            log: Vec::new(),
        };
        for (doc_id, lang) in generator.site.visible() {
            generator.record(&doc_id, &lang, Action::Baseline, 0, None);
        }
        generator
    }

    /// Never edits the page `id` again (its record was tampered with on purpose).
    pub fn freeze(&mut self, id: &str) {
        self.pages.remove(id);
    }

    /// The publication log so far.
    pub fn log(&self) -> &[Publication] {
        &self.log
    }

    /// One second of publishing: maybe a new statement (the third and one in 25 of the
    /// others designed to fail), maybe an edit of a recent page. `stored` gives each id's revision stored now: edits mostly pick pages whose
    /// current revision is stored, and one in five is a quick re-edit of any recent page.
    pub fn tick(&mut self, stored: &BTreeMap<String, u32>) {
        let (publish, edit) = self.rates;
        if self.rng.percent(publish) {
            let broken = self.next == 2 || self.rng.percent(4);
            self.publish(broken);
        }
        if self.rng.percent(edit) {
            let quick = self.rng.percent(20);
            self.edit(stored, quick);
        }
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn publish(&mut self, broken: bool) {
        let n = self.next;
        self.next += 1;
        let moscow = Utc::now().with_timezone(&chrono_tz::Europe::Moscow);
        let published: NaiveDateTime = moscow
            .naive_local()
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or_else(|| moscow.naive_local());
        let statement = self.markup.statement(n, published);
        let doc_id = statement.meta().doc_id.clone();
        let langs: Vec<String> = statement.meta().titles.keys().cloned().collect();
        // Every host gets it (each serves the pages of its languages).
        for (_, host) in &self.site.hosts {
            host.add(statement.clone());
        }
        let markup = self.markup;
        let start = markup.article_start();
        for lang in &langs {
            let host = self.site.host(lang);
            if broken {
                host.edit(&doc_id, lang, |html| strip_text(html, markup.text_starts()));
                self.record(&doc_id, lang, Action::Broken, 1, None);
            } else {
                let m = marker(&doc_id, lang, 1);
                host.edit(&doc_id, lang, |html| insert_marker(html, start, &m));
                self.record(&doc_id, lang, Action::Publish, 1, Some(m));
            }
        }
        for (_, host) in &self.site.hosts {
            host.release(&doc_id);
        }
    }

    fn edit(&mut self, stored: &BTreeMap<String, u32>, quick: bool) {
        let now = self.now();
        let candidates: Vec<String> = self
            .pages
            .iter()
            .filter(|(_, p)| p.revision > 0 && now - p.published < RECENT_SECS)
            .filter(|(id, p)| quick || stored.get(*id) == Some(&p.revision))
            .map(|(id, _)| id.clone())
            .collect();
        let Some(id) = self.rng.pick(&candidates).cloned() else {
            return;
        };
        let Some(page) = self.pages.get(&id) else {
            return;
        };
        let (doc_id, lang, revision) = (page.doc_id.clone(), page.lang.clone(), page.revision);
        let old = marker(&doc_id, &lang, revision);
        let new = marker(&doc_id, &lang, revision + 1);
        self.site
            .host(&lang)
            .edit(&doc_id, &lang, |html| html.replace(&old, &new));
        let replaced_stored = stored.get(&id) == Some(&revision);
        self.record(&doc_id, &lang, Action::Edit, revision + 1, Some(new));
        if let Some(last) = self.log.last_mut() {
            last.replaced_stored = Some(replaced_stored);
        }
    }

    fn record(
        &mut self,
        doc_id: &str,
        lang: &str,
        action: Action,
        revision: u32,
        marker: Option<String>,
    ) {
        let id = format!("{}:{doc_id}:{lang}", self.source);
        let bytes = self
            .site
            .host(lang)
            .page_bytes(doc_id, lang)
            .unwrap_or_default();
        let at = self.now();
        self.log.push(Publication {
            at,
            id: id.clone(),
            action,
            revision,
            marker,
            sha256: shared::messages::hex_digest(&bytes),
            replaced_stored: None,
        });
        if matches!(action, Action::Publish | Action::Edit) {
            let published = self.pages.get(&id).map_or(at, |p| p.published);
            self.pages.insert(
                id,
                PageState {
                    doc_id: doc_id.to_string(),
                    lang: lang.to_string(),
                    revision,
                    published,
                },
            );
        }
    }
}

/// The page with a marker paragraph at the start of its text (`article_start`: the opening
/// tag of the element holding it, in the source's markup).
fn insert_marker(html: String, article_start: &str, marker: &str) -> String {
    let paragraph = format!("{article_start}\n<p>Edition {marker} of this text.</p>");
    html.replacen(article_start, &paragraph, 1)
}

/// The page without any text (everything from each of `text_starts` to the next `</div>`
/// gone): a statement page the parser must reject.
fn strip_text(mut html: String, text_starts: &[&str]) -> String {
    for text_start in text_starts {
        let Some(start) = html.find(text_start) else {
            continue;
        };
        let body_start = start + text_start.len();
        let end = html[body_start..]
            .find("</div>")
            .map_or(html.len(), |i| body_start + i);
        html.replace_range(body_start..end, "");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let m = marker("4000012", "ru", 3);
        assert_eq!(m, "SOAK-4000012-ru-r3");
        assert_eq!(parse_marker(&m), Some(("4000012".into(), "ru".into(), 3)));
        assert_eq!(parse_marker("SOAK-x"), None);
    }

    #[test]
    fn marker_goes_into_the_text_and_broken_pages_lose_it() {
        let start = Markup::Mid.article_start();
        let html = format!("<h1>T</h1>{start}\n<p>Body text.</p>\n</div><div class=\"share\">");
        let marked = insert_marker(html.clone(), start, "SOAK-1-en-r1");
        assert!(marked.contains("<p>Edition SOAK-1-en-r1 of this text.</p>\n<p>Body text.</p>"));
        let stripped = strip_text(html, Markup::Mid.text_starts());
        assert!(!stripped.contains("Body text"));
        assert!(stripped.contains("<h1>T</h1>"));
    }

    #[test]
    fn every_markup_takes_the_marker_and_loses_its_text() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(15, 4, 0))
            .unwrap_or_default();
        for markup in [Markup::Mid, Markup::Kremlin, Markup::Fmprc] {
            let s = markup.statement(1, at);
            for lang in s.meta().titles.keys() {
                let html = s.page_html(lang);
                let marked = insert_marker(html.clone(), markup.article_start(), "SOAK-9-en-r1");
                assert!(marked.contains("Edition SOAK-9-en-r1"), "{markup:?}");
                let stripped = strip_text(html.clone(), markup.text_starts());
                assert!(stripped.len() < html.len(), "{markup:?}");
                for start in markup.text_starts() {
                    let after = stripped
                        .split_once(start)
                        .map(|(_, rest)| rest.trim_start())
                        .unwrap_or_default();
                    assert!(after.starts_with("</div>"), "{markup:?} {lang}: {after}");
                }
                // No sentence of the statement's text elements is left anywhere on the page.
                for start in markup.text_starts() {
                    let text = html
                        .split_once(start)
                        .and_then(|(_, rest)| rest.split_once("</div>"))
                        .map(|(text, _)| text)
                        .unwrap_or_default();
                    let sentences: Vec<&str> = text
                        .split(['<', '>', '.'])
                        .map(str::trim)
                        .filter(|s| s.len() > 30)
                        .collect();
                    assert!(!sentences.is_empty(), "{markup:?} {lang}: {start}");
                    for sentence in sentences {
                        assert!(
                            !stripped.contains(sentence),
                            "{markup:?} {lang}: {sentence}"
                        );
                    }
                }
            }
        }
    }
}
