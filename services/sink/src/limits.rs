//! What the API does against hostile or overwhelming clients, built in one place
//! ([`harden`]): a concurrency limit that sheds load (503 with `Retry-After` at once, never a
//! queue of waiting requests), a request timeout (503 with `Retry-After`), limits on the
//! query string's length and on its number of parameters (400 with a JSON error), security
//! headers on every response, and CORS only for an origin the operator names.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clap::Args;
use serde_json::json;
use tokio::sync::Semaphore;

/// Longest accepted query string, in bytes (`q` alone may be 500 characters).
pub const MAX_QUERY_BYTES: usize = 4096;
/// Most parameters in one query string.
pub const MAX_QUERY_PARAMS: usize = 16;
/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECS: &str = "1";

/// The strict Content-Security-Policy: the API's own pages may load scripts, styles and
/// images from the sink itself only (no inline code), and no site may frame them.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The API's limits (flags of the sink).
#[derive(Debug, Clone, Args)]
pub struct ApiLimits {
    /// Longest time one API request may take; a slower one is answered 503 with Retry-After.
    #[arg(long, env = "SINK_REQUEST_TIMEOUT", default_value = "10s", value_parser = shared::config::parse_duration, global = true)]
    pub request_timeout: Duration,
    /// API requests served at once; more are answered 503 with Retry-After at once.
    #[arg(
        long,
        env = "SINK_MAX_CONCURRENT_REQUESTS",
        default_value_t = 64,
        global = true
    )]
    pub max_concurrent_requests: usize,
    /// Origin allowed to call the API from a browser (CORS), e.g. https://example.org;
    /// without it, no CORS header is sent.
    #[arg(long, env = "SINK_CORS_ORIGIN", global = true)]
    pub cors_origin: Option<String>,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 64,
            cors_origin: None,
        }
    }
}

#[derive(Clone)]
struct Guard {
    permits: Arc<Semaphore>,
    timeout: Duration,
    cors_origin: Option<HeaderValue>,
}

/// `router` behind the API's limits and headers.
pub fn harden(router: Router, limits: &ApiLimits) -> Result<Router, String> {
    let cors_origin = match &limits.cors_origin {
        Some(origin) => Some(HeaderValue::from_str(origin.trim()).map_err(|_| {
            format!(
                "--cors-origin {origin:?} is not a valid origin; give one such as https://example.org"
            )
        })?),
        None => None,
    };
    let guard = Guard {
        permits: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
        timeout: limits.request_timeout,
        cors_origin,
    };
    Ok(router.layer(axum::middleware::from_fn_with_state(guard, guarded)))
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn unavailable(message: String) -> Response {
    let mut response = json_error(StatusCode::SERVICE_UNAVAILABLE, message);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}

/// Refuses an over-long query string or one with too many parameters.
fn check_query(query: Option<&str>) -> Result<(), String> {
    let Some(query) = query else { return Ok(()) };
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "the query string is longer than {MAX_QUERY_BYTES} bytes; ask for less (q is limited to 500 characters)"
        ));
    }
    let params = query.split('&').filter(|p| !p.is_empty()).count();
    if params > MAX_QUERY_PARAMS {
        return Err(format!(
            "the query string has {params} parameters, more than {MAX_QUERY_PARAMS}; give each filter once"
        ));
    }
    Ok(())
}

async fn guarded(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS;
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else if let Err(message) = check_query(request.uri().query()) {
        json_error(StatusCode::BAD_REQUEST, message)
    } else {
        match guard.permits.clone().try_acquire_owned() {
            Err(_) => unavailable(
                "the sink is serving as many requests as it may at once; try again in a second"
                    .to_string(),
            ),
            Ok(permit) => {
                let started = tokio::time::Instant::now();
                let served = tokio::time::timeout(guard.timeout, next.run(request)).await;
                drop(permit);
                // A handler that finished, but later than the timeout, is over it too: the
                // answer does not depend on when the timer happened to be polled.
                served
                    .ok()
                    .filter(|_| started.elapsed() <= guard.timeout)
                    .unwrap_or_else(|| {
                    unavailable(format!(
                        "the request took longer than {:?} and was stopped; try again later or narrow it",
                        guard.timeout
                    ))
                })
            }
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let (Some(allowed), Some(origin)) = (&guard.cors_origin, origin)
        && (allowed == "*" || *allowed == origin)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, OPTIONS"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_crowded_query_strings_are_refused() {
        assert!(check_query(None).is_ok());
        assert!(check_query(Some("lang=en&kind=speech")).is_ok());
        assert!(check_query(Some(&"a".repeat(MAX_QUERY_BYTES + 1))).is_err());
        let crowded = vec!["lang=en"; MAX_QUERY_PARAMS + 1].join("&");
        assert!(
            check_query(Some(&crowded))
                .unwrap_err()
                .contains("parameters")
        );
    }
}
