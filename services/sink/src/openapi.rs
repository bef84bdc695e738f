//! The hand-written OpenAPI 3.1 description of the HTTP API, served at `/v1/openapi.json`.

use serde_json::{Value, json};

use crate::store::{DEFAULT_LIMIT, MAX_LIMIT};

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn filters() -> Vec<Value> {
    let langs: Vec<&str> = shared::Lang::ALL.iter().map(|l| l.as_str()).collect();
    let kinds: Vec<&str> = shared::Kind::ALL.iter().map(|k| k.as_str()).collect();
    vec![
        param(
            "source",
            "Only records of this source (the profile's name).",
            json!({ "type": "string", "maxLength": 100, "examples": ["mid.ru", "kremlin.ru", "fmprc.gov.cn"] }),
        ),
        param(
            "lang",
            "Only this language.",
            json!({ "type": "string", "enum": langs }),
        ),
        param(
            "kind",
            "Only this kind of statement.",
            json!({ "type": "string", "enum": kinds }),
        ),
        param(
            "speaker",
            "Only statements with a speaker whose name contains this (case-insensitive). Letters, spaces, dots, hyphens and apostrophes.",
            json!({ "type": "string", "maxLength": 100, "examples": ["Lavrov"] }),
        ),
        param(
            "since",
            "Published at or after: a Moscow calendar day (YYYY-MM-DD) or an RFC 3339 time.",
            json!({ "type": "string", "examples": ["2024-01-01", "2024-01-01T09:00:00Z"] }),
        ),
        param(
            "until",
            "Published at or before: a Moscow calendar day (the whole day is included) or an RFC 3339 time.",
            json!({ "type": "string", "examples": ["2024-01-31"] }),
        ),
        param(
            "q",
            "Full-text search in web-search syntax: words, \"quoted phrases\", OR, -excluded. Results are ranked by relevance and carry a `snippet`.",
            json!({ "type": "string", "maxLength": 500 }),
        ),
    ]
}

fn limit() -> Value {
    param(
        "limit",
        "Records per page.",
        json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT }),
    )
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut list_params = filters();
    list_params.push(limit());
    list_params.push(param(
        "cursor",
        "Opaque position returned as `next_cursor` by the previous page of the same query.",
        json!({ "type": "string" }),
    ));
    let mut feed_params = filters();
    feed_params.push(limit());
    let mut event_params: Vec<Value> = filters().into_iter().filter(|p| p["name"] != "q").collect();
    event_params.push(param(
        "after",
        "Resume after this event id (as `Last-Event-ID`, which wins when both are given): the events stored since are sent first, at most 1000; beyond that a `gap` event says to re-read the list.",
        json!({ "type": "integer", "minimum": 0 }),
    ));
    event_params.push(json!({
        "name": "Last-Event-ID", "in": "header", "required": false,
        "description": "The `id` of the last event received; browsers' EventSource sends it when they reconnect.",
        "schema": { "type": "integer", "minimum": 0 }
    }));
    let id_param = json!({
        "name": "id", "in": "path", "required": true,
        "description": "Record id, `{source}:{doc_id}:{lang}`.",
        "schema": { "type": "string", "examples": ["mid.ru:1653435:en"] }
    });
    let export_paths = crate::export::http::openapi_paths(&filters(), &list_params);
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ministry-feed sink API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read-only access to the statements of the Russian Ministry of Foreign Affairs (mid.ru) collected by ministry-feed. Every invalid parameter is answered with 400 and a JSON error saying what is accepted."
        },
        "paths": {
            "/v1/speeches": { "get": {
                "summary": "List speech records, newest first (best first with q)",
                "operationId": "listSpeeches",
                "parameters": list_params,
                "responses": {
                    "200": { "description": "A page of records", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Page" } } } },
                    "400": error_response("A parameter is invalid"),
                    "503": error_response("The database is unavailable")
                }
            }},
            "/v1/speeches/{id}": { "get": {
                "summary": "One speech record, latest version",
                "operationId": "getSpeech",
                "parameters": [id_param.clone()],
                "responses": {
                    "200": { "description": "The record", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SpeechRecord" } } } },
                    "400": error_response("The id is invalid"),
                    "404": error_response("No record has this id"),
                    "503": error_response("The database is unavailable")
                }
            }},
            "/v1/speeches/{id}/versions": { "get": {
                "summary": "Every stored version of a record, oldest first, with paragraph-level diffs",
                "operationId": "getSpeechVersions",
                "parameters": [id_param],
                "responses": {
                    "200": { "description": "The versions", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Versions" } } } },
                    "400": error_response("The id is invalid"),
                    "404": error_response("No record has this id"),
                    "503": error_response("The database is unavailable")
                }
            }},
            "/v1/feed.atom": { "get": {
                "summary": "Full-text Atom feed of the newest matching records",
                "operationId": "atomFeed",
                "parameters": feed_params,
                "responses": {
                    "200": { "description": "An Atom 1.0 feed", "content": { "application/atom+xml": { "schema": { "type": "string" } } } },
                    "400": error_response("A parameter is invalid"),
                    "503": error_response("The database is unavailable")
                }
            }},
            "/v1/export.jsonl": { "get": {
                "summary": "Every matching record, streamed as JSON Lines",
                "operationId": "exportJsonl",
                "parameters": filters(),
                "responses": {
                    "200": { "description": "One record per line", "content": { "application/jsonl": { "schema": { "type": "string" } } } },
                    "400": error_response("A parameter is invalid"),
                    "503": error_response("The database is unavailable")
                }
            }},
            "/v1/events": { "get": {
                "summary": "Server-Sent Events: one `stored` event per record version the sink stores, after its commit",
                "description": "A `text/event-stream` that stays open. Each event has `id:` (the store's durable, increasing sequence number), `event: stored` and `data:` a StoredEvent JSON. Filters work as for /v1/speeches (no q). Without a resume point the stream starts with what is stored from now on. A comment is sent every 15 s to keep the connection open; `retry: 2000` tells browsers to reconnect after 2 s.",
                "operationId": "events",
                "parameters": event_params,
                "responses": {
                    "200": { "description": "The event stream", "content": { "text/event-stream": { "schema": { "$ref": "#/components/schemas/StoredEvent" } } } },
                    "400": error_response("A parameter is invalid")
                }
            }},
            "/v1/openapi.json": { "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": { "200": { "description": "OpenAPI 3.1 document", "content": { "application/json": {} } } }
            }},
            "/healthz": { "get": {
                "summary": "Liveness: the process serves HTTP",
                "operationId": "healthz",
                "responses": { "200": { "description": "ok", "content": { "text/plain": {} } } }
            }},
            "/readyz": { "get": {
                "summary": "Readiness: the database answers and the NATS streams are reachable",
                "operationId": "readyz",
                "responses": {
                    "200": { "description": "ready", "content": { "text/plain": {} } },
                    "503": { "description": "not ready, with the reason", "content": { "text/plain": {} } }
                }
            }},
            "/metrics": { "get": {
                "summary": "Prometheus metrics (OpenMetrics text)",
                "operationId": "metrics",
                "responses": { "200": { "description": "metrics", "content": { "application/openmetrics-text": {} } } }
            }}
        },
        "components": { "schemas": {
            "Error": {
                "type": "object", "required": ["error"],
                "properties": { "error": { "type": "string", "description": "What is wrong and what is accepted" } }
            },
            "SpeechRecord": {
                "type": "object",
                "description": "A normalized statement (see shared/schemas/speech_record.v1.json).",
                "required": ["schema_version", "id", "source", "doc_id", "lang", "url", "title", "kind", "speakers", "paragraphs", "turns", "tags", "translations", "content_hash", "fetched_at", "parser_version"],
                "properties": {
                    "schema_version": { "type": "integer" },
                    "id": { "type": "string" },
                    "source": { "type": "string" },
                    "doc_id": { "type": "string" },
                    "lang": { "type": "string" },
                    "url": { "type": "string", "format": "uri" },
                    "title": { "type": "string" },
                    "kind": { "type": "string" },
                    "speakers": { "type": "array", "items": { "type": "string" } },
                    "location": { "type": ["string", "null"] },
                    "event_date": { "type": ["string", "null"], "format": "date" },
                    "published_at": { "type": ["string", "null"], "format": "date-time" },
                    "doc_number": { "type": ["string", "null"] },
                    "paragraphs": { "type": "array", "items": { "type": "string" } },
                    "turns": { "type": "array", "items": { "type": "object", "properties": {
                        "speaker": { "type": "string" }, "text": { "type": "string" }, "interpreted": { "type": "boolean" } } } },
                    "tags": { "type": "array", "items": { "type": "string" } },
                    "translations": { "type": "object", "additionalProperties": { "type": "string" } },
                    "quality": { "type": "string", "enum": ["full", "fallback"] },
                    "content_hash": { "type": "string" },
                    "fetched_at": { "type": "string", "format": "date-time" },
                    "parser_version": { "type": "string" },
                    "snippet": { "type": "string", "description": "Only in search results: an excerpt with the matches between <mark> and </mark>." }
                }
            },
            "Page": {
                "type": "object", "required": ["items", "next_cursor"],
                "properties": {
                    "items": { "type": "array", "items": { "$ref": "#/components/schemas/SpeechRecord" } },
                    "next_cursor": { "type": ["string", "null"], "description": "Pass as `cursor` to get the next page; null on the last page." }
                }
            },
            "StoredEvent": {
                "type": "object",
                "description": "The `data:` of a `stored` event: what was stored, in short; GET `record` for the whole record.",
                "required": ["seq", "id", "version", "change", "source", "doc_id", "lang", "kind", "title", "speakers", "url", "record"],
                "properties": {
                    "seq": { "type": "integer", "description": "Same as the event's id" },
                    "id": { "type": "string" },
                    "version": { "type": "integer", "minimum": 1 },
                    "change": { "type": "string", "enum": ["inserted", "new_version"] },
                    "source": { "type": "string" },
                    "doc_id": { "type": "string" },
                    "lang": { "type": "string" },
                    "kind": { "type": "string" },
                    "title": { "type": "string" },
                    "speakers": { "type": "array", "items": { "type": "string" } },
                    "location": { "type": ["string", "null"] },
                    "published_at": { "type": ["string", "null"], "format": "date-time" },
                    "url": { "type": "string", "format": "uri" },
                    "record": { "type": "string", "description": "Path of the record in this API" }
                }
            },
            "Change": {
                "type": "object", "required": ["index", "text"],
                "properties": { "index": { "type": "integer", "minimum": 0 }, "text": { "type": "string" } }
            },
            "Versions": {
                "type": "object", "required": ["id", "versions"],
                "properties": {
                    "id": { "type": "string" },
                    "versions": { "type": "array", "items": {
                        "type": "object", "required": ["version", "content_hash", "stored_at", "record", "diff"],
                        "properties": {
                            "version": { "type": "integer", "minimum": 1 },
                            "content_hash": { "type": "string" },
                            "stored_at": { "type": "string", "format": "date-time" },
                            "record": { "$ref": "#/components/schemas/SpeechRecord" },
                            "diff": {
                                "description": "Paragraphs added and removed since the previous version; null for the first.",
                                "oneOf": [ { "type": "null" }, { "type": "object", "properties": {
                                    "added": { "type": "array", "items": { "$ref": "#/components/schemas/Change" } },
                                    "removed": { "type": "array", "items": { "$ref": "#/components/schemas/Change" } } } } ]
                            }
                        }
                    } }
                }
            }
        } }
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.extend(export_paths);
    }
    doc["components"]["schemas"]["PairPage"] = crate::export::http::openapi_pair_page();
    doc
}
