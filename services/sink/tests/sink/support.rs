//! Test fixtures: generated records, private PostgreSQL databases, the app on a free port.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, FixedOffset, Utc};
use prometheus_client::registry::Registry;
use shared::{Kind, Lang, SpeechRecord};
use sink::store::{AnyStore, PgStore, SqliteStore, Store};
use testkit::TempDir;

/// The PostgreSQL server the tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A record with its content hash computed.
pub fn record(
    doc: u32,
    lang: Lang,
    kind: Kind,
    published_at: &str,
    title: &str,
    speakers: &[&str],
    paragraphs: &[&str],
) -> SpeechRecord {
    let published: Option<DateTime<FixedOffset>> = if published_at.is_empty() {
        None
    } else {
        Some(DateTime::parse_from_rfc3339(published_at).expect("test date"))
    };
    let mut record = SpeechRecord {
        schema_version: 1,
        id: SpeechRecord::make_id("mid.ru", &doc.to_string(), lang),
        source: "mid.ru".into(),
        doc_id: doc.to_string(),
        lang,
        url: format!("https://mid.ru/{lang}/foreign_policy/news/{doc}/"),
        title: title.into(),
        kind,
        speakers: speakers.iter().map(|s| s.to_string()).collect(),
        location: Some("Moscow".into()),
        event_date: published.map(|p| p.date_naive()),
        published_at: published,
        doc_number: None,
        paragraphs: paragraphs.iter().map(|s| s.to_string()).collect(),
        turns: vec![],
        tags: vec!["Test".into()],
        translations: BTreeMap::new(),
        quality: Default::default(),
        content_hash: String::new(),
        fetched_at: DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .expect("fetch date")
            .with_timezone(&Utc),
        parser_version: "test".into(),
    };
    record.content_hash = record.compute_content_hash();
    record
}

/// `record` with its paragraphs replaced (and the hash recomputed): an edit.
pub fn edited(record: &SpeechRecord, paragraphs: &[&str]) -> SpeechRecord {
    let mut edited = record.clone();
    edited.paragraphs = paragraphs.iter().map(|s| s.to_string()).collect();
    edited.content_hash = edited.compute_content_hash();
    edited
}

/// `n` generated English records, one a day back from 2024-06-30, kinds and speakers varied.
pub fn generated(n: u32, first_doc: u32) -> Vec<SpeechRecord> {
    let kinds = [
        Kind::Speech,
        Kind::Interview,
        Kind::Briefing,
        Kind::Statement,
    ];
    let speakers = ["Sergey Lavrov", "Maria Zakharova", "Alexander Grushko"];
    (0..n)
        .map(|i| {
            let day = chrono::NaiveDate::from_ymd_opt(2024, 6, 30).expect("date")
                - chrono::Duration::days(i64::from(i % 3000));
            let published = format!("{day}T{:02}:00:00+03:00", 8 + i % 12);
            let body = [
                format!("Paragraph one of statement {i} on strategic stability."),
                format!("Paragraph two of statement {i} on bilateral relations and trade."),
                "Question: What about the economy?".to_string(),
                format!("Answer number {i}: the economy is growing despite everything."),
            ];
            let body: Vec<&str> = body.iter().map(String::as_str).collect();
            record(
                first_doc + i,
                Lang::En,
                kinds[i as usize % kinds.len()],
                &published,
                &format!("Generated statement number {i}"),
                &[speakers[i as usize % speakers.len()]],
                &body,
            )
        })
        .collect()
}

/// A fresh SQLite database in a temporary directory (removed on drop).
pub struct SqliteDb {
    /// The store.
    pub store: SqliteStore,
    /// The database file.
    pub path: std::path::PathBuf,
    /// The directory holding the file.
    pub _dir: TempDir,
}

impl SqliteDb {
    /// Creates the database in a new nested directory (exercising directory creation).
    pub async fn new() -> SqliteDb {
        let dir = TempDir::new("sink-sqlite");
        let path = dir.path().join("nested/dir/speeches.db");
        let store = SqliteStore::open(&path)
            .await
            .unwrap_or_else(|e| panic!("cannot open SQLite at {}: {e}", path.display()));
        SqliteDb {
            store,
            path,
            _dir: dir,
        }
    }
}

/// A uniquely named database on the server of [`admin_url`], dropped at the end.
pub struct PgDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl PgDb {
    /// Creates the database; panics (failing the test) when the server is unreachable.
    pub async fn create() -> PgDb {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let admin = admin_url();
        let name = format!(
            "sink_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Utc::now().timestamp_subsec_nanos()
        );
        let mut conn = connect_admin(&admin).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name} on {admin}: {e}"));
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base.to_string())
            .unwrap_or(admin.clone());
        PgDb {
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// Drops the database.
    pub async fn drop_db(self) {
        let admin = admin_url();
        let mut conn = connect_admin(&admin).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot drop test database {}: {e}", self.name));
    }

    /// Runs `test` against a store on a fresh database, dropping the database afterwards
    /// even when the test fails.
    pub async fn with_store<F, Fut>(test: F)
    where
        F: FnOnce(PgStore) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let db = PgDb::create().await;
        let store = PgStore::open(&db.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
        let outcome = tokio::spawn(test(store.clone())).await;
        store.close().await;
        db.drop_db().await;
        if let Err(join) = outcome {
            std::panic::resume_unwind(join.into_panic());
        }
    }
}

async fn connect_admin(admin: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(admin).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for these tests and {admin} is unreachable: {e}. \
             Start PostgreSQL or set TEST_DATABASE_URL to a server where the user may create databases."
        )
    })
}

/// The API served in-process on a free port.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The store behind it.
    pub store: AnyStore,
    /// HTTP client.
    pub client: reqwest::Client,
    _db: SqliteDb,
}

impl TestApp {
    /// Starts the API on a fresh SQLite database holding `records`.
    pub async fn spawn(records: &[SpeechRecord]) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = SqliteDb::new().await;
        for chunk in records.chunks(256) {
            db.store.store_batch(chunk).await.expect("seed records");
        }
        let store = AnyStore::Sqlite(db.store.clone());
        let ping_store = store.clone();
        let readiness: shared::ops::ReadinessCheck = Arc::new(move || {
            let store = ping_store.clone();
            Box::pin(async move { store.ping().await.map_err(|e| e.to_string()) })
        });
        let app = sink::api::app(
            store.clone(),
            Arc::new(Registry::default()),
            readiness,
            sink::api::CacheSizes::default(),
        )
        .merge(sink::web::routes(
            store.clone(),
            tokio_util::sync::CancellationToken::new(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr: SocketAddr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestApp {
            base: format!("http://{addr}"),
            store,
            client: reqwest::Client::new(),
            _db: db,
        }
    }

    /// GETs `path_and_query`, returning status, content type and body.
    pub async fn get(&self, path_and_query: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.text().await.expect("body");
        (status, content_type, body)
    }

    /// GETs JSON, asserting the status.
    pub async fn get_json(&self, path_and_query: &str, status: u16) -> serde_json::Value {
        let (got, _, body) = self.get(path_and_query).await;
        assert_eq!(got, status, "GET {path_and_query} answered {got}: {body}");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path_and_query} is not JSON ({e}): {body}"))
    }
}

/// A TCP proxy to a server, which the test can cut and restore to make the server
/// unreachable without stopping it.
pub struct Proxy {
    /// The proxy's port on 127.0.0.1.
    pub port: u16,
    target: String,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    /// Starts forwarding a free local port to `target` (`host:port`).
    pub async fn start(target: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let proxy = Proxy {
            port,
            target: target.to_string(),
            tasks: Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("tasks").push(forward);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }

    /// Cuts every connection and stops accepting new ones.
    pub fn cut(&self) {
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }

    /// Accepts connections again on the same port.
    pub async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the proxy port");
        self.serve(listener);
    }
}

/// `host:port` of a PostgreSQL URL (port 5432 when not given).
pub fn pg_host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    }
}

/// `url` with its `host:port` replaced by `127.0.0.1:{port}`.
pub fn via_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{userinfo}127.0.0.1:{port}/{path}")
}
