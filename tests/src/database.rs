//! A private PostgreSQL database per test, on the server `TEST_DATABASE_URL` names.

use std::process::Command;

/// The server used when `TEST_DATABASE_URL` is not set (what `scripts/ensure-postgres` prints).
pub const DEFAULT_SERVER: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// A fresh PostgreSQL database, dropped at the end (`TEST_DATABASE_URL` names the server,
/// default `postgres://postgres@127.0.0.1:5432/postgres`).
pub struct TempDatabase {
    admin_url: String,
    name: String,
}

impl TempDatabase {
    /// Creates a database named `{prefix}_{pid}_{nanos}`; panics with instructions when
    /// PostgreSQL does not answer (a missing database fails the test, never skips it).
    pub fn create(prefix: &str) -> TempDatabase {
        let admin_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER.to_string());
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_subsec_nanos()
        );
        let db = TempDatabase { admin_url, name };
        db.psql(&db.admin_url, &format!("CREATE DATABASE {}", db.name));
        db
    }

    /// `(scheme, user-info with "@" or "", host:port, query with "?" or "")` of the admin URL.
    fn parts(&self) -> (String, String, String, String) {
        let bad = || {
            panic!(
                "TEST_DATABASE_URL {:?} is not postgres://[user[:password]@]host[:port]/db",
                self.admin_url
            )
        };
        let (scheme, rest) = self.admin_url.split_once("://").unwrap_or_else(bad);
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let query = path
            .find('?')
            .map(|i| path[i..].to_string())
            .unwrap_or_default();
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host.to_string()),
            None => (String::new(), authority.to_string()),
        };
        let host = if host.contains(':') {
            host
        } else {
            format!("{host}:5432")
        };
        (scheme.to_string(), user, host, query)
    }

    /// Address of the server.
    pub fn server(&self) -> std::net::SocketAddr {
        use std::net::ToSocketAddrs;
        let (_, _, host, _) = self.parts();
        host.to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("cannot resolve the database server {host}"))
    }

    /// The database's URL, through `via` instead of the server's own address.
    pub fn url_via(&self, via: std::net::SocketAddr) -> String {
        let (scheme, user, _, query) = self.parts();
        format!("{scheme}://{user}{via}/{}{query}", self.name)
    }

    /// The database's URL on the server itself.
    pub fn url(&self) -> String {
        self.url_via(self.server())
    }

    /// Runs `sql` with psql on `url` and returns its unaligned output.
    pub fn psql(&self, url: &str, sql: &str) -> String {
        self.try_psql(url, sql).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TempDatabase::psql`], with a failed query as an error instead of a panic.
    pub fn try_psql(&self, url: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
            .output()
            .map_err(|e| {
                format!(
                    "cannot run psql ({e}): install the PostgreSQL client and start the server \
                     (scripts/ensure-postgres), or set TEST_DATABASE_URL"
                )
            })?;
        if !out.status.success() {
            return Err(format!(
                "psql {sql:?} on {url} failed: {}; start PostgreSQL (scripts/ensure-postgres) or set TEST_DATABASE_URL",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A number from a query on the database itself (not through the proxy).
    pub fn count(&self, sql: &str) -> u64 {
        let text = self.psql(&self.url(), sql);
        text.parse()
            .unwrap_or_else(|e| panic!("{sql:?} answered {text:?}: {e}"))
    }

    /// Rows stored so far; 0 before the sink created its tables.
    pub fn stored(&self) -> u64 {
        let text = self.psql(
            &self.url(),
            "SELECT CASE WHEN to_regclass('speeches') IS NULL THEN 0 ELSE (SELECT count(*) FROM speeches) END",
        );
        text.parse().unwrap_or(0)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin_url.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
