//! PostgreSQL through psql (no client library needed): a database of the run's own.

use super::*;

pub(crate) fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-AtqX", "-F", "\t", "-c", sql])
        .output()
        .context("cannot run psql: install the PostgreSQL client (scripts/ensure-postgres does)")?;
    if !out.status.success() {
        bail!(
            "psql on {url} failed for `{sql}`: {} (is PostgreSQL running? run scripts/ensure-postgres)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(crate) async fn psql_async(url: &str, sql: &str) -> Result<String> {
    let out = tokio::process::Command::new("psql")
        .args([url, "-AtqX", "-c", sql])
        .output()
        .await
        .context("cannot run psql")?;
    if !out.status.success() {
        bail!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `url` with its database name replaced by `db`.
pub(crate) fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let mut out = match base[after_scheme..].find('/') {
        Some(i) => format!("{}/{db}", &base[..after_scheme + i]),
        None => format!("{base}/{db}"),
    };
    if !out.contains("://") {
        bail!("--database-url {url:?} is not a postgres:// URL");
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A database created for this run, dropped on [`TempDb::drop_now`].
pub(crate) struct TempDb {
    pub(crate) admin: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl TempDb {
    pub(crate) fn create(admin: &str) -> Result<TempDb> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!("bench_{}_{stamp}", std::process::id());
        psql(admin, &format!("CREATE DATABASE {name}"))?;
        Ok(TempDb {
            admin: admin.to_string(),
            url: with_database(admin, &name)?,
            name,
        })
    }

    pub(crate) fn drop_now(&self) {
        if let Err(e) = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            eprintln!("pipeline-bench: could not drop database {}: {e}", self.name);
        }
    }
}
