//! Request handling: faults, the request log, conditional requests, and the flavor's routes.

use super::*;

/// A resource ready to serve, before conditional-request handling.
pub(super) struct Resource {
    pub(super) status: StatusCode,
    pub(super) content_type: String,
    pub(super) body: Bytes,
    pub(super) etag: String,
    pub(super) last_modified: DateTime<Utc>,
    /// `Location` of a redirect.
    pub(super) location: Option<String>,
}

impl Resource {
    pub(super) fn generated(
        content_type: &str,
        body: String,
        last_modified: DateTime<Utc>,
    ) -> Resource {
        let body = Bytes::from(body);
        Resource {
            status: StatusCode::OK,
            content_type: content_type.to_string(),
            etag: etag_of(&body),
            body,
            last_modified,
            location: None,
        }
    }

    /// A 302 to `location`.
    pub(super) fn redirect(location: &str) -> Resource {
        let mut r = Resource::generated(
            "text/html; charset=UTF-8",
            "<html><body>Moved</body></html>\n".into(),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        r.status = StatusCode::FOUND;
        r.location = Some(location.to_string());
        r
    }

    /// A statement page as served.
    pub(super) fn page(page: &Page) -> Resource {
        Resource {
            status: StatusCode::OK,
            content_type: format!("text/html; charset={}", page.charset),
            body: page.bytes.clone(),
            etag: page.etag.clone(),
            last_modified: page.last_modified,
            location: None,
        }
    }
}

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let path_q = uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut logged = LoggedRequest {
        method: method.to_string(),
        path: path_q.clone(),
        status: 0,
        if_none_match: header_text(header::IF_NONE_MATCH),
        if_modified_since: header_text(header::IF_MODIFIED_SINCE),
        user_agent: header_text(header::USER_AGENT),
    };

    let fault = {
        let mut state = shared.lock();
        let rule = state
            .faults
            .iter_mut()
            .find(|r| r.remaining > 0 && path_q.starts_with(&r.prefix));
        rule.map(|r| {
            r.remaining -= 1;
            r.fault.clone()
        })
    };

    let response = match fault {
        Some(Fault::Reset) => {
            conn.kill();
            record(&shared, logged);
            // Never written: the connection fails on the first write.
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "reset");
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n");
            set_header(&mut r, header::RETRY_AFTER, &retry_after_secs.to_string());
            r
        }
        Some(Fault::Unavailable { retry_after_secs }) => {
            let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n");
            set_header(&mut r, header::RETRY_AFTER, &retry_after_secs.to_string());
            r
        }
        Some(Fault::Redirect(location)) => {
            let mut r = plain(StatusCode::FOUND, "Found\n");
            set_header(&mut r, header::LOCATION, &location);
            r
        }
        Some(Fault::Challenge) => {
            let body = shared.lock().challenge.clone();
            let resource = Resource {
                status: StatusCode::OK,
                content_type: "text/html; charset=UTF-8".into(),
                etag: etag_of(&body),
                body,
                last_modified: now_secs(),
                location: None,
            };
            finish(resource, &method, &headers, false)
        }
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            serve_path(&shared, &method, uri.path(), uri.query(), &headers)
        }
        None => serve_path(&shared, &method, uri.path(), uri.query(), &headers),
    };
    logged.status = response.status().as_u16();
    record(&shared, logged);
    response
}

pub(super) fn record(shared: &Shared, logged: LoggedRequest) {
    let mut state = shared.lock();
    if state.log_requests {
        tracing::info!(
            method = %logged.method,
            path = %logged.path,
            status = logged.status,
            user_agent = logged.user_agent.as_deref().unwrap_or("-"),
            "request"
        );
    }
    state.requests.push(logged);
}

pub(super) fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    set_header(&mut r, header::CONTENT_TYPE, "text/plain; charset=UTF-8");
    r
}

pub(super) fn set_header(r: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

pub(super) fn serve_path(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        set_header(&mut r, header::ALLOW, "GET, HEAD");
        return r;
    }
    let resource = {
        let state = shared.lock();
        // Absolute links (the feed) use the public URL when one is set (behind a TLS proxy),
        // else the host the client asked for, so that the site works behind any name
        // (`http://fixture-site:8700` in compose); else the bound address.
        let base_url = state
            .public_url
            .clone()
            .or_else(|| {
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| {
                        !h.is_empty()
                            && h.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
                    })
                    .map(|h| format!("http://{h}"))
            })
            .unwrap_or_else(|| shared.base_url.clone());
        match &state.flavor {
            Flavor::Mid => route(&state, &base_url, path, query),
            Flavor::Kremlin { lang } => kremlin::route(&state, &base_url, lang, path, query),
            Flavor::Fmprc => fmprc::route(&state, path, query),
            Flavor::Files { dir } => files::route(&state, dir, path),
        }
    };
    let resource = resource.unwrap_or_else(|| {
        let mut r = Resource::generated(
            "text/html; charset=UTF-8",
            "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Страница не найдена</h1></body></html>\n".into(),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        r.status = StatusCode::NOT_FOUND;
        r
    });
    finish(resource, method, headers, true)
}

pub(super) fn finish(
    resource: Resource,
    method: &Method,
    headers: &HeaderMap,
    conditional: bool,
) -> Response {
    let not_modified =
        conditional && resource.status == StatusCode::OK && is_not_modified(&resource, headers);
    let mut r = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(resource.body.clone())
        };
        let mut r = Response::new(body);
        *r.status_mut() = resource.status;
        set_header(&mut r, header::CONTENT_TYPE, &resource.content_type);
        if method == Method::HEAD {
            set_header(
                &mut r,
                header::CONTENT_LENGTH,
                &resource.body.len().to_string(),
            );
        }
        r
    };
    if let Some(location) = &resource.location {
        set_header(&mut r, header::LOCATION, location);
    }
    set_header(&mut r, header::ETAG, &resource.etag);
    set_header(
        &mut r,
        header::LAST_MODIFIED,
        &http_date(resource.last_modified),
    );
    set_header(&mut r, header::CACHE_CONTROL, "no-cache");
    r
}

pub(super) fn is_not_modified(resource: &Resource, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').map(str::trim).any(|tag| {
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == resource.etag.as_str()
        });
    }
    if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
    {
        return resource.last_modified <= ims.with_timezone(&Utc);
    }
    false
}
