//! NATS plumbing: connecting with retry, creating streams and buckets, durable publishing.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};
use async_nats::{Client, ConnectOptions, HeaderMap};
use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::config::{NatsAuthArgs, read_secret_file, redact_url};
use crate::messages::{self, Body, MessageError, RawPage};
use crate::ops::ReadinessCheck;
use crate::subjects::{self, ConsumerSpec, STREAMS};

/// Errors of the NATS plumbing.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The NATS URL is malformed.
    #[error("cannot use NATS_URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The identity or TLS settings cannot be used (unreadable file, invalid credentials).
    #[error("NATS settings: {0}")]
    Settings(String),
    /// NATS refused the connection for a reason waiting cannot fix (identity, TLS).
    #[error("cannot connect to NATS at {url}: {reason}")]
    Refused {
        /// The URL, secrets hidden.
        url: String,
        /// What failed and what to check.
        reason: String,
    },
    /// Shutdown was requested while waiting.
    #[error("shutdown requested while waiting for NATS")]
    Cancelled,
    /// A JetStream call failed.
    #[error(
        "JetStream {action} failed: {reason}; check that nats-server runs with -js (JetStream) and is version 2.9 or newer"
    )]
    JetStream {
        /// What was attempted.
        action: String,
        /// The server's or client's reason.
        reason: String,
    },
    /// A publish was not acknowledged after every retry.
    #[error("publish to {subject} was not acknowledged after {attempts} attempts: {reason}")]
    Publish {
        /// Subject.
        subject: String,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        reason: String,
    },
    /// A message body could not be decoded.
    #[error(transparent)]
    Message(#[from] MessageError),
}

fn js_err(action: impl Into<String>, err: impl std::fmt::Display) -> NatsError {
    NatsError::JetStream {
        action: action.into(),
        reason: err.to_string(),
    }
}

/// The servers of a `NATS_URL` value: comma-separated URLs, blanks around them ignored.
/// (async-nats parses a `&str` as one URL, so a list must be split before connecting.)
pub fn server_list(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .collect()
}

/// The secrets and settings of a connection, read once before the first attempt.
struct Identity {
    creds: Option<String>,
    user: Option<(String, String)>,
    nkey_seed: Option<String>,
}

impl Identity {
    fn read(auth: &NatsAuthArgs, url: &str) -> Result<Identity, NatsError> {
        let bad = NatsError::Settings;
        let creds = match &auth.nats_creds {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                bad(format!(
                    "cannot read --nats-creds {}: {e}; check the path and that this user may read it",
                    path.display()
                ))
            })?),
            None => None,
        };
        let user = match (&auth.nats_user, &auth.nats_password_file) {
            (Some(user), Some(path)) => Some((
                user.clone(),
                read_secret_file("--nats-password-file", path).map_err(bad)?,
            )),
            // The client library ignores a user and password written in the URL: use them.
            (None, None) if auth.nats_creds.is_none() && auth.nats_nkey_seed_file.is_none() => {
                url_user(url)
            }
            (None, None) => None,
            _ => {
                return Err(bad(
                    "--nats-user and --nats-password-file go together: give both".into(),
                ));
            }
        };
        let nkey_seed = match &auth.nats_nkey_seed_file {
            Some(path) => Some(read_secret_file("--nats-nkey-seed-file", path).map_err(bad)?),
            None => None,
        };
        for (flag, path) in [
            ("--nats-tls-ca", &auth.nats_tls_ca),
            ("--nats-tls-cert", &auth.nats_tls_cert),
            ("--nats-tls-key", &auth.nats_tls_key),
        ] {
            if let Some(path) = path
                && let Err(e) = std::fs::metadata(path)
            {
                return Err(bad(format!(
                    "cannot read {flag} {}: {e}; check the path",
                    path.display()
                )));
            }
        }
        Ok(Identity {
            creds,
            user,
            nkey_seed,
        })
    }

    /// Connection options for one attempt.
    fn options(&self, auth: &NatsAuthArgs, client_name: &str) -> Result<ConnectOptions, NatsError> {
        let mut options = if let Some(creds) = &self.creds {
            ConnectOptions::with_credentials(creds).map_err(|e| {
                NatsError::Settings(format!(
                    "--nats-creds is not a valid credentials file: {e}; give the .creds file nsc or your NATS operator issued"
                ))
            })?
        } else if let Some((user, password)) = &self.user {
            ConnectOptions::with_user_and_password(user.clone(), password.clone())
        } else if let Some(seed) = &self.nkey_seed {
            ConnectOptions::with_nkey(seed.clone())
        } else {
            ConnectOptions::new()
        };
        options = options
            .name(client_name)
            .custom_inbox_prefix(crate::nats_auth::inbox_prefix(
                self.user
                    .as_ref()
                    .map_or(client_name, |(user, _)| user.as_str()),
            ))
            .connection_timeout(Duration::from_secs(5))
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Disconnected => {
                        tracing::warn!("lost the connection to NATS; reconnecting")
                    }
                    async_nats::Event::Connected => tracing::info!("connected to NATS"),
                    other => tracing::debug!(event = %other, "NATS event"),
                }
            });
        if let Some(ca) = &auth.nats_tls_ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&auth.nats_tls_cert, &auth.nats_tls_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        Ok(options)
    }
}

/// The `user:password` of the first server URL, if it has one.
fn url_user(url: &str) -> Option<(String, String)> {
    let first = server_list(url).into_iter().next()?;
    let (_, rest) = first.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Whether a failed connection attempt can never succeed by waiting: NATS refused the
/// identity, or TLS failed (wrong CA, a server without TLS). Returns what to tell the user.
fn fatal_connect_error(err: &async_nats::ConnectError, url: &str) -> Option<NatsError> {
    use async_nats::ConnectErrorKind as Kind;
    let text = err.to_string();
    let lower = text.to_ascii_lowercase();
    match err.kind() {
        Kind::ServerParse => Some(NatsError::BadUrl {
            url: url.to_string(),
            reason: text,
        }),
        Kind::AuthorizationViolation | Kind::Authentication => Some(NatsError::Refused {
            url: url.to_string(),
            reason: format!(
                "{text}; NATS refused this identity: check --nats-user and --nats-password-file, --nats-creds or --nats-nkey-seed-file (and that the server's configuration lists the user)"
            ),
        }),
        Kind::Tls => Some(NatsError::Refused {
            url: url.to_string(),
            reason: format!(
                "TLS failed: {text}; check --nats-tls-ca (the CA that signed the server's certificate), --nats-tls-cert/--nats-tls-key and that the server has TLS on"
            ),
        }),
        _ if lower.contains("certificate")
            || lower.contains("corrupt message")
            || lower.contains("handshake") =>
        {
            Some(NatsError::Refused {
                url: url.to_string(),
                reason: format!(
                    "TLS failed: {text}; check --nats-tls-ca (the CA that signed the server's certificate), the host name in the URL and that the server has TLS on"
                ),
            })
        }
        _ => None,
    }
}

/// Connects to NATS (`url`: one URL or a comma-separated list of a cluster's nodes) with the
/// identity and TLS settings of `auth`, retrying with backoff (and saying so in the log) until
/// a server answers or `shutdown` fires. An identity NATS refuses and a failed TLS handshake
/// are errors at once (waiting cannot fix them; there is never a plaintext fallback). Later
/// disconnections are healed by the client itself. Replies come to the inboxes of the
/// `--nats-user`, else of `client_name` (see [`crate::nats_auth::inbox_prefix`]): name the
/// client after its identity.
pub async fn connect(
    url: &str,
    auth: &NatsAuthArgs,
    client_name: &str,
    shutdown: &CancellationToken,
) -> Result<Client, NatsError> {
    let shown = redact_url(url);
    let servers = server_list(url);
    if servers.is_empty() {
        return Err(NatsError::BadUrl {
            url: shown,
            reason: "it is empty; set it to e.g. nats://127.0.0.1:4222".into(),
        });
    }
    let identity = Identity::read(auth, url)?;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        let options = identity.options(auth, client_name)?;
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => return Err(NatsError::Cancelled),
            result = options.connect(servers.as_slice()) => result,
        };
        match attempt {
            Ok(client) => return Ok(client),
            Err(err) => {
                if let Some(fatal) = fatal_connect_error(&err, &shown) {
                    return Err(fatal);
                }
                let delay = backoff.next_delay();
                tracing::warn!(
                    nats_url = %shown,
                    error = %err,
                    retry_in = ?delay,
                    "waiting for NATS: cannot connect yet"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(NatsError::Cancelled),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Creates every stream of [`STREAMS`] that does not exist yet. Safe to call from every
/// service at every start: existing streams are left as they are. Retries until JetStream
/// answers or `shutdown` fires.
pub async fn ensure_streams(
    js: &jetstream::Context,
    replicas: usize,
    shutdown: &CancellationToken,
) -> Result<(), NatsError> {
    for spec in STREAMS {
        let config = stream::Config {
            name: spec.name.to_string(),
            subjects: vec![spec.subjects.to_string()],
            description: Some(spec.description.to_string()),
            max_age: spec.max_age,
            duplicate_window: subjects::DEDUP_WINDOW,
            num_replicas: replicas.max(1),
            storage: stream::StorageType::File,
            ..Default::default()
        };
        retry_until(shutdown, &format!("create stream {}", spec.name), || {
            let config = config.clone();
            async move { js.get_or_create_stream(config).await.map(|_| ()) }
        })
        .await?;
    }
    Ok(())
}

/// Opens (creating if needed) the durable pull consumer `spec` on its stream.
pub async fn ensure_consumer(
    js: &jetstream::Context,
    spec: &ConsumerSpec,
    shutdown: &CancellationToken,
) -> Result<consumer::PullConsumer, NatsError> {
    let config = consumer::pull::Config {
        durable_name: Some(spec.durable.to_string()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: spec.ack_wait,
        max_deliver: spec.max_deliver,
        max_ack_pending: (spec.batch as i64 * 8).max(1024),
        ..Default::default()
    };
    retry_until(
        shutdown,
        &format!("open consumer {} on {}", spec.durable, spec.stream),
        || {
            let config = config.clone();
            async move {
                let stream = js.get_stream(spec.stream).await?;
                stream
                    .get_or_create_consumer(spec.durable, config)
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            }
        },
    )
    .await
}

/// Opens the key-value bucket `name`, creating it if needed with `history` versions per key.
///
/// The bucket's backing stream is created directly, which also works on nats-server 2.9
/// where the client's own bucket creation fails.
pub async fn ensure_kv(
    js: &jetstream::Context,
    name: &str,
    history: i64,
    replicas: usize,
    shutdown: &CancellationToken,
) -> Result<kv::Store, NatsError> {
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: history.max(1),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: replicas.max(1),
        storage: stream::StorageType::File,
        ..Default::default()
    };
    retry_until(shutdown, &format!("open key-value bucket {name}"), || {
        let config = config.clone();
        async move {
            js.get_or_create_stream(config).await?;
            js.get_key_value(name)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        }
    })
    .await
}

/// Runs `op` until it succeeds, logging what it waits for, with backoff between attempts.
pub async fn retry_until<T, E, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut op: F,
) -> Result<T, NatsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        let result = tokio::select! {
            _ = shutdown.cancelled() => return Err(NatsError::Cancelled),
            result = op() => result,
        };
        match result {
            Ok(value) => return Ok(value),
            Err(err) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %err, retry_in = ?delay, "waiting for JetStream: cannot {what} yet");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(NatsError::Cancelled),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Publishes `payload` on `subject` with the de-duplication id `msg_id` and waits for the
/// stream's acknowledgement, retrying up to `attempts` times with the same id (a retry of a
/// publish that did land is dropped by JetStream as a duplicate). Returns whether the
/// server saw it as a duplicate.
pub async fn publish_durable(
    js: &jetstream::Context,
    subject: &str,
    msg_id: &str,
    payload: Bytes,
    attempts: u32,
) -> Result<bool, NatsError> {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut last_error = String::new();
    for attempt in 1..=attempts.max(1) {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        let sent = js
            .publish_with_headers(subject.to_string(), headers, payload.clone())
            .await;
        match sent {
            Ok(ack_future) => match ack_future.await {
                Ok(ack) => return Ok(ack.duplicate),
                Err(err) => last_error = err.to_string(),
            },
            Err(err) => last_error = err.to_string(),
        }
        if attempt < attempts {
            let delay = backoff.next_delay();
            tracing::warn!(subject, attempt, error = %last_error, retry_in = ?delay, "publish not acknowledged; retrying with the same message id");
            tokio::time::sleep(delay).await;
        }
    }
    Err(NatsError::Publish {
        subject: subject.to_string(),
        attempts,
        reason: last_error,
    })
}

/// The bytes of a raw page, whether inline or in the object store.
pub async fn raw_page_body(js: &jetstream::Context, page: &RawPage) -> Result<Vec<u8>, NatsError> {
    match &page.body {
        Body::Inline { .. } => Ok(page.body.decode_inline()?),
        Body::ObjectStore {
            bucket,
            object,
            compression,
        } => {
            let store = js
                .get_object_store(bucket)
                .await
                .map_err(|e| js_err(format!("open object store {bucket}"), e))?;
            let mut reader = store
                .get(object)
                .await
                .map_err(|e| js_err(format!("read object {bucket}/{object}"), e))?;
            let mut bytes = Vec::new();
            (&mut reader)
                .take(messages::MAX_DECODED_BODY as u64 + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| js_err(format!("read object {bucket}/{object}"), e))?;
            Ok(messages::decompress(*compression, &bytes)?)
        }
    }
}

/// A service's NATS connection once it is made and its streams and consumers are set up,
/// shared with its readiness check (which answers "not set up yet" before: a service that
/// still waits for JetStream cannot do its work, even when other services' streams answer).
#[derive(Clone, Default)]
pub struct NatsHandle(Arc<OnceLock<Client>>);

impl NatsHandle {
    /// An empty handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the connection once the service's streams and consumers are set up (the first
    /// one stored stays).
    pub fn set(&self, client: Client) {
        let _ = self.0.set(client);
    }

    /// The connection, once made.
    pub fn get(&self) -> Option<&Client> {
        self.0.get()
    }

    /// The `nats` readiness check: connected, and every stream answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let handle = self.clone();
        Arc::new(move || {
            let client = handle.get().cloned();
            Box::pin(async move {
                let Some(client) = client else {
                    return Err(
                        "not set up yet (connecting to NATS, opening streams and consumers)"
                            .to_string(),
                    );
                };
                let js = jetstream::new(client.clone());
                streams_reachable(&client, &js).await
            })
        })
    }
}

/// Whether the client is connected and every stream answers.
pub async fn streams_reachable(client: &Client, js: &jetstream::Context) -> Result<(), String> {
    if client.connection_state() != async_nats::connection::State::Connected {
        return Err("not connected to NATS".into());
    }
    for spec in STREAMS {
        js.get_stream(spec.name)
            .await
            .map_err(|e| format!("stream {} unreachable: {e}", spec.name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::server_list;

    #[test]
    fn users_in_urls_are_found() {
        assert_eq!(
            super::url_user("nats://op:pw@127.0.0.1:4222,nats://op:pw@n2:4222"),
            Some(("op".to_string(), "pw".to_string()))
        );
        assert_eq!(super::url_user("nats://127.0.0.1:4222"), None);
        assert_eq!(super::url_user("nats://token@127.0.0.1:4222"), None);
    }

    #[test]
    fn server_list_splits_a_cluster_url() {
        assert_eq!(
            server_list("nats://n1:4222, nats://n2:4222,,nats://n3:4222 "),
            vec!["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]
        );
        assert_eq!(
            server_list("nats://127.0.0.1:4222"),
            vec!["nats://127.0.0.1:4222"]
        );
        assert!(server_list(" , ").is_empty());
    }
}
