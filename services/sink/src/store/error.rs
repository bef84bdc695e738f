//! The stores' errors: what went wrong and what to do, and which of them a retry may cure.

/// Errors of the stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error(
        "DATABASE_URL {0:?} is not supported: use sqlite://PATH (e.g. sqlite://./data/speeches.db) or postgres://USER@HOST:PORT/DB"
    )]
    BadUrl(String),
    /// The SQLite file's directory cannot be created.
    #[error(
        "cannot create the directory {path} for the SQLite database: {source}; choose another path in DATABASE_URL or fix its permissions"
    )]
    CreateDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A certificate or key file named in the PostgreSQL URL cannot be read.
    #[error(
        "cannot read the TLS file {param}={path} (DATABASE_URL or PGSSL* variables): {source}; check the path and that this user may read it"
    )]
    TlsFile {
        /// The libpq parameter (`sslrootcert`, `sslcert`, `sslkey`).
        param: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database cannot be opened or reached.
    #[error("cannot connect to the database {url}: {source}; {}", connect_hint(.source))]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The schema migrations failed.
    #[error(
        "database migrations failed: {0}; the schema was changed by hand or by a newer sink: restore it or use a fresh database"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A record could not be encoded or a stored one decoded.
    #[error("record JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// A write was stopped before its transaction began because the sink is shutting down.
    #[error(
        "the write was stopped before it began: the sink is shutting down; its records stay unacknowledged and are delivered again"
    )]
    Stopped,
}

impl StoreError {
    /// Whether retrying later may succeed (the database is unreachable, busy or restarting),
    /// as opposed to an error that the same input will meet again.
    pub fn is_transient(&self) -> bool {
        match self {
            // A server whose certificate fails verification, or that offers no TLS where the
            // URL demands it, will not change by waiting: the sink stops with the reason.
            StoreError::Connect { source, .. } => {
                !is_tls_refusal(source) && sqlx_error_is_transient(source)
            }
            StoreError::Query(source) => sqlx_error_is_transient(source),
            StoreError::Stopped => true,
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => {
                sqlx_error_is_transient(source)
            }
            _ => false,
        }
    }
}

/// Whether connecting failed in TLS: the server's certificate did not verify (unknown CA,
/// wrong host name, expired) or the server offers no TLS where `sslmode` demands it.
fn is_tls_refusal(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
}

/// What to check after a failed connection.
fn connect_hint(err: &sqlx::Error) -> &'static str {
    if is_tls_refusal(err) {
        "TLS failed: check sslrootcert (in DATABASE_URL or PGSSLROOTCERT: the CA that signed the server's certificate), \
         that the URL's host is named in the certificate, and that the server has TLS on; \
         with sslmode=verify-full there is no plaintext fallback"
    } else {
        "check DATABASE_URL and that the database server runs"
    }
}

fn sqlx_error_is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // PostgreSQL: connection exceptions (08), insufficient resources (53), operator
            // intervention (57), serialization failure, deadlock, and a unique violation
            // from a concurrent writer (retrying sees its row). SQLite: BUSY (5), LOCKED (6),
            // IOERR (10), FULL (13), CANTOPEN (14), and their extended codes.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "40001"
                || code == "40P01"
                || code == "23505"
                || code
                    .parse::<i64>()
                    .map(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14))
                    .unwrap_or(false)
        }
        _ => false,
    }
}
