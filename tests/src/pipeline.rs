//! The whole system as real processes: nats-server (single or cluster), the fixture site,
//! and the fetcher, parser and sink binaries with the flags of the contract.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use crate::services::{Service, http_get};
use crate::site::{Corpus, FixtureSite};
use crate::{Identity, NatsServer, TempDir, TestCa, cluster_operator_url, cluster_url, free_port};

/// Which statements the fixture site serves.
#[derive(Debug, Clone, Default)]
pub enum SiteCorpus {
    /// The bundled corpus (`tests/fixtures/site`).
    #[default]
    Bundled,
    /// Another corpus directory.
    Dir(PathBuf),
    /// `n` synthetic statements.
    Synthetic(usize),
}

/// How the fetcher runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FetcherMode {
    /// Started with the others, polling every `--poll-interval 2s`.
    #[default]
    Continuous,
    /// Not started: the test runs [`Pipeline::fetch_once`] (`fetcher --once`) itself.
    Manual,
}

/// What [`Pipeline::start`] starts.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// NATS nodes: 1, or 3 for a cluster (streams then get 3 replicas).
    pub nats_nodes: usize,
    /// The fixture site's statements.
    pub corpus: SiteCorpus,
    /// Fetcher mode.
    pub fetcher: FetcherMode,
    /// Poll interval of the continuous fetcher.
    pub poll_interval: String,
    /// Store of the sink; default `sqlite://<tmp>/speeches.db`.
    pub database_url: Option<String>,
    /// Extra fetcher flags.
    pub fetcher_args: Vec<String>,
    /// Extra parser flags (e.g. `--source-file` of a user's profile).
    pub parser_args: Vec<String>,
    /// NATS over TLS with a certificate signed by this CA (one node only); the services
    /// get `NATS_TLS_CA`.
    pub nats_tls: Option<Arc<TestCa>>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            nats_nodes: 1,
            corpus: SiteCorpus::Bundled,
            fetcher: FetcherMode::Continuous,
            poll_interval: "2s".into(),
            database_url: None,
            fetcher_args: Vec::new(),
            parser_args: Vec::new(),
            nats_tls: None,
        }
    }
}

/// Running processes of one end-to-end test. Everything stops on drop.
pub struct Pipeline {
    /// The sink, then the parser, then the fetcher (when continuous) — dropped in this order.
    pub sink: Service,
    /// The parser.
    pub parser: Service,
    /// The continuous fetcher, if any.
    pub fetcher: Option<Service>,
    /// The fixture site.
    pub site: FixtureSite,
    /// NATS node(s).
    pub nats: Vec<NatsServer>,
    /// Base URL of the sink's API (`http://127.0.0.1:PORT`).
    pub api: String,
    /// `http://ADDR` of each service's metrics endpoint: fetcher, parser, sink.
    pub metrics: [String; 3],
    /// The database URL the sink uses.
    pub database_url: String,
    nats_url: String,
    options: PipelineOptions,
    _dir: TempDir,
}

impl Pipeline {
    /// Starts NATS, the fixture site, the parser and sink, and (unless manual) the fetcher.
    pub async fn start(options: PipelineOptions) -> Pipeline {
        let nats = match (&options.nats_tls, options.nats_nodes) {
            (Some(ca), 1) => vec![NatsServer::start_tls(Arc::clone(ca))],
            (Some(_), nodes) => panic!("NATS over TLS is for one node, not {nodes}"),
            (None, nodes) if nodes > 1 => NatsServer::start_cluster(nodes),
            (None, _) => vec![NatsServer::start()],
        };
        let nats_url = cluster_url(&nats);
        let site = match &options.corpus {
            SiteCorpus::Bundled => FixtureSite::start().await,
            SiteCorpus::Dir(dir) => FixtureSite::start_with(dir).await,
            SiteCorpus::Synthetic(n) => FixtureSite::start_corpus(Corpus::synthetic(*n)).await,
        };
        let dir = TempDir::new("pipeline");
        let database_url = options
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/speeches.db", dir.path().display()));
        let metrics = [free_port(), free_port(), free_port()].map(|p| format!("127.0.0.1:{p}"));
        let api_addr = format!("127.0.0.1:{}", free_port());
        let env = |identity| service_env(&nats, &nats_url, options.nats_nodes, identity);
        let mut parser_args = vec!["--metrics-listen", metrics[1].as_str()];
        parser_args.extend(options.parser_args.iter().map(String::as_str));
        let parser = Service::spawn("parser", &parser_args, &pairs(&env(Identity::Parser)));
        let sink = Service::spawn(
            "sink",
            &[
                "--database-url",
                &database_url,
                "--listen",
                &api_addr,
                "--metrics-listen",
                &metrics[2],
            ],
            &pairs(&env(Identity::Sink)),
        );
        let mut pipeline = Pipeline {
            sink,
            parser,
            fetcher: None,
            site,
            nats,
            api: format!("http://{api_addr}"),
            metrics: metrics.clone().map(|m| format!("http://{m}")),
            database_url,
            nats_url,
            options,
            _dir: dir,
        };
        if pipeline.options.fetcher == FetcherMode::Continuous {
            let mut args = pipeline.fetcher_args();
            args.extend([
                "--poll-interval".to_string(),
                pipeline.options.poll_interval.clone(),
                "--metrics-listen".to_string(),
                metrics[0].clone(),
            ]);
            pipeline.fetcher = Some(pipeline.spawn_fetcher(&args));
        }
        pipeline
    }

    /// `NATS_URL` of the servers (comma-separated for a cluster), without credentials: give
    /// services an identity with [`Pipeline::env`].
    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// The servers' URL with the `operator` identity's credentials in it, for tests that
    /// inspect or feed streams directly.
    pub fn operator_url(&self) -> String {
        cluster_operator_url(&self.nats)
    }

    /// The environment of a service running as `identity` on this pipeline's NATS:
    /// `NATS_URL`, `STREAM_REPLICAS` and the identity (user, password file).
    pub fn env(&self, identity: Identity) -> Vec<(String, String)> {
        service_env(
            &self.nats,
            &self.nats_url,
            self.options.nats_nodes,
            identity,
        )
    }

    /// The fetcher flags of the contract for this site (without mode or metrics flags).
    pub fn fetcher_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--base-url",
            &self.site.base_url(),
            "--langs",
            "en,ru",
            "--request-interval",
            "0s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(self.options.fetcher_args.iter().cloned());
        args
    }

    /// Starts a fetcher with `args` and this pipeline's NATS.
    pub fn spawn_fetcher(&self, args: &[String]) -> Service {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Service::spawn("fetcher", &args, &pairs(&self.env(Identity::Fetcher)))
    }

    /// Runs `fetcher --once` to completion; returns its exit status and log. Panics (with the
    /// log) when it does not exit within `timeout`.
    pub async fn fetch_once(&self, timeout: Duration) -> (ExitStatus, String) {
        let mut args = self.fetcher_args();
        args.extend([
            "--once".to_string(),
            "--metrics-listen".to_string(),
            format!("127.0.0.1:{}", free_port()),
        ]);
        let mut fetcher = self.spawn_fetcher(&args);
        let status = fetcher.expect_exit(timeout).await;
        (status, fetcher.log())
    }

    /// Waits until the sink answers `/readyz` with 200 (and `/healthz`); panics with the logs
    /// of the parser and sink after `timeout`.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        let urls = [
            format!("{}/healthz", self.api),
            format!("{}/readyz", self.api),
        ];
        loop {
            let mut ready = true;
            for url in &urls {
                if !matches!(http_get(url).await, Ok((200, _))) {
                    ready = false;
                    break;
                }
            }
            if ready {
                return;
            }
            if !self.sink.is_running() || std::time::Instant::now() >= deadline {
                panic!(
                    "the sink did not become ready within {timeout:?} (running: {})\n{}",
                    self.sink.is_running(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The logs of every running service, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for service in [Some(&self.sink), Some(&self.parser), self.fetcher.as_ref()]
            .into_iter()
            .flatten()
        {
            out.push_str(&format!(
                "----- {} log -----\n{}\n",
                service.name(),
                tail(&service.log(), 120)
            ));
        }
        out
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `NATS_URL`, `STREAM_REPLICAS` and `identity` on `nats`.
fn service_env(
    nats: &[NatsServer],
    nats_url: &str,
    nodes: usize,
    identity: Identity,
) -> Vec<(String, String)> {
    let replicas = if nodes > 1 { "3" } else { "1" };
    let mut env = vec![
        ("NATS_URL".to_string(), nats_url.to_string()),
        ("STREAM_REPLICAS".to_string(), replicas.to_string()),
    ];
    if let Some(server) = nats.first() {
        env.extend(server.env(identity));
    }
    env
}

/// Borrowed pairs for [`Service::spawn`].
pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
