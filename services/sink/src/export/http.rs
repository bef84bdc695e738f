//! The export endpoints: `GET /v1/export.parquet` (streamed, a row group at a time),
//! `GET /v1/speeches/{id}.tei.xml` (served by the record route, see [`tei_response`]) and
//! `GET /v1/pairs` (a page of language pairs).

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query as QueryParams, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::Value;

use super::columns::Table;
use super::pairs::{pair, partners};
use super::parquet::ParquetOut;
use super::{ExportError, Item, Pages, get_item, tei};
use crate::api::{error, query_from, store_error};
use crate::params::Endpoint;
use crate::store::{AnyStore, Store};

/// The export routes, merged into the API by [`crate::api::router`].
pub fn router(store: AnyStore) -> Router {
    Router::new()
        .route("/v1/export.parquet", get(export_parquet))
        .route("/v1/pairs", get(list_pairs))
        .with_state(store)
}

/// The suffix that asks the record route for a TEI document.
pub const TEI_SUFFIX: &str = ".tei.xml";

fn export_error(err: ExportError) -> Response {
    match err {
        ExportError::Store(err) => store_error(err),
        other => {
            tracing::error!(error = %other, "export failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the export failed; the cause is in the sink's log",
            )
        }
    }
}

/// `table=records|turns` taken out of the query pairs (the rest are the export's filters).
fn take_table(pairs: &mut Vec<(String, String)>) -> Result<Table, Box<Response>> {
    let mut table = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (key, value) in pairs.drain(..) {
        if key != "table" {
            rest.push((key, value));
            continue;
        }
        if table.is_some() {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "parameter table is given more than once; give it once",
            )));
        }
        table = Some(match value.as_str() {
            "records" => Table::Records,
            "turns" => Table::Turns,
            _ => {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "table {value:?} is unknown; use table=records (one row per record, the default) or table=turns (one row per turn)"
                    ),
                )));
            }
        });
    }
    *pairs = rest;
    Ok(table.unwrap_or(Table::Records))
}

/// Encodes a page into the writer off the async threads; gives back the writer and the
/// bytes ready to send.
async fn encode(
    mut out: ParquetOut<Vec<u8>>,
    items: Vec<Item>,
) -> Result<(ParquetOut<Vec<u8>>, Bytes), ExportError> {
    tokio::task::spawn_blocking(move || {
        out.push(&items)?;
        let bytes = out.take_bytes()?;
        Ok((out, Bytes::from(bytes)))
    })
    .await
    .map_err(|join| ExportError::Usage(format!("the export task failed: {join}")))?
}

async fn finish(out: ParquetOut<Vec<u8>>) -> Result<Bytes, ExportError> {
    tokio::task::spawn_blocking(move || out.finish().map(Bytes::from))
        .await
        .map_err(|join| ExportError::Usage(format!("the export task failed: {join}")))?
}

async fn export_parquet(
    State(store): State<AnyStore>,
    params: Result<QueryParams<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let mut pairs = match params {
        Ok(QueryParams(pairs)) => pairs,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the query string cannot be read: {rejection}"),
            );
        }
    };
    let table = match take_table(&mut pairs) {
        Ok(table) => table,
        Err(response) => return *response,
    };
    let query = match query_from(Ok(QueryParams(pairs)), Endpoint::Export) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let mut pages = Pages::new(store, query);
    // The first page decides the status; the rest streams.
    let first = match pages.next_page().await {
        Ok(page) => page.unwrap_or_default(),
        Err(err) => return export_error(err),
    };
    let out = match ParquetOut::new(table, Vec::new()) {
        Ok(out) => out,
        Err(err) => return export_error(err),
    };
    let (out, first_bytes) = match encode(out, first).await {
        Ok(done) => done,
        Err(err) => return export_error(err),
    };
    let rest = futures_util::stream::unfold(Some((pages, out)), |state| async move {
        let (mut pages, out) = state?;
        let step = async {
            match pages.next_page().await? {
                Some(items) => {
                    let (out, bytes) = encode(out, items).await?;
                    Ok::<_, ExportError>((bytes, Some((pages, out))))
                }
                None => Ok((finish(out).await?, None)),
            }
        };
        match step.await {
            Ok((bytes, next)) => Some((Ok::<_, std::io::Error>(bytes), next)),
            Err(err) => {
                tracing::error!(error = %err, "Parquet export interrupted");
                Some((Err(std::io::Error::other(err.to_string())), None))
            }
        }
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(first_bytes) }),
        rest,
    );
    (
        [
            (header::CONTENT_TYPE, "application/vnd.apache.parquet"),
            (
                header::CONTENT_DISPOSITION,
                match table {
                    Table::Records => "attachment; filename=\"records.parquet\"",
                    Table::Turns => "attachment; filename=\"turns.parquet\"",
                },
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `GET /v1/speeches/{id}.tei.xml`: the record's TEI document (`id` without the suffix).
pub async fn tei_response(store: &AnyStore, id: &str) -> Response {
    match get_item(store, id).await {
        Ok(Some(item)) => (
            [(header::CONTENT_TYPE, "application/tei+xml; charset=utf-8")],
            tei::render(&item.record),
        )
            .into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no speech record with id {id:?}; list the records with GET /v1/speeches"),
        ),
        Err(err) => export_error(err),
    }
}

/// The response body of `GET /v1/pairs`: the pairs found in one page of the listing.
async fn pairs_page(store: &AnyStore, query: &crate::store::Query) -> Result<String, ExportError> {
    let page = store.list(query).await?;
    let mut items = Vec::new();
    for hit in page.items {
        let item = Item::from_json(hit.record)?;
        for other in partners(store, &item, query.lang).await? {
            items.push(pair(&item.record, &other.record).to_json());
        }
    }
    let next = page.next_cursor.map(|c| Value::String(c.encode()));
    Ok(serde_json::json!({ "items": items, "next_cursor": next }).to_string())
}

async fn list_pairs(
    State(store): State<AnyStore>,
    params: Result<QueryParams<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let query = match query_from(params, Endpoint::List) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    match pairs_page(&store, &query).await {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => export_error(err),
    }
}

/// Adds the export endpoints to the OpenAPI document's `paths`.
pub fn openapi_paths(filters: &[Value], list_params: &[Value]) -> serde_json::Map<String, Value> {
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    let mut parquet_params = filters.to_vec();
    parquet_params.push(serde_json::json!({
        "name": "table", "in": "query", "required": false,
        "description": "records: one row per record (typed columns, lists of speakers, tags, paragraphs, a list of turn structs); turns: one row per question-and-answer turn.",
        "schema": { "type": "string", "enum": ["records", "turns"], "default": "records" }
    }));
    let mut paths = serde_json::Map::new();
    paths.insert("/v1/export.parquet".into(), serde_json::json!({ "get": {
        "summary": "Every matching record (or turn) as one Parquet file (zstd), streamed a row group at a time",
        "operationId": "exportParquet",
        "parameters": parquet_params,
        "responses": {
            "200": { "description": "A Parquet file; its columns are described in the codebook of `sink export --dataset`", "content": { "application/vnd.apache.parquet": { "schema": { "type": "string", "format": "binary" } } } },
            "400": error("A parameter is invalid"),
            "503": error("The database is unavailable")
        }
    }}));
    paths.insert("/v1/speeches/{id}.tei.xml".into(), serde_json::json!({ "get": {
        "summary": "One record as a TEI document (ParlaMint style), valid against services/sink/schemas/tei-speech.rng",
        "operationId": "getSpeechTei",
        "parameters": [{
            "name": "id", "in": "path", "required": true,
            "description": "Record id, `{source}:{doc_id}:{lang}`.",
            "schema": { "type": "string", "examples": ["mid.ru:1653435:en"] }
        }],
        "responses": {
            "200": { "description": "The TEI document", "content": { "application/tei+xml": { "schema": { "type": "string" } } } },
            "400": error("The id is invalid"),
            "404": error("No record has this id"),
            "503": error("The database is unavailable")
        }
    }}));
    paths.insert("/v1/pairs".into(), serde_json::json!({ "get": {
        "summary": "Documents that exist in two languages, as pairs with aligned paragraphs and turns, from one page of the listing (a page may hold fewer pairs than records; follow next_cursor)",
        "operationId": "listPairs",
        "parameters": list_params,
        "responses": {
            "200": { "description": "A page of pairs", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PairPage" } } } },
            "400": error("A parameter is invalid"),
            "503": error("The database is unavailable")
        }
    }}));
    paths
}

/// The schema of `GET /v1/pairs`' response, for the OpenAPI document's components.
pub fn openapi_pair_page() -> Value {
    let side = serde_json::json!({ "type": "object", "properties": {
        "id": { "type": "string" }, "lang": { "type": "string" }, "title": { "type": "string" }, "url": { "type": "string" } } });
    serde_json::json!({
        "type": "object", "required": ["items", "next_cursor"],
        "properties": {
            "items": { "type": "array", "items": { "type": "object", "properties": {
                "source": { "type": "string" },
                "doc_id": { "type": "string" },
                "kind": { "type": "string" },
                "published_at": { "type": ["string", "null"], "format": "date-time" },
                "a": side.clone(),
                "b": side,
                "paragraph_alignment": { "type": "string", "enum": ["position", "length"], "description": "position: as many paragraphs in both, the n-th with the n-th; length: Gale–Church length-based alignment (1–1, 1–2, 2–1 links; 1–0 and 0–1 for paragraphs without counterpart)" },
                "paragraphs": { "type": "array", "items": { "type": "object", "properties": {
                    "a": { "type": "array", "items": { "type": "integer" } },
                    "b": { "type": "array", "items": { "type": "integer" } },
                    "a_text": { "type": "string" }, "b_text": { "type": "string" } } } },
                "turns": { "type": "array", "description": "Turns paired by speaker order", "items": { "type": "object", "properties": {
                    "speaker": { "type": "string" }, "a": { "type": "integer" }, "b": { "type": "integer" },
                    "a_text": { "type": "string" }, "b_text": { "type": "string" } } } }
            } } },
            "next_cursor": { "type": ["string", "null"] }
        }
    })
}
