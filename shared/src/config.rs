//! Flags every service shares. Each flag has an environment variable of the same meaning.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Connection, logging and operations flags, flattened into each service's command line.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// NATS server(s), comma-separated.
    #[arg(
        long,
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        global = true
    )]
    pub nats_url: String,

    /// NATS identity and TLS.
    #[command(flatten)]
    pub nats_auth: NatsAuthArgs,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Address for /healthz, /readyz and /metrics (disabled when not set).
    #[arg(long, env = "METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Replicas of each stream when this service creates it (3 on a three-node cluster).
    #[arg(long, env = "STREAM_REPLICAS", default_value_t = 1, global = true)]
    pub stream_replicas: usize,
}

/// How a service proves who it is to NATS and checks who NATS is: one identity (a `.creds`
/// file, a user with a password file, or an nkey seed file) and TLS settings. Secrets are
/// only ever read from files.
#[derive(Debug, Clone, Default, Args)]
pub struct NatsAuthArgs {
    /// NATS credentials file (`.creds`: user JWT and nkey seed).
    #[arg(long, env = "NATS_CREDS", value_name = "FILE", global = true,
          conflicts_with_all = ["nats_user", "nats_nkey_seed_file"])]
    pub nats_creds: Option<PathBuf>,

    /// NATS user name (with --nats-password-file).
    #[arg(
        long,
        env = "NATS_USER",
        global = true,
        requires = "nats_password_file",
        conflicts_with = "nats_nkey_seed_file"
    )]
    pub nats_user: Option<String>,

    /// File holding the NATS user's password (with --nats-user).
    #[arg(
        long,
        env = "NATS_PASSWORD_FILE",
        value_name = "FILE",
        global = true,
        requires = "nats_user"
    )]
    pub nats_password_file: Option<PathBuf>,

    /// File holding the NATS nkey seed (`SU...`).
    #[arg(long, env = "NATS_NKEY_SEED_FILE", value_name = "FILE", global = true)]
    pub nats_nkey_seed_file: Option<PathBuf>,

    /// PEM file of the CA that signed the NATS servers' certificates. Setting it requires
    /// TLS: a server that does not offer TLS, or whose certificate this CA did not sign, is
    /// refused (never a plaintext fallback). `tls://` URLs require TLS too.
    #[arg(long, env = "NATS_TLS_CA", value_name = "FILE", global = true)]
    pub nats_tls_ca: Option<PathBuf>,

    /// PEM client certificate, for servers that verify clients (with --nats-tls-key).
    #[arg(
        long,
        env = "NATS_TLS_CERT",
        value_name = "FILE",
        global = true,
        requires = "nats_tls_key"
    )]
    pub nats_tls_cert: Option<PathBuf>,

    /// PEM private key of --nats-tls-cert.
    #[arg(
        long,
        env = "NATS_TLS_KEY",
        value_name = "FILE",
        global = true,
        requires = "nats_tls_cert"
    )]
    pub nats_tls_key: Option<PathBuf>,
}

/// Reads a secret from `path` (named by `flag` in errors), without its trailing newline. The
/// secret itself never appears in an error.
pub fn read_secret_file(flag: &str, path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {flag} {}: {e}; check the path and that this user may read it",
            path.display()
        )
    })?;
    let secret = text.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(format!("{flag} {} is empty", path.display()));
    }
    Ok(secret)
}

/// `url` with any password replaced by `***`, for logs, errors and health answers.
pub fn redact_url(url: &str) -> String {
    url.split(',').map(redact_one).collect::<Vec<_>>().join(",")
}

/// [`redact_url`] of one URL: the password of the user-info (all of it for NATS, where a
/// lone user-info is a token) and `password`/`sslpassword` query values become `***`.
fn redact_one(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let scheme = url[..scheme_end].trim().to_ascii_lowercase();
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..scheme_end + 3].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => out.push_str(&format!("{user}:***")),
                None if matches!(scheme.as_str(), "nats" | "tls" | "ws" | "wss") => {
                    out.push_str("***")
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _))
                        if key.eq_ignore_ascii_case("password")
                            || key.eq_ignore_ascii_case("sslpassword") =>
                    {
                        format!("{key}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

/// Parses a duration such as `10m`, `2s` or `500ms` (for clap `value_parser`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: write a duration such as 500ms, 2s, 10m or 1h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(
            redact_url("postgres://u:s3cret@db:5432/x?sslmode=verify-full&password=p2"),
            "postgres://u:***@db:5432/x?sslmode=verify-full&password=***"
        );
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
        assert_eq!(
            redact_url("nats://tok3n@n1:4222,tls://a:b@n2:4222"),
            "nats://***@n1:4222,tls://a:***@n2:4222"
        );
        assert_eq!(redact_url("nats://n1:4222"), "nats://n1:4222");
    }

    #[test]
    fn secret_files_are_read_without_the_newline_and_never_echoed() {
        let dir = std::env::temp_dir().join(format!("secret-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("pw");
        std::fs::write(&path, "hunter2\n").expect("write");
        assert_eq!(
            read_secret_file("--x-file", &path).as_deref(),
            Ok("hunter2")
        );
        std::fs::write(&path, "\n").expect("write");
        let empty = read_secret_file("--x-file", &path).expect_err("empty");
        assert!(empty.contains("is empty"), "{empty}");
        let missing = read_secret_file("--x-file", &dir.join("nope")).expect_err("missing");
        assert!(missing.starts_with("cannot read --x-file"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
