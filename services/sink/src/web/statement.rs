//! A statement: its page (facts, text or transcript), the side-by-side view of two language
//! versions, and its version history with what changed.

use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, html};
use shared::{Lang, SpeechRecord, Turn};

use super::i18n::Ui;
use super::layout::{Chrome, page, record_time, statement_href, with_query};
use crate::diff::ParagraphDiff;

/// Another language version of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherVersion {
    /// Its language.
    pub lang: Lang,
    /// Its record id when the store has it.
    pub stored: Option<String>,
    /// Its page on the site.
    pub url: Option<String>,
}

/// What the statement page shows.
#[derive(Debug, Clone)]
pub struct StatementView {
    /// The latest version.
    pub record: SpeechRecord,
    /// The other language versions.
    pub others: Vec<OtherVersion>,
    /// How many versions are stored.
    pub versions: usize,
}

/// One entry of the history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// 1 for the first version.
    pub version: i64,
    /// When the sink stored it.
    pub stored_at: DateTime<Utc>,
    /// Its title.
    pub title: String,
    /// The title before, when this version changed it.
    pub old_title: Option<String>,
    /// What changed in the text since the previous version (none for the first).
    pub diff: Option<ParagraphDiff>,
}

fn is_question(turn: &Turn) -> bool {
    let label = turn.speaker.trim().to_lowercase();
    label == "question" || label == "вопрос"
}

/// The text of a record as reading paragraphs: its paragraphs, or its turns as
/// "Speaker: text" paragraphs when it has no paragraphs.
pub fn reading_paragraphs(record: &SpeechRecord) -> Vec<String> {
    if !record.paragraphs.is_empty() {
        return record.paragraphs.clone();
    }
    let mut out = Vec::new();
    for turn in &record.turns {
        for (i, part) in turn.text.split("\n\n").enumerate() {
            if i == 0 {
                out.push(format!("{}: {part}", turn.speaker));
            } else {
                out.push(part.to_string());
            }
        }
    }
    out
}

fn chrome<'a>(ui: Ui, title: &'a str, path: &'a str) -> Chrome<'a> {
    Chrome {
        ui,
        title,
        path,
        pairs: Vec::new(),
        feed: None,
        current: "",
    }
}

/// `GET /statements/{id}`.
pub fn statement(ui: Ui, view: &StatementView) -> Markup {
    let t = ui.t();
    let r = &view.record;
    let href = statement_href(&r.id);
    let paired = view.others.iter().find(|o| o.stored.is_some());
    let body = html! {
        article.statement lang=(r.lang.as_str()) {
            header {
                h1 { (r.title) }
                dl.facts lang=(ui.code()) {
                    div { dt { (t.date) } dd { (record_time(ui, r)) } }
                    @if let Some(place) = &r.location {
                        div { dt { (t.place) } dd lang=(r.lang.as_str()) { (place) } }
                    }
                    div { dt { (t.kind) } dd { (ui.kind_name(r.kind)) } }
                    @if !r.speakers.is_empty() {
                        div {
                            dt { (t.speakers) }
                            dd lang="en" {
                                @for (i, name) in r.speakers.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    a href=(with_query("/", &[("speaker".into(), name.clone())])) { (name) }
                                }
                            }
                        }
                    }
                    @if let Some(number) = &r.doc_number {
                        div { dt { (t.doc_number) } dd { (number) } }
                    }
                    div { dt { (t.source) } dd { (r.source) " · " (ui.lang_name(r.lang)) } }
                    div { dt { (t.original) } dd { a href=(r.url) rel="external noopener" { (r.url) } } }
                }
                nav.actions aria-label=(t.versions_other) lang=(ui.code()) {
                    ul {
                        @for other in &view.others {
                            li {
                                @if let Some(id) = &other.stored {
                                    a href=(statement_href(id)) hreflang=(other.lang.as_str()) rel="alternate" {
                                        (ui.lang_name(other.lang))
                                    }
                                } @else if let Some(url) = &other.url {
                                    a href=(url) hreflang=(other.lang.as_str()) rel="external noopener" {
                                        (ui.lang_name(other.lang))
                                    }
                                    " (" (t.not_stored) ")"
                                }
                            }
                        }
                        @if let Some(other) = paired {
                            li { a href=(with_query(&format!("{href}/compare"), &[("with".into(), other.lang.as_str().into())])) { (t.side_by_side) } }
                        }
                        li { a href={ (href) "/history" } { (t.history) " (" (view.versions) ")" } }
                        li { a href={ "/v1/speeches/" (super::layout::encode_segment(&r.id)) } type="application/json" { (t.json) } }
                    }
                }
            }
            @if r.turns.is_empty() {
                section.text aria-label=(t.text) {
                    @for p in &r.paragraphs { p { (p) } }
                }
            } @else {
                (transcript(ui, r))
            }
        }
    };
    page(&chrome(ui, &r.title, &href), body)
}

fn transcript(ui: Ui, r: &SpeechRecord) -> Markup {
    let t = ui.t();
    // Paragraphs before the first turn (an introduction) are shown first.
    let first_turn = r
        .turns
        .first()
        .and_then(|turn| {
            let opening = turn.text.split("\n\n").next().unwrap_or_default();
            r.paragraphs.iter().position(|p| p.ends_with(opening))
        })
        .unwrap_or(0);
    html! {
        section.transcript aria-label=(t.transcript) {
            @for p in &r.paragraphs[..first_turn] { p.intro { (p) } }
            @for turn in &r.turns {
                @let question = is_question(turn);
                div class={ "turn " (if question { "question" } else { "answer" }) } {
                    p.who {
                        @if question {
                            strong.speaker lang=(ui.code()) { (t.question) }
                        } @else {
                            strong.speaker { (turn.speaker) }
                        }
                        @if let Some(outlet) = &turn.outlet {
                            " " span.outlet { span lang=(ui.code()) { "(" (t.outlet) " " } (outlet) ")" }
                        }
                        @if turn.interpreted {
                            " " span.badge lang=(ui.code()) { (t.interpreted) }
                        }
                    }
                    div.says {
                        @for part in turn.text.split("\n\n") { p { (part) } }
                    }
                }
            }
        }
    }
}

/// `GET /statements/{id}/compare?with=LANG`: two versions side by side, paragraphs aligned
/// by position.
pub fn compare(ui: Ui, left: &SpeechRecord, right: &SpeechRecord) -> Markup {
    let t = ui.t();
    let href = statement_href(&left.id);
    let (a, b) = (reading_paragraphs(left), reading_paragraphs(right));
    let rows = a.len().max(b.len());
    let title = format!("{} · {}", t.side_by_side, left.title);
    let body = html! {
        p.crumbs { a href=(href) { "← " (t.back) } }
        h1 { (t.side_by_side) }
        table.compare {
            thead {
                tr {
                    th scope="col" lang=(left.lang.as_str()) {
                        a href=(statement_href(&left.id)) { (left.title) }
                        small lang=(ui.code()) { (ui.lang_name(left.lang)) }
                    }
                    th scope="col" lang=(right.lang.as_str()) {
                        a href=(statement_href(&right.id)) { (right.title) }
                        small lang=(ui.code()) { (ui.lang_name(right.lang)) }
                    }
                }
            }
            tbody {
                @for i in 0..rows {
                    tr {
                        td lang=(left.lang.as_str()) { @if let Some(p) = a.get(i) { (p) } }
                        td lang=(right.lang.as_str()) { @if let Some(p) = b.get(i) { (p) } }
                    }
                }
            }
        }
    };
    page(&chrome(ui, &title, &format!("{href}/compare")), body)
}

/// `GET /statements/{id}/history`: every stored version, newest first, with what changed.
pub fn history(ui: Ui, record: &SpeechRecord, entries: &[HistoryEntry]) -> Markup {
    let t = ui.t();
    let href = statement_href(&record.id);
    let title = format!("{} · {}", t.history, record.title);
    let body = html! {
        p.crumbs { a href=(href) { "← " (t.back) } }
        h1 { (t.history) }
        p.subtitle lang=(record.lang.as_str()) { (record.title) }
        ol.history reversed {
            @for entry in entries.iter().rev() {
                li {
                    h2 {
                        (t.version) " " (entry.version)
                        " " small { (t.stored_at) " "
                            time datetime=(entry.stored_at.to_rfc3339_opts(SecondsFormat::Secs, true)) {
                                (ui.date_time(&entry.stored_at.fixed_offset())) " UTC"
                            }
                        }
                    }
                    @if let Some(old) = &entry.old_title {
                        p.title-change {
                            strong { (t.title_changed) ": " }
                            del lang=(record.lang.as_str()) { (old) } " → "
                            ins lang=(record.lang.as_str()) { (entry.title) }
                        }
                    }
                    @match &entry.diff {
                        None => p { (t.first_version) },
                        Some(diff) if diff.added.is_empty() && diff.removed.is_empty() => p { (t.no_text_change) },
                        Some(diff) => (changes(ui, record.lang, diff)),
                    }
                }
            }
        }
    };
    page(&chrome(ui, &title, &format!("{href}/history")), body)
}

/// The changes of one version: removed and added paragraphs interleaved by position.
fn changes(ui: Ui, lang: Lang, diff: &ParagraphDiff) -> Markup {
    let t = ui.t();
    let mut lines: Vec<(usize, bool, &str)> = diff
        .removed
        .iter()
        .map(|c| (c.index, false, c.text.as_str()))
        .chain(diff.added.iter().map(|c| (c.index, true, c.text.as_str())))
        .collect();
    lines.sort_by_key(|(index, added, _)| (*index, *added));
    html! {
        ul.diff {
            @for (index, added, text) in lines {
                @if added {
                    li.added {
                        span.mark lang=(ui.code()) { "+ " (t.added) ", " (t.paragraph) " " (index + 1) }
                        ins lang=(lang.as_str()) { (text) }
                    }
                } @else {
                    li.removed {
                        span.mark lang=(ui.code()) { "− " (t.removed) ", " (t.paragraph) " " (index + 1) }
                        del lang=(lang.as_str()) { (text) }
                    }
                }
            }
        }
    }
}
