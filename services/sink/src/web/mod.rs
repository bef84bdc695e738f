//! The reading room: server-rendered pages on the sink's API address, for people.
//!
//! * `/`: the latest statements, with filters in the URL, feed and export links, and live
//!   updates ([`crate::events`]) by a small script ([`LIVE_JS`]); `/search`: full-text search.
//! * `/statements/{id}`: a statement; `…/compare?with=LANG`: side by side with another language
//!   version; `…/history`: its versions with what changed; `…/card`: its list entry alone.
//! * The interface is English or Russian ([`i18n`]): `?ui=ru` chooses and is kept in a cookie,
//!   else `Accept-Language` decides.
//!
//! Every page works without scripts. Pages are compressed (gzip or brotli). Rendering is pure
//! ([`list`], [`statement`], [`layout`]); the handlers here only read the store.

pub mod i18n;
pub mod layout;
pub mod list;
pub mod statement;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use shared::{Lang, SpeechRecord};
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;

use crate::api::error;
use crate::diff::diff_paragraphs;
use crate::events::{EventHub, parse_subscription};
use crate::params::{Endpoint, parse_query};
use crate::store::{AnyStore, Store, StoreError};
use i18n::{UI_PARAM, Ui};
use layout::{Chrome, Filters};
use list::{Item, Listing};
use statement::{HistoryEntry, OtherVersion, StatementView};

/// Statements per listing page.
pub const PAGE_SIZE: u32 = 20;
/// The stylesheet of every page.
pub const SITE_CSS: &str = include_str!("assets/site.css");
/// The script of the latest page: live updates by `GET /v1/events`.
pub const LIVE_JS: &str = include_str!("assets/live.js");

#[derive(Clone)]
struct WebState {
    hub: EventHub,
}

impl WebState {
    fn store(&self) -> &AnyStore {
        self.hub.store()
    }
}

/// The reading room's routes and `GET /v1/events`; event streams end when `shutdown` fires.
pub fn routes(store: AnyStore, shutdown: CancellationToken) -> Router {
    let state = WebState {
        hub: EventHub::new(store, shutdown),
    };
    let pages = Router::new()
        .route("/", get(latest))
        .route("/search", get(search))
        .route("/statements/{id}", get(statement_page))
        .route("/statements/{id}/compare", get(compare))
        .route("/statements/{id}/history", get(history))
        .route("/statements/{id}/card", get(card))
        .route("/assets/site.css", get(css))
        .route("/assets/live.js", get(js))
        .layer(CompressionLayer::new());
    Router::new()
        .route("/v1/events", get(events))
        .merge(pages)
        .with_state(state)
}

/// The interface language of a request, and the cookie to set when `?ui=` chose it.
fn ui_of(headers: &HeaderMap, param: Option<&str>) -> (Ui, Option<HeaderValue>) {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let cookie = text(header::COOKIE).and_then(|cookies| {
        cookies.split(';').find_map(|c| {
            c.trim()
                .strip_prefix(UI_PARAM)
                .and_then(|rest| rest.strip_prefix('='))
        })
    });
    let ui = Ui::choose(param, cookie, text(header::ACCEPT_LANGUAGE));
    let set = param.and_then(Ui::from_code).and_then(|chosen| {
        HeaderValue::from_str(&format!(
            "{UI_PARAM}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            chosen.code()
        ))
        .ok()
    });
    (ui, set)
}

fn html_response(
    status: StatusCode,
    ui: Ui,
    cookie: Option<HeaderValue>,
    markup: Markup,
) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::VARY, "Accept-Language, Cookie"),
            (header::CONTENT_LANGUAGE, ui.code()),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        markup.into_string(),
    )
        .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// A page with only a heading and a message (not found, unavailable).
fn message_page(status: StatusCode, ui: Ui, title: &str, message: &str) -> Response {
    let chrome = Chrome {
        ui,
        title,
        path: "/",
        pairs: Vec::new(),
        feed: None,
        current: "",
    };
    let body = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/" { (ui.t().latest) } }
    };
    html_response(status, ui, None, layout::page(&chrome, body))
}

fn store_failure(ui: Ui, err: StoreError) -> Response {
    tracing::warn!(error = %err, "page failed: the store could not be read");
    let status = if err.is_transient() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    message_page(status, ui, ui.t().unavailable, ui.t().unavailable)
}

type Params = Result<QueryParams<Vec<(String, String)>>, QueryRejection>;

fn pairs_of(params: Params) -> Vec<(String, String)> {
    params.map(|QueryParams(pairs)| pairs).unwrap_or_default()
}

fn items_of(page: crate::store::Page) -> Vec<Item> {
    page.items
        .into_iter()
        .filter_map(|hit| {
            let record = serde_json::from_str(&hit.record).ok()?;
            Some(Item {
                record,
                snippet: hit.snippet,
            })
        })
        .collect()
}

async fn latest(State(state): State<WebState>, headers: HeaderMap, params: Params) -> Response {
    let (filters, ui_param) = Filters::from_pairs(&pairs_of(params));
    let (ui, cookie) = ui_of(&headers, ui_param.as_deref());
    let mut listing = Listing::empty(filters.clone());
    let mut status = StatusCode::OK;
    match parse_query(&filters.pairs(false, true), Endpoint::List) {
        Ok(mut query) => {
            query.limit = PAGE_SIZE;
            if filters.cursor.is_none() {
                // Read first: what is stored after this point reaches the page live.
                match state.store().last_event().await {
                    Ok(after) => listing.after = Some(after),
                    Err(err) => return store_failure(ui, err),
                }
            }
            match state.store().list(&query).await {
                Ok(page) => {
                    listing.next_cursor = page.next_cursor.as_ref().map(|c| c.encode());
                    listing.items = items_of(page);
                }
                Err(err) => return store_failure(ui, err),
            }
        }
        Err(e) => {
            listing.error = Some(e.0);
            status = StatusCode::BAD_REQUEST;
        }
    }
    html_response(status, ui, cookie, list::latest(ui, &listing))
}

async fn search(State(state): State<WebState>, headers: HeaderMap, params: Params) -> Response {
    let (filters, ui_param) = Filters::from_pairs(&pairs_of(params));
    let (ui, cookie) = ui_of(&headers, ui_param.as_deref());
    let mut listing = Listing::empty(filters.clone());
    let mut status = StatusCode::OK;
    if filters.q.is_some() {
        match parse_query(&filters.pairs(true, true), Endpoint::List) {
            Ok(mut query) => {
                query.limit = PAGE_SIZE;
                let (page, total) =
                    tokio::join!(state.store().list(&query), state.store().count(&query));
                match (page, total) {
                    (Ok(page), Ok(total)) => {
                        listing.next_cursor = page.next_cursor.as_ref().map(|c| c.encode());
                        listing.items = items_of(page);
                        listing.total = Some(total);
                    }
                    (Err(err), _) | (_, Err(err)) => return store_failure(ui, err),
                }
            }
            Err(e) => {
                listing.error = Some(e.0);
                status = StatusCode::BAD_REQUEST;
            }
        }
    }
    html_response(status, ui, cookie, list::search(ui, &listing))
}

/// The record `id` and its JSON, or the response to send instead.
async fn load(
    state: &WebState,
    ui: Ui,
    path: Result<Path<String>, PathRejection>,
) -> Result<(SpeechRecord, serde_json::Value), Box<Response>> {
    let not_found = || {
        Box::new(message_page(
            StatusCode::NOT_FOUND,
            ui,
            ui.t().not_found,
            ui.t().not_found,
        ))
    };
    let Ok(Path(id)) = path else {
        return Err(not_found());
    };
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(not_found());
    }
    match state.store().get(&id).await {
        Ok(Some(json)) => {
            let value: serde_json::Value = serde_json::from_str(&json).map_err(|_| not_found())?;
            let record = serde_json::from_value(value.clone()).map_err(|_| not_found())?;
            Ok((record, value))
        }
        Ok(None) => Err(not_found()),
        Err(err) => Err(Box::new(store_failure(ui, err))),
    }
}

/// The other language versions of `record`: the languages the site links, plus English and
/// Russian, each with its id when stored.
async fn others(state: &WebState, record: &SpeechRecord) -> Result<Vec<OtherVersion>, StoreError> {
    let mut langs: Vec<Lang> = record.translations.keys().copied().collect();
    for lang in [Lang::En, Lang::Ru] {
        if !langs.contains(&lang) {
            langs.push(lang);
        }
    }
    langs.sort();
    let mut out = Vec::new();
    for lang in langs.into_iter().filter(|l| *l != record.lang) {
        let id = SpeechRecord::make_id(&record.source, &record.doc_id, lang);
        let stored = state.store().get(&id).await?.map(|_| id);
        let url = record.translations.get(&lang).cloned();
        if stored.is_some() || url.is_some() {
            out.push(OtherVersion { lang, stored, url });
        }
    }
    Ok(out)
}

async fn statement_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    params: Params,
) -> Response {
    let (_, ui_param) = Filters::from_pairs(&pairs_of(params));
    let (ui, cookie) = ui_of(&headers, ui_param.as_deref());
    let (record, _) = match load(&state, ui, path).await {
        Ok(loaded) => loaded,
        Err(response) => return *response,
    };
    let (others, versions) =
        match tokio::join!(others(&state, &record), state.store().versions(&record.id)) {
            (Ok(others), Ok(versions)) => (others, versions.len()),
            (Err(err), _) | (_, Err(err)) => return store_failure(ui, err),
        };
    let view = StatementView {
        record,
        others,
        versions,
    };
    html_response(StatusCode::OK, ui, cookie, statement::statement(ui, &view))
}

async fn compare(
    State(state): State<WebState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    params: Params,
) -> Response {
    let pairs = pairs_of(params);
    let (_, ui_param) = Filters::from_pairs(&pairs);
    let (ui, cookie) = ui_of(&headers, ui_param.as_deref());
    let (record, _) = match load(&state, ui, path).await {
        Ok(loaded) => loaded,
        Err(response) => return *response,
    };
    let wanted = pairs
        .iter()
        .find(|(k, _)| k == "with")
        .and_then(|(_, v)| v.parse::<Lang>().ok());
    let candidates = match others(&state, &record).await {
        Ok(others) => others,
        Err(err) => return store_failure(ui, err),
    };
    let other = candidates
        .iter()
        .filter(|o| wanted.is_none_or(|w| w == o.lang))
        .find_map(|o| o.stored.clone());
    let Some(other_id) = other else {
        return message_page(
            StatusCode::NOT_FOUND,
            ui,
            ui.t().side_by_side,
            ui.t().no_other,
        );
    };
    let right = match state.store().get(&other_id).await {
        Ok(Some(json)) => serde_json::from_str::<SpeechRecord>(&json).ok(),
        Ok(None) => None,
        Err(err) => return store_failure(ui, err),
    };
    let Some(right) = right else {
        return message_page(
            StatusCode::NOT_FOUND,
            ui,
            ui.t().side_by_side,
            ui.t().no_other,
        );
    };
    html_response(
        StatusCode::OK,
        ui,
        cookie,
        statement::compare(ui, &record, &right),
    )
}

async fn history(
    State(state): State<WebState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    params: Params,
) -> Response {
    let (_, ui_param) = Filters::from_pairs(&pairs_of(params));
    let (ui, cookie) = ui_of(&headers, ui_param.as_deref());
    let (record, _) = match load(&state, ui, path).await {
        Ok(loaded) => loaded,
        Err(response) => return *response,
    };
    let versions = match state.store().versions(&record.id).await {
        Ok(versions) => versions,
        Err(err) => return store_failure(ui, err),
    };
    let mut entries = Vec::with_capacity(versions.len());
    let mut previous: Option<SpeechRecord> = None;
    for entry in versions {
        let Ok(version) = serde_json::from_str::<SpeechRecord>(&entry.record) else {
            continue;
        };
        let diff = previous.as_ref().map(|old| {
            diff_paragraphs(
                &statement::reading_paragraphs(old),
                &statement::reading_paragraphs(&version),
            )
        });
        let old_title = previous
            .as_ref()
            .filter(|old| old.title != version.title)
            .map(|old| old.title.clone());
        entries.push(HistoryEntry {
            version: entry.version,
            stored_at: entry.stored_at,
            title: version.title.clone(),
            old_title,
            diff,
        });
        previous = Some(version);
    }
    html_response(
        StatusCode::OK,
        ui,
        cookie,
        statement::history(ui, &record, &entries),
    )
}

async fn card(
    State(state): State<WebState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let (ui, _) = ui_of(&headers, None);
    match load(&state, ui, path).await {
        Ok((record, _)) => {
            let item = Item {
                record,
                snippet: None,
            };
            html_response(StatusCode::OK, ui, None, list::card(ui, &item))
        }
        Err(response) => *response,
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SITE_CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        LIVE_JS,
    )
        .into_response()
}

async fn events(State(state): State<WebState>, headers: HeaderMap, params: Params) -> Response {
    let QueryParams(pairs) = match params {
        Ok(pairs) => pairs,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the query string cannot be read: {rejection}"),
            );
        }
    };
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("invalid"));
    match parse_subscription(&pairs, last_event_id) {
        Ok(subscription) => crate::events::stream(&state.hub, subscription).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.0),
    }
}

#[cfg(test)]
mod tests;
