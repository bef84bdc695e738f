//! The load run: `clients` concurrent clients for a while, each sending a mix of list, get,
//! search and feed requests back to back; then an overload burst of four times the sink's
//! concurrency limit, which must be answered at once with 503 and Retry-After.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use shared::Lang;
use testkit::archive::{Archive, Rng};

use crate::Served;
use crate::queries::Stats;
use crate::rss::{Seen, Watch};

/// The sink's default `--max-concurrent-requests`.
const SINK_CONCURRENCY: usize = 64;
/// Length of the overload burst.
const OVERLOAD: Duration = Duration::from_secs(10);

/// Counts and latencies of one kind of request.
#[derive(Debug, Clone, Default)]
pub struct Kind {
    /// Answered 200.
    pub ok: u64,
    /// Answered 503 with Retry-After.
    pub shed: u64,
    /// Anything else: other statuses, 503 without Retry-After, transport errors.
    pub errors: u64,
    /// Latencies of the 200 answers.
    pub ok_stats: Stats,
    /// Latencies of the 503 answers.
    pub shed_stats: Stats,
}

/// One run's figures.
#[derive(Debug, Clone)]
pub struct Run {
    /// Concurrent clients.
    pub clients: usize,
    /// Wall time.
    pub took: Duration,
    /// Per request kind.
    pub kinds: BTreeMap<&'static str, Kind>,
    /// The sink's RSS.
    pub rss: Seen,
    /// A sample error text, if any.
    pub first_error: Option<String>,
}

/// The load run and the overload burst.
#[derive(Debug, Clone)]
pub struct Load {
    /// The kinds of request drawn.
    pub kinds: Vec<String>,
    /// `clients` clients with the mix.
    pub mixed: Run,
    /// Four times the concurrency limit, searches only.
    pub overload: Run,
}

/// The kinds of request of the load run's mix.
pub const KINDS: [&str; 4] = ["list", "get", "search", "feed"];

/// The request paths a client draws from.
struct Mix {
    ids: Vec<String>,
    words: Vec<String>,
    /// The kinds drawn (the others are drawn again): all of [`KINDS`] for the mix, one
    /// or two of them to see what each kind costs alone.
    kinds: Vec<String>,
}

impl Mix {
    fn new(archive: &Archive, kinds: &[String]) -> Mix {
        let enc =
            |t: &str| -> String { url::form_urlencoded::byte_serialize(t.as_bytes()).collect() };
        let ids = (0..2_000u64)
            .map(|k| enc(&archive.record((k * 7_919 * 31) % archive.len()).id))
            .collect();
        let en = archive.vocabulary(Lang::En);
        // Words from common to rare, as users type them.
        let words = (0..400).map(|k| enc(en.word(k * k % en.len()))).collect();
        Mix {
            ids,
            words,
            kinds: kinds.to_vec(),
        }
    }

    /// A request of one of the mix's kinds: its kind and path. 40 % list, 30 % get, 20 %
    /// search, 10 % feed, among the kinds drawn.
    fn draw(&self, rng: &mut Rng, search_only: bool) -> (&'static str, String) {
        loop {
            let (kind, path) = self.draw_any(rng, search_only);
            if search_only || self.kinds.iter().any(|k| k == kind) {
                return (kind, path);
            }
        }
    }

    /// A request of any kind: 40 % list, 30 % get, 20 % search, 10 % feed.
    fn draw_any(&self, rng: &mut Rng, search_only: bool) -> (&'static str, String) {
        const KINDS: [&str; 4] = ["interview", "briefing", "comment", "statement"];
        let roll = if search_only { 75 } else { rng.range(0, 100) };
        let pick = |rng: &mut Rng, n: usize| rng.range(0, n as u64) as usize;
        if roll < 40 {
            let path = match pick(rng, 4) {
                0 => "/v1/speeches".to_string(),
                1 => format!("/v1/speeches?kind={}", KINDS[pick(rng, 4)]),
                2 => "/v1/speeches?lang=ru&limit=50".to_string(),
                _ => "/v1/speeches?speaker=Lavrov&since=2020-01-01".to_string(),
            };
            ("list", path)
        } else if roll < 70 {
            (
                "get",
                format!("/v1/speeches/{}", self.ids[pick(rng, self.ids.len())]),
            )
        } else if roll < 90 {
            let word = &self.words[pick(rng, self.words.len())];
            ("search", format!("/v1/speeches?q={word}"))
        } else {
            ("feed", "/v1/feed.atom?lang=en".to_string())
        }
    }
}

async fn client_loop(
    client: reqwest::Client,
    base: Arc<str>,
    mix: Arc<Mix>,
    seed: u64,
    until: Instant,
    search_only: bool,
) -> (BTreeMap<&'static str, Kind>, Option<String>) {
    let mut rng = Rng::new(seed);
    let mut kinds: BTreeMap<&'static str, Kind> = BTreeMap::new();
    let mut first_error = None;
    while Instant::now() < until {
        let (kind, path) = mix.draw(&mut rng, search_only);
        let entry = kinds.entry(kind).or_default();
        let started = Instant::now();
        match client.get(format!("{base}{path}")).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.bytes().await;
                let took = started.elapsed();
                match (status, body) {
                    (200, Ok(_)) => {
                        entry.ok += 1;
                        entry.ok_stats.push(took);
                    }
                    (503, Ok(_)) if retry_after => {
                        entry.shed += 1;
                        entry.shed_stats.push(took);
                    }
                    (status, body) => {
                        entry.errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!("{path}: {status} {:?}", body.map(|b| b.len()))
                        });
                    }
                }
            }
            Err(err) => {
                entry.errors += 1;
                first_error.get_or_insert_with(|| format!("{path}: {err}"));
            }
        }
    }
    (kinds, first_error)
}

async fn run_clients(
    served: &Served,
    mix: &Arc<Mix>,
    clients: usize,
    length: Duration,
    search_only: bool,
) -> Result<Run> {
    let pid = served.sink.pid().context("the sink is not running")?;
    let client = crate::queries::client();
    let base: Arc<str> = served.base.as_str().into();
    let watch = Watch::start(pid);
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(client_loop(
                client.clone(),
                base.clone(),
                mix.clone(),
                1_000 + c as u64,
                until,
                search_only,
            ))
        })
        .collect();
    let mut kinds: BTreeMap<&'static str, Kind> = BTreeMap::new();
    let mut first_error = None;
    for task in tasks {
        let (theirs, error) = task.await?;
        for (name, k) in theirs {
            let mine = kinds.entry(name).or_default();
            mine.ok += k.ok;
            mine.shed += k.shed;
            mine.errors += k.errors;
            mine.ok_stats.extend(&k.ok_stats);
            mine.shed_stats.extend(&k.shed_stats);
        }
        if first_error.is_none() {
            first_error = error;
        }
    }
    Ok(Run {
        clients,
        took: started.elapsed(),
        kinds,
        rss: watch.finish(),
        first_error,
    })
}

/// The load run (`clients` for `seconds`, drawing the requests of `kinds`), then the overload
/// burst.
pub async fn run(
    served: &Served,
    archive: &Archive,
    clients: usize,
    seconds: u64,
    kinds: &[String],
) -> Result<Load> {
    let mix = Arc::new(Mix::new(archive, kinds));
    let mixed = run_clients(served, &mix, clients, Duration::from_secs(seconds), false).await?;
    let overload = run_clients(served, &mix, SINK_CONCURRENCY * 4, OVERLOAD, true).await?;
    Ok(Load {
        kinds: kinds.to_vec(),
        mixed,
        overload,
    })
}
