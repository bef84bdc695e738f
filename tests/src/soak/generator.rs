//! The publishing side of a soak: a fixture site that keeps publishing new statements and
//! editing recent ones, driven by a seed, and the publication log of everything it served.
//!
//! Every generated page carries a marker paragraph `SOAK-{doc_id}-{lang}-r{revision}`; an edit
//! replaces it with the next revision's. The checker finds the markers in the stored records,
//! so it can tell which revision each stored version is without running the parser's code.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDateTime, Timelike, Utc};
use serde::Serialize;

use crate::rng::Rng;
use crate::site::{Corpus, FixtureSite};

/// Index (in [`Corpus::generated_statement`]'s numbering) of the first generated statement:
/// ids 4000000 and up, clear of the bundled and synthetic corpora.
const FIRST_INDEX: usize = 1_000_000;
/// Where the marker paragraph goes: right at the start of the article text.
const ARTICLE_START: &str = "<div class=\"text article-content\">";
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

/// Publishes and edits on one fixture site; keeps the publication log.
pub struct Generator {
    site: Arc<FixtureSite>,
    source: String,
    rng: Rng,
    started: Instant,
    next: usize,
    pages: BTreeMap<String, PageState>,
    log: Vec<Publication>,
}

impl Generator {
    /// A generator for `site` (records `{source}:{doc_id}:{lang}`); logs every page the site
    /// serves now as the baseline.
    pub fn new(site: Arc<FixtureSite>, source: &str, seed: u64, started: Instant) -> Generator {
        let mut generator = Generator {
            site,
            source: source.to_string(),
            rng: Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15),
            started,
            next: 0,
            pages: BTreeMap::new(),
            log: Vec::new(),
        };
        for (doc_id, langs) in generator.site.statements() {
            for lang in langs {
                generator.record(&doc_id, &lang, Action::Baseline, 0, None);
            }
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

    /// One second of publishing: maybe a new statement (about every 6 s; the third and one
    /// in 25 of the others designed to fail), maybe an edit of a recent page (about every
    /// 5 s). `stored` gives each id's revision stored now: edits mostly pick pages whose
    /// current revision is stored, and one in five is a quick re-edit of any recent page.
    pub fn tick(&mut self, stored: &BTreeMap<String, u32>) {
        if self.rng.percent(17) {
            let broken = self.next == 2 || self.rng.percent(4);
            self.publish(broken);
        }
        if self.rng.percent(20) {
            let quick = self.rng.percent(20);
            self.edit(stored, quick);
        }
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn publish(&mut self, broken: bool) {
        let index = FIRST_INDEX + self.next;
        self.next += 1;
        let moscow = Utc::now().with_timezone(&chrono_tz::Europe::Moscow);
        let published: NaiveDateTime = moscow
            .naive_local()
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or_else(|| moscow.naive_local());
        let statement = Corpus::generated_statement(index, published);
        let doc_id = statement.meta().doc_id.clone();
        let langs: Vec<String> = statement.meta().titles.keys().cloned().collect();
        self.site.add(statement);
        for lang in &langs {
            if broken {
                self.site.edit(&doc_id, lang, strip_text);
                self.record(&doc_id, lang, Action::Broken, 1, None);
            } else {
                let m = marker(&doc_id, lang, 1);
                self.site
                    .edit(&doc_id, lang, |html| insert_marker(html, &m));
                self.record(&doc_id, lang, Action::Publish, 1, Some(m));
            }
        }
        self.site.release(&doc_id);
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
        let bytes = self.site.page_bytes(doc_id, lang).unwrap_or_default();
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

/// The page with a marker paragraph at the start of its text.
fn insert_marker(html: String, marker: &str) -> String {
    let paragraph = format!("{ARTICLE_START}\n<p>Edition {marker} of this text.</p>");
    html.replacen(ARTICLE_START, &paragraph, 1)
}

/// The page without any text: a statement page the parser must reject.
fn strip_text(html: String) -> String {
    let Some(start) = html.find(ARTICLE_START) else {
        return html;
    };
    let body_start = start + ARTICLE_START.len();
    let end = html[body_start..]
        .find("</div>")
        .map_or(html.len(), |i| body_start + i);
    format!("{}{}", &html[..body_start], &html[end..])
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
        let html =
            format!("<h1>T</h1>{ARTICLE_START}\n<p>Body text.</p>\n</div><div class=\"share\">");
        let marked = insert_marker(html.clone(), "SOAK-1-en-r1");
        assert!(marked.contains("<p>Edition SOAK-1-en-r1 of this text.</p>\n<p>Body text.</p>"));
        let stripped = strip_text(html);
        assert!(!stripped.contains("Body text"));
        assert!(stripped.contains("<h1>T</h1>"));
    }
}
