//! Every query shape of the API, timed over HTTP one request at a time: searches (rare word,
//! common word, phrase, no match, with each filter), listings with each filter, the first
//! and the 1,000th cursor page, a record, its versions, the Atom feed.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use shared::Lang;
use testkit::archive::Archive;

use crate::writes::EDIT_EVERY;

/// The benchmark's HTTP client (no compression: bytes are counted as served).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(1024)
        .build()
        .expect("an HTTP client")
}

/// Latency samples of one kind of request.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    /// Adds one sample.
    pub fn push(&mut self, took: Duration) {
        self.samples.push(took);
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// The `q` quantile (0..=1) in milliseconds (nearest rank).
    pub fn ms(&self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.samples.clone();
        sorted.sort();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }

    /// Merges another set of samples in.
    pub fn extend(&mut self, other: &Stats) {
        self.samples.extend_from_slice(&other.samples);
    }
}

/// What a shape is held to (issue 12's targets on PostgreSQL; SQLite: every shape ≤ 100 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Search, first page with snippets: p95 ≤ 50 ms.
    Search,
    /// A search that matches nothing: p95 ≤ 10 ms.
    NoMatch,
    /// Listing, filters, feed: p95 ≤ 10 ms.
    Listing,
    /// One record or its versions: p95 ≤ 5 ms.
    Record,
}

impl Budget {
    /// The p95 budget in milliseconds on `store`.
    pub fn p95_ms(self, store: &str) -> f64 {
        if store == "sqlite" {
            return 100.0;
        }
        match self {
            Budget::Search => 50.0,
            Budget::NoMatch | Budget::Listing => 10.0,
            Budget::Record => 5.0,
        }
    }
}

/// One measured shape.
#[derive(Debug, Clone)]
pub struct Shape {
    /// What it is.
    pub name: String,
    /// Its budget.
    pub budget: Budget,
    /// Its latencies.
    pub stats: Stats,
    /// Results on the first sample's page (items, or bytes for the feed).
    pub answer: String,
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// GET `url`, requiring 200: the body.
pub async fn get(client: &reqwest::Client, url: &str) -> Result<String> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {body}");
    }
    Ok(body)
}

fn items(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => match v["items"].as_array() {
            Some(items) => format!("{} items", items.len()),
            None => "?".into(),
        },
        Err(_) => format!("{} bytes", body.len()),
    }
}

/// Which shapes to measure: those whose name contains `only` (all when `None`).
#[derive(Clone, Copy)]
struct Filter<'a> {
    only: Option<&'a str>,
}

/// Times `samples` requests of the URLs `url(k)` after three warm-up requests; `None` when
/// the shape is filtered out.
async fn time_shape(
    client: &reqwest::Client,
    filter: Filter<'_>,
    name: &str,
    budget: Budget,
    samples: usize,
    url: impl Fn(usize) -> String,
) -> Result<Option<Shape>> {
    if filter.only.is_some_and(|only| !name.contains(only)) {
        return Ok(None);
    }
    for k in 0..3 {
        // A failure is counted below, not here.
        let _ = get(client, &url(samples + k)).await;
    }
    let mut stats = Stats::default();
    let mut answer = String::new();
    let mut failed = 0;
    for k in 0..samples {
        let u = url(k);
        let started = Instant::now();
        // A failed request (e.g. 503 after the sink's request timeout) counts with its time.
        let body = get(client, &u).await;
        stats.push(started.elapsed());
        match body {
            Ok(body) if k == 0 => answer = items(&body),
            Ok(_) => {}
            Err(err) => {
                failed += 1;
                eprintln!("    {name}: {err:#}");
            }
        }
    }
    if failed > 0 {
        answer = format!("**{failed} of {samples} failed** {answer}");
    }
    Ok(Some(Shape {
        name: name.to_string(),
        budget,
        stats,
        answer,
    }))
}

/// Ids of records spread over the archive (`k`-th of them), and of edited records.
fn record_id(archive: &Archive, k: usize, edited: bool) -> String {
    let step = if edited { EDIT_EVERY } else { 7_919 };
    let i = (k as u64 * step * 13) % archive.len();
    let i = if edited { i - i % EDIT_EVERY } else { i };
    archive.record(i).id
}

/// Measures every shape on the API at `base` (those whose name contains `only`, if given).
pub async fn measure(
    base: &str,
    archive: &Archive,
    samples: usize,
    only: Option<&str>,
) -> Result<Vec<Shape>> {
    let client = client();
    let filter = Filter { only };
    let en = archive.vocabulary(Lang::En);
    let ru = archive.vocabulary(Lang::Ru);
    let common = en.word(0).to_string();
    // Rare words: from the far end of the tail (a few hundred records each at 300,000).
    let rare = |k: usize| en.word(en.len() - 100 - (k % 50) * 13).to_string();
    let middling = |k: usize| en.word(200 + k % 50).to_string();
    let mut shapes = Vec::new();
    let list = |params: &str| format!("{base}/v1/speeches?{params}");
    let search = |q: &str, extra: &str| list(&format!("q={}{extra}", enc(q)));

    let filters: [(&str, &str); 5] = [
        ("", ""),
        (" + lang", "&lang=en"),
        (" + kind", "&kind=briefing"),
        (" + speaker", "&speaker=Zakharova"),
        (" + since/until", "&since=2015-01-01&until=2016-01-01"),
    ];
    for (label, extra) in filters {
        let s = |name: &str| format!("search {name}{label}");
        shapes.extend(
            time_shape(
                &client,
                filter,
                &s("rare word"),
                Budget::Search,
                samples,
                |k| search(&rare(k), extra),
            )
            .await?,
        );
        shapes.extend(
            time_shape(
                &client,
                filter,
                &s("common word"),
                Budget::Search,
                samples,
                |_| search(&common, extra),
            )
            .await?,
        );
    }
    shapes.extend(
        time_shape(
            &client,
            filter,
            "search middling word",
            Budget::Search,
            samples,
            |k| search(&middling(k), ""),
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "search phrase",
            Budget::Search,
            samples,
            |k| {
                let phrase = ["\"strategic stability\"", "\"Security Council\""][k % 2];
                search(phrase, "")
            },
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "search Russian word",
            Budget::Search,
            samples,
            |k| search(ru.word(3 + k % 40), "&lang=ru"),
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "search OR / exclusion",
            Budget::Search,
            samples,
            |k| {
                let q = if k % 2 == 0 {
                    format!("{} OR {}", rare(k), middling(k))
                } else {
                    format!("{} -{}", middling(k), rare(k))
                };
                search(&q, "")
            },
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "search no match",
            Budget::NoMatch,
            samples,
            |_| search("zzyzxqq", ""),
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "search no match + lang",
            Budget::NoMatch,
            samples,
            |_| search("zzyzxqq", "&lang=en"),
        )
        .await?,
    );

    let listings: [(&str, &str); 7] = [
        ("list (page 1)", "limit=20"),
        ("list lang", "lang=ru"),
        ("list kind", "kind=greetings"),
        ("list lang + kind", "lang=en&kind=briefing"),
        ("list speaker", "speaker=Syromolotov"),
        ("list since/until", "since=2015-01-01&until=2016-01-01"),
        (
            "list all filters",
            "lang=en&kind=comment&speaker=Zakharova&since=2020-01-01",
        ),
    ];
    for (name, params) in listings {
        shapes.extend(
            time_shape(&client, filter, name, Budget::Listing, samples, |_| {
                list(params)
            })
            .await?,
        );
    }
    // Page 1,000 (20,000 records deep), or the last page of a smaller archive.
    let page = usize::try_from(archive.len() / 20)
        .unwrap_or(1_000)
        .clamp(1, 1_000);
    let deep_name = format!("list page {page} (cursor)");
    let deep = if filter.only.is_none_or(|only| deep_name.contains(only)) {
        deep_page(&client, base, page).await?
    } else {
        String::new()
    };
    shapes.extend(
        time_shape(
            &client,
            filter,
            &deep_name,
            Budget::Listing,
            samples,
            |_| deep.clone(),
        )
        .await?,
    );
    let ids: Vec<String> = (0..samples + 3)
        .map(|k| enc(&record_id(archive, k, false)))
        .collect();
    shapes.extend(
        time_shape(
            &client,
            filter,
            "GET /v1/speeches/{id}",
            Budget::Record,
            samples,
            |k| format!("{base}/v1/speeches/{}", ids[k]),
        )
        .await?,
    );
    let edited: Vec<String> = (0..samples + 3)
        .map(|k| enc(&record_id(archive, k, true)))
        .collect();
    shapes.extend(
        time_shape(
            &client,
            filter,
            "GET /v1/speeches/{id}/versions (2 versions)",
            Budget::Record,
            samples,
            |k| format!("{base}/v1/speeches/{}/versions", edited[k]),
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "Atom feed (lang=en)",
            Budget::Listing,
            samples,
            |_| format!("{base}/v1/feed.atom?lang=en"),
        )
        .await?,
    );
    shapes.extend(
        time_shape(
            &client,
            filter,
            "Atom feed (kind, speaker)",
            Budget::Listing,
            samples,
            |_| format!("{base}/v1/feed.atom?kind=interview&speaker=Lavrov"),
        )
        .await?,
    );
    Ok(shapes)
}

/// The URL of listing page `page` (20 records a page), reached by following the cursors.
async fn deep_page(client: &reqwest::Client, base: &str, page: usize) -> Result<String> {
    let mut url = format!("{base}/v1/speeches?limit=20");
    for _ in 1..page {
        let body: serde_json::Value = serde_json::from_str(&get(client, &url).await?)?;
        let Some(cursor) = body["next_cursor"].as_str() else {
            bail!("the listing ended before page {page}");
        };
        url = format!("{base}/v1/speeches?limit=20&cursor={}", enc(cursor));
    }
    Ok(url)
}
