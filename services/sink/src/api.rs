//! The read-only HTTP API (axum): list, get, versions, Atom feed, JSON Lines export,
//! OpenAPI document, merged with the shared `/healthz`, `/readyz` and `/metrics` routes.
//!
//! Every parameter is validated by [`crate::params`]; an invalid one is answered with 400 and
//! `{"error": "..."}`, never with a 500 or a panic.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use chrono::Utc;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use shared::SpeechRecord;
use shared::ops::ReadinessCheck;

use crate::atom;
use crate::cache::{BodyCache, CachedPage, SearchCache, TagReader, query_key};
use crate::diff::diff_paragraphs;
use crate::export::RecordPages;
use crate::openapi;
use crate::params::{Endpoint, parse_query};
use crate::store::{AnyStore, Hit, Page, Query, Store, StoreError};

/// Longest accepted record id.
const MAX_ID_CHARS: usize = 200;

/// Search pages the sink keeps by default (`--search-cache-pages`).
pub const DEFAULT_SEARCH_CACHE_PAGES: usize = 1_000;

/// Megabytes of listing pages the sink keeps by default (`--listing-cache-mb`).
pub const DEFAULT_LISTING_CACHE_MB: usize = 16;

/// Megabytes of records the sink keeps by default (`--record-cache-mb`).
pub const DEFAULT_RECORD_CACHE_MB: usize = 16;

/// What the API keeps of its answers while nothing new is stored ([`crate::cache`]).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct CacheSizes {
    /// Search result pages kept (ids and snippets, a few KB each) while nothing new is
    /// stored; 0 turns the search cache off.
    #[arg(
        long,
        env = "SINK_SEARCH_CACHE_PAGES",
        default_value_t = DEFAULT_SEARCH_CACHE_PAGES,
        global = true
    )]
    pub search_cache_pages: usize,
    /// Megabytes of listing pages (`GET /v1/speeches` without `q`, their JSON bodies) kept
    /// while nothing new is stored; 0 turns the listing cache off.
    #[arg(
        long,
        env = "SINK_LISTING_CACHE_MB",
        default_value_t = DEFAULT_LISTING_CACHE_MB,
        global = true
    )]
    pub listing_cache_mb: usize,
    /// Megabytes of records (`GET /v1/speeches/{id}`, their JSON) kept while nothing new is
    /// stored; 0 turns the record cache off.
    #[arg(
        long,
        env = "SINK_RECORD_CACHE_MB",
        default_value_t = DEFAULT_RECORD_CACHE_MB,
        global = true
    )]
    pub record_cache_mb: usize,
}

impl Default for CacheSizes {
    fn default() -> Self {
        CacheSizes {
            search_cache_pages: DEFAULT_SEARCH_CACHE_PAGES,
            listing_cache_mb: DEFAULT_LISTING_CACHE_MB,
            record_cache_mb: DEFAULT_RECORD_CACHE_MB,
        }
    }
}

#[derive(Clone)]
struct ApiState {
    store: AnyStore,
    search_cache: Arc<SearchCache>,
    listing_cache: Arc<BodyCache>,
    record_cache: Arc<BodyCache>,
    /// The newest event number, read once for the requests that ask at the same moment.
    tags: Arc<TagReader>,
}

impl ApiState {
    /// The newest stored event, read after this call was made (the tag the caches check).
    async fn newest_event(&self) -> Result<i64, StoreError> {
        self.tags.read(|| self.store.last_event()).await
    }

    /// The body `read` gives (a listing page, a record), kept in `cache` under `key` and
    /// served from it while nothing new has been stored since it was read; None (an unknown
    /// record, which may be stored any moment) is not kept.
    async fn cached_body(
        &self,
        cache: &BodyCache,
        key: String,
        read: impl Future<Output = Result<Option<Bytes>, StoreError>>,
    ) -> Result<Option<Bytes>, StoreError> {
        if !cache.enabled() {
            return read.await;
        }
        // Read before the body: a body is never tagged newer than what it saw.
        let tag = self.newest_event().await?;
        if let Some(body) = cache.get(&key, tag) {
            return Ok(Some(Bytes::clone(&body)));
        }
        let body = read.await?;
        if let Some(body) = &body {
            cache.put(key, tag, body.clone());
        }
        Ok(body)
    }
}

/// The API routes alone, with caches of the given sizes.
pub fn router(store: AnyStore, caches: CacheSizes) -> Router {
    Router::new()
        .route("/v1/speeches", get(list))
        .route("/v1/speeches/{id}", get(get_one))
        .route("/v1/speeches/{id}/versions", get(versions))
        .route("/v1/feed.atom", get(feed))
        .route("/v1/export.jsonl", get(export))
        .route("/v1/openapi.json", get(openapi_json))
        .with_state(ApiState {
            store: store.clone(),
            search_cache: Arc::new(SearchCache::new(caches.search_cache_pages)),
            listing_cache: Arc::new(BodyCache::new(
                caches.listing_cache_mb.saturating_mul(1 << 20),
            )),
            record_cache: Arc::new(BodyCache::new(
                caches.record_cache_mb.saturating_mul(1 << 20),
            )),
            tags: Arc::new(TagReader::default()),
        })
        .merge(crate::export::http::router(store))
}

/// The API with the operations routes (`/healthz`, `/readyz`, `/metrics`) merged in, and a
/// JSON 404 for unknown paths.
pub fn app(
    store: AnyStore,
    registry: Arc<Registry>,
    readiness: ReadinessCheck,
    caches: CacheSizes,
) -> Router {
    router(store, caches)
        .merge(shared::ops::router(registry, readiness))
        .fallback(not_found)
}

/// A JSON error response.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// The response to a store error: 503 when retrying may help, else 500 (cause logged).
pub(crate) fn store_error(err: StoreError) -> Response {
    if err.is_transient() {
        tracing::warn!(error = %err, "request failed: database unavailable");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database is unavailable ({err}); try again shortly"),
        )
    } else {
        tracing::error!(error = %err, "request failed");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the sink could not read the database; the cause is in its log",
        )
    }
}

async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint at {}; the API is described at /v1/openapi.json",
            uri.path()
        ),
    )
}

/// Validates the query string of `endpoint` into a store query, or the 400 response.
pub(crate) fn query_from(
    params: Result<QueryParams<Vec<(String, String)>>, QueryRejection>,
    endpoint: Endpoint,
) -> Result<Query, Box<Response>> {
    let QueryParams(pairs) = params.map_err(|rejection| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("the query string cannot be read: {rejection}"),
        ))
    })?;
    parse_query(&pairs, endpoint).map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, e.0)))
}

fn id_from(path: Result<Path<String>, PathRejection>) -> Result<String, Box<Response>> {
    let Path(id) = path.map_err(|rejection| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("the record id cannot be read: {rejection}"),
        ))
    })?;
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            format!(
                "invalid record id: give an id such as mid.ru:1653435:en (at most {MAX_ID_CHARS} characters, no control characters)"
            ),
        )));
    }
    Ok(id)
}

/// The list response, assembled from the stored JSON so each record keeps its field order.
fn page_json(page: Page) -> Bytes {
    let mut body = String::from("{\"items\":[");
    for (i, hit) in page.items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let record = hit.record.trim_end();
        match (&hit.snippet, record.strip_suffix('}')) {
            (Some(snippet), Some(open)) => {
                body.push_str(open);
                body.push_str(",\"snippet\":");
                body.push_str(&Value::String(snippet.clone()).to_string());
                body.push('}');
            }
            _ => body.push_str(record),
        }
    }
    body.push_str("],\"next_cursor\":");
    match page.next_cursor {
        Some(cursor) => body.push_str(&Value::String(cursor.encode()).to_string()),
        None => body.push_str("null"),
    }
    body.push('}');
    Bytes::from(body)
}

async fn list(
    State(state): State<ApiState>,
    params: Result<QueryParams<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let query = match query_from(params, Endpoint::List) {
        Ok(q) => q,
        Err(response) => return *response,
    };
    let body = if query.q.is_none() {
        let listing = async { Ok(Some(page_json(state.store.list(&query).await?))) };
        state
            .cached_body(&state.listing_cache, query_key(&query), listing)
            .await
            .map(Option::unwrap_or_default)
    } else if query.q.is_some() && state.search_cache.enabled() {
        search_page(&state, &query).await.map(page_json)
    } else {
        state.store.list(&query).await.map(page_json)
    };
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => store_error(err),
    }
}

/// A search page: its ids and snippets from the search cache while nothing new has been
/// stored since it was computed (the records themselves read fresh), else searched for.
async fn search_page(state: &ApiState, query: &Query) -> Result<Page, StoreError> {
    // Read before searching: a page is never tagged newer than what it saw.
    let tag = state.newest_event().await?;
    let key = query_key(query);
    if let Some(cached) = state.search_cache.get(&key, tag) {
        let ids: Vec<String> = cached.hits.iter().map(|(id, _)| id.clone()).collect();
        let records = state.store.records(&ids).await?;
        // Every record is there unless the archive changed under the tag (it cannot lose
        // records through the API, but an operator can): then search again.
        if records.iter().all(Option::is_some) {
            let items = cached
                .hits
                .iter()
                .zip(records)
                .filter_map(|((id, snippet), record)| {
                    Some(Hit {
                        id: id.clone(),
                        record: record?,
                        snippet: snippet.clone(),
                    })
                })
                .collect();
            return Ok(Page {
                items,
                next_cursor: cached.next_cursor.clone(),
            });
        }
    }
    let page = state.store.list(query).await?;
    state.search_cache.put(
        key,
        tag,
        CachedPage {
            hits: page
                .items
                .iter()
                .map(|hit| (hit.id.clone(), hit.snippet.clone()))
                .collect(),
            next_cursor: page.next_cursor.clone(),
        },
    );
    Ok(page)
}

async fn get_one(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match id_from(path) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    if let Some(id) = id.strip_suffix(crate::export::http::TEI_SUFFIX) {
        return crate::export::http::tei_response(&state.store, id).await;
    }
    let record = async { Ok(state.store.get(&id).await?.map(Bytes::from)) };
    match state
        .cached_body(&state.record_cache, id.clone(), record)
        .await
    {
        Ok(Some(record)) => ([(header::CONTENT_TYPE, "application/json")], record).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no speech record with id {id:?}; list the records with GET /v1/speeches"),
        ),
        Err(err) => store_error(err),
    }
}

fn paragraphs_of(record: &Value) -> Vec<String> {
    record
        .get("paragraphs")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn versions(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match id_from(path) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let entries = match state.store.versions(&id).await {
        Ok(entries) => entries,
        Err(err) => return store_error(err),
    };
    if entries.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            format!("no speech record with id {id:?}; list the records with GET /v1/speeches"),
        );
    }
    let mut previous: Option<Vec<String>> = None;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let record: Value = serde_json::from_str(&entry.record).unwrap_or(Value::Null);
        let paragraphs = paragraphs_of(&record);
        let diff = previous
            .as_ref()
            .map(|old| diff_paragraphs(old, &paragraphs));
        out.push(json!({
            "version": entry.version,
            "content_hash": entry.content_hash,
            "stored_at": entry.stored_at,
            "record": record,
            "diff": diff,
        }));
        previous = Some(paragraphs);
    }
    axum::Json(json!({ "id": id, "versions": out })).into_response()
}

async fn feed(
    State(state): State<ApiState>,
    headers: HeaderMap,
    uri: Uri,
    params: Result<QueryParams<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let query = match query_from(params, Endpoint::Feed) {
        Ok(q) => q,
        Err(response) => return *response,
    };
    let page = match state.store.list(&query).await {
        Ok(page) => page,
        Err(err) => return store_error(err),
    };
    let records: Vec<SpeechRecord> = page
        .items
        .iter()
        .filter_map(|hit| serde_json::from_str(&hit.record).ok())
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let self_url = format!("http://{host}{uri}");
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        atom::render(&records, &self_url, Utc::now()),
    )
        .into_response()
}

fn lines(page: &Page) -> Bytes {
    let mut chunk = String::new();
    for hit in &page.items {
        chunk.push_str(&hit.record);
        chunk.push('\n');
    }
    Bytes::from(chunk)
}

async fn export(
    State(state): State<ApiState>,
    params: Result<QueryParams<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let query = match query_from(params, Endpoint::Export) {
        Ok(q) => q,
        Err(response) => return *response,
    };
    let mut pages = RecordPages::new(state.store.clone(), query);
    // The first page decides the status; later pages stream.
    let first_chunk = match pages.next_page().await {
        Ok(page) => page.as_ref().map(lines).unwrap_or_default(),
        Err(err) => return store_error(err),
    };
    let rest = futures_util::stream::unfold(Some(pages), |pages| async move {
        let mut pages = pages?;
        match pages.next_page().await {
            Ok(Some(page)) => Some((Ok::<_, std::io::Error>(lines(&page)), Some(pages))),
            Ok(None) => None,
            Err(err) => {
                tracing::error!(error = %err, "export interrupted");
                Some((Err(std::io::Error::other(err.to_string())), None))
            }
        }
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(first_chunk) }),
        rest,
    );
    (
        [(header::CONTENT_TYPE, "application/jsonl; charset=utf-8")],
        Body::from_stream(body),
    )
        .into_response()
}

async fn openapi_json() -> Response {
    axum::Json(openapi::document()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Cursor;

    #[test]
    fn list_body_keeps_field_order_and_adds_snippets() {
        let page = Page {
            items: vec![
                Hit {
                    id: "a".into(),
                    record: r#"{"z":1,"a":"x"}"#.into(),
                    snippet: Some("a <mark>\"b\"</mark>".into()),
                },
                Hit {
                    id: "b".into(),
                    record: r#"{"z":2}"#.into(),
                    snippet: None,
                },
            ],
            next_cursor: Some(Cursor::Offset(2)),
        };
        let body = String::from_utf8(page_json(page).to_vec()).expect("UTF-8");
        assert!(
            body.starts_with(r#"{"items":[{"z":1,"a":"x","snippet":"#),
            "{body}"
        );
        let value: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(value["items"][0]["snippet"], "a <mark>\"b\"</mark>");
        assert_eq!(value["items"][1]["z"], 2);
        assert_eq!(
            value["next_cursor"]
                .as_str()
                .map(Cursor::decode)
                .and_then(Result::ok),
            Some(Cursor::Offset(2))
        );
        let empty = page_json(Page {
            items: vec![],
            next_cursor: None,
        });
        assert_eq!(&empty[..], br#"{"items":[],"next_cursor":null}"#);
    }
}
