//! The latest page and the search page: filters, results, paging, live updates.

use maud::{Markup, html};
use shared::{Kind, Lang, SpeechRecord};

use super::i18n::Ui;
use super::layout::{Chrome, Filters, page, record_time, snippet, statement_href, with_query};
use crate::events::MAX_REPLAY;

/// One listed record.
#[derive(Debug, Clone)]
pub struct Item {
    /// The record.
    pub record: SpeechRecord,
    /// With a search: the excerpt, matches between `<mark>` tags.
    pub snippet: Option<String>,
}

/// What a listing page shows.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The filters of the URL.
    pub filters: Filters,
    /// The records of this page.
    pub items: Vec<Item>,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
    /// Search: the number of results.
    pub total: Option<u64>,
    /// Why the filters were refused, if they were.
    pub error: Option<String>,
    /// Latest page: the store's last event when the page was made (live updates start there).
    pub after: Option<i64>,
}

impl Listing {
    /// A listing of `filters` with nothing in it yet.
    pub fn empty(filters: Filters) -> Self {
        Self {
            filters,
            items: Vec::new(),
            next_cursor: None,
            total: None,
            error: None,
            after: None,
        }
    }
}

/// `GET /`: newest first, filters, feed and export links, live updates.
pub fn latest(ui: Ui, listing: &Listing) -> Markup {
    let t = ui.t();
    let f = &listing.filters;
    let chrome = Chrome {
        ui,
        title: t.latest,
        path: "/",
        pairs: f.pairs(false, true),
        feed: Some(f.href("/v1/feed.atom", false, &[])),
        current: "latest",
    };
    let first_page = f.cursor.is_none();
    // Live updates: only on the first page, for the same filters, from the page's moment.
    let events = listing
        .after
        .filter(|_| first_page && listing.error.is_none())
        .map(|after| f.href("/v1/events", false, &[("after", &after.to_string())]));
    let body = html! {
        h1 { (t.latest) }
        (filter_form(ui, f, false))
        (tools(ui, f, false))
        @if let Some(events) = &events {
            p #live.live role="status" hidden data-events=(events) data-on=(t.live_on)
                data-off=(t.live_off) data-new=(t.live_new) data-max=(MAX_REPLAY) {}
        }
        (results(ui, listing, false))
        nav.pager aria-label=(t.older) {
            @if !first_page {
                a href=(f.href("/", false, &[])) { "« " (t.newest) }
            }
            @if let Some(cursor) = &listing.next_cursor {
                a rel="next" href=(f.href("/", false, &[("cursor", cursor)])) { (t.older) " »" }
            }
        }
    };
    page(&chrome, body)
}

/// `GET /search`: the search form, the number of results, ranked results with snippets.
pub fn search(ui: Ui, listing: &Listing) -> Markup {
    let t = ui.t();
    let f = &listing.filters;
    let chrome = Chrome {
        ui,
        title: f.q.as_deref().unwrap_or(t.search),
        path: "/search",
        pairs: f.pairs(true, true),
        feed: f.q.as_ref().map(|_| f.href("/v1/feed.atom", true, &[])),
        current: "search",
    };
    let body = html! {
        h1 { (t.search) }
        (filter_form(ui, f, true))
        @if f.q.is_some() && listing.error.is_none() {
            @if let Some(total) = listing.total {
                p.count role="status" { strong { (t.results(total)) } }
            }
            (tools(ui, f, true))
            (results(ui, listing, true))
            nav.pager aria-label=(t.more_results) {
                @if let Some(cursor) = &listing.next_cursor {
                    a rel="next" href=(f.href("/search", true, &[("cursor", cursor)])) { (t.more_results) " »" }
                }
            }
        } @else if let Some(error) = &listing.error {
            (error_box(ui, error))
        }
    };
    page(&chrome, body)
}

fn error_box(ui: Ui, error: &str) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { (ui.t().bad_request) } }
            p { (error) }
        }
    }
}

fn results(ui: Ui, listing: &Listing, search: bool) -> Markup {
    let t = ui.t();
    html! {
        @if let Some(error) = &listing.error {
            @if !search { (error_box(ui, error)) }
        } @else {
            p.empty #empty hidden[!listing.items.is_empty()] { (t.nothing) }
            ol.statements #statements start=[offset_of(listing, search)] {
                @for item in &listing.items { (card(ui, item)) }
            }
        }
    }
}

/// Search result pages number their items on from the offset in the cursor.
fn offset_of(listing: &Listing, search: bool) -> Option<u64> {
    if !search {
        return None;
    }
    let cursor = listing.filters.cursor.as_deref()?;
    match crate::store::Cursor::decode(cursor) {
        Ok(crate::store::Cursor::Offset(offset)) => Some(offset + 1),
        _ => None,
    }
}

/// One statement in a list (also sent alone to the live script).
pub fn card(ui: Ui, item: &Item) -> Markup {
    let t = ui.t();
    let r = &item.record;
    html! {
        li.card data-id=(r.id) data-key=(crate::store::sort_key(r)) {
            article lang=(r.lang.as_str()) {
                h2 { a href=(statement_href(&r.id)) { (r.title) } }
                p.meta lang=(ui.code()) {
                    (record_time(ui, r))
                    span.sep aria-hidden="true" { " · " }
                    span.kind { (ui.kind_name(r.kind)) }
                    span.sep aria-hidden="true" { " · " }
                    abbr.lang title=(ui.lang_name(r.lang)) { (r.lang.as_str().to_uppercase()) }
                    span.sep aria-hidden="true" { " · " }
                    span.source { (r.source) }
                    @if let Some(place) = &r.location {
                        span.sep aria-hidden="true" { " · " }
                        span.place { (place) }
                    }
                }
                @if !r.speakers.is_empty() {
                    p.speakers lang="en" {
                        span.visually-hidden lang=(ui.code()) { (t.speakers) ": " }
                        @for (i, name) in r.speakers.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href=(with_query("/", &[("speaker".into(), name.clone())])) { (name) }
                        }
                    }
                }
                @if let Some(text) = &item.snippet {
                    p.snippet { (snippet(text)) }
                }
            }
        }
    }
}

fn tools(ui: Ui, f: &Filters, search: bool) -> Markup {
    let t = ui.t();
    html! {
        p.tools {
            a href=(f.href("/v1/feed.atom", search, &[])) type="application/atom+xml" { (t.feed) }
            " · "
            a href=(f.href("/v1/export.jsonl", search, &[])) type="application/jsonl" download { (t.export) }
            @if f.any() || search { " " span.hint { (t.for_filters) } }
        }
    }
}

fn filter_form(ui: Ui, f: &Filters, search: bool) -> Markup {
    let t = ui.t();
    let action = if search { "/search" } else { "/" };
    html! {
        form.filters method="get" action=(action) role=[search.then_some("search")] {
            @if search {
                div.field.q {
                    label for="f-q" { (t.search_words) }
                    input #f-q type="search" name="q" value=[f.q.as_deref()] required
                        aria-describedby="f-q-hint" autocomplete="off";
                    small #f-q-hint { (t.search_hint) }
                }
            }
            fieldset {
                legend { (t.filters) }
                div.field {
                    label for="f-source" { (t.source) }
                    select #f-source name="source" {
                        option value="" { (t.all) }
                        @for name in source_options(f.source.as_deref()) {
                            option value=(name) selected[f.source.as_deref() == Some(name)] { (name) }
                        }
                    }
                }
                div.field {
                    label for="f-lang" { (t.language) }
                    select #f-lang name="lang" {
                        option value="" { (t.all) }
                        @for lang in Lang::ALL {
                            option value=(lang.as_str()) selected[f.lang.as_deref() == Some(lang.as_str())] {
                                (ui.lang_name(lang))
                            }
                        }
                    }
                }
                div.field {
                    label for="f-kind" { (t.kind) }
                    select #f-kind name="kind" {
                        option value="" { (t.all) }
                        @for kind in Kind::ALL {
                            option value=(kind.as_str()) selected[f.kind.as_deref() == Some(kind.as_str())] {
                                (ui.kind_name(kind))
                            }
                        }
                    }
                }
                div.field {
                    label for="f-speaker" { (t.speaker) }
                    input #f-speaker type="text" name="speaker" value=[f.speaker.as_deref()]
                        placeholder=(t.speaker_hint) autocomplete="off";
                }
                div.field {
                    label for="f-since" { (t.from) }
                    input #f-since type="date" name="since" value=[f.since.as_deref()];
                }
                div.field {
                    label for="f-until" { (t.to) }
                    input #f-until type="date" name="until" value=[f.until.as_deref()];
                }
                div.buttons {
                    button type="submit" { @if search { (t.search_button) } @else { (t.apply) } }
                    @if f.any() {
                        a.clear href=(if search { Filters { q: f.q.clone(), ..Filters::default() }.href("/search", true, &[]) } else { "/".to_string() }) { (t.clear) }
                    }
                }
            }
        }
    }
}

/// The sources the filter offers: the built-in ones, and the one of the URL when it is another
/// (a user's profile).
fn source_options(current: Option<&str>) -> Vec<&str> {
    let mut names: Vec<&str> = shared::profile::BUILTIN_NAMES.to_vec();
    if let Some(current) = current.filter(|c| !names.contains(c)) {
        names.push(current);
    }
    names
}
