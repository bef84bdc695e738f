//! Every source end to end: kremlin.ru (two hosts), fmprc.gov.cn and a made-up fourth site
//! known only by its user profile (no Rust of its own) through fetcher → parser → sink, each
//! fetcher tracking its own source side by side with mid.ru's on one NATS.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use testkit::{
    Pipeline, PipelineOptions, Service, SourceSite, free_port, http_get_json, workspace_root,
};

use crate::pipeline::{READY, expected_ids, wait_stored};

/// Record ids (`{source}:{doc_id}:{lang}`) of every visible statement page of `site`.
fn ids_of(site: &SourceSite) -> BTreeSet<String> {
    site.visible()
        .into_iter()
        .map(|(id, lang)| format!("{}:{id}:{lang}", site.name))
        .collect()
}

/// The made-up fourth site, known to the services only through this profile file.
const FOURTH_SITE: &str = "mfa.eldoria.example";

fn fourth_site_profile() -> String {
    workspace_root()
        .join("tests/fixtures/sources")
        .join(FOURTH_SITE)
        .join("profile.toml")
        .display()
        .to_string()
}

/// What the expectation table of the fourth site says of each page: kind, published_at and
/// the number of turns per language (`tests/fixtures/EXPECTED-mfa.eldoria.example.md`).
fn fourth_site_expectations() -> BTreeMap<String, (String, String, usize)> {
    let path = workspace_root().join(format!("tests/fixtures/EXPECTED-{FOURTH_SITE}.md"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = BTreeMap::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with("| doc_id | kind |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("| ---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [doc, kind, _, _, published, _, langs, turns, ..] = cells.as_slice() else {
            panic!("unexpected row in {}: {line}", path.display());
        };
        let langs: Vec<&str> = langs.split('+').map(str::trim).collect();
        let turns: Vec<&str> = turns.split('/').map(str::trim).collect();
        for (lang, n) in langs.iter().zip(turns) {
            let n = n
                .parse()
                .unwrap_or_else(|_| panic!("turns {n:?} in {line}"));
            out.insert(
                format!("{FOURTH_SITE}:{doc}:{lang}"),
                (kind.to_string(), published.to_string(), n),
            );
        }
    }
    assert!(!out.is_empty(), "no rows in {}", path.display());
    out
}

/// A continuous fetcher of `site`'s source, polling every 2 s (a user's site by its profile).
fn fetcher_of(pipeline: &Pipeline, site: &SourceSite) -> Service {
    let profile = fourth_site_profile();
    let source: [&str; 2] = if site.name == FOURTH_SITE {
        ["--source-file", &profile]
    } else {
        ["--source", &site.name]
    };
    let args: Vec<String> = source
        .into_iter()
        .chain([
            "--base-url",
            &site.base_url_flag(),
            "--request-interval",
            "0s",
            "--poll-interval",
            "2s",
            "--metrics-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .map(str::to_string)
        .collect();
    pipeline.spawn_fetcher(&args)
}

#[tokio::test]
async fn four_sources_side_by_side_reach_the_store_once_with_translations_linked() {
    let kremlin = SourceSite::start("kremlin.ru").await;
    let fmprc = SourceSite::start("fmprc.gov.cn").await;
    let eldoria = SourceSite::start(FOURTH_SITE).await;
    // mid.ru's fetcher polls continuously (the pipeline's own), the others beside it; the
    // parser learns the fourth site from its profile file alone.
    let mut pipeline = Pipeline::start(PipelineOptions {
        parser_args: vec!["--source-file".into(), fourth_site_profile()],
        ..PipelineOptions::default()
    })
    .await;
    pipeline.wait_ready(READY).await;
    let mut fetchers = [
        fetcher_of(&pipeline, &kremlin),
        fetcher_of(&pipeline, &fmprc),
        fetcher_of(&pipeline, &eldoria),
    ];

    let mut expected = expected_ids(&pipeline.site);
    expected.extend(ids_of(&kremlin));
    expected.extend(ids_of(&fmprc));
    expected.extend(ids_of(&eldoria));
    let items = wait_stored(&pipeline, &expected).await;
    let logs = || {
        let mut out = pipeline.logs();
        for f in &fetchers {
            out.push_str(&format!("----- {} log -----\n{}\n", f.name(), f.log()));
        }
        out
    };

    // Stored once: no duplicate ids, nothing beyond the sites' statements.
    let ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "duplicates in {ids:?}");
    assert_eq!(unique, expected, "{}", logs());

    // Each fetcher published its own source: the `source` filter of the API separates them.
    for (name, site_ids) in [
        ("kremlin.ru", ids_of(&kremlin)),
        ("fmprc.gov.cn", ids_of(&fmprc)),
        (FOURTH_SITE, ids_of(&eldoria)),
    ] {
        let page = http_get_json(&format!(
            "{}/v1/speeches?source={name}&limit=100",
            pipeline.api
        ))
        .await;
        let got: BTreeSet<String> = page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items: {page}"))
            .iter()
            .map(|i| i["id"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(got, site_ids, "GET /v1/speeches?source={name}");
    }

    // kremlin.ru: a statement with both versions links each to the other.
    let by_id: BTreeMap<String, &Value> = items
        .iter()
        .map(|i| (i["id"].as_str().unwrap_or_default().to_string(), i))
        .collect();
    let mut pairs = 0;
    for (doc, langs) in kremlin.host("ru").statements() {
        if !langs.iter().any(|l| l == "en") {
            continue;
        }
        let full = |lang: &str| {
            let id = format!("kremlin.ru:{doc}:{lang}");
            let url = format!("{}/v1/speeches/{}", pipeline.api, id.replace(':', "%3A"));
            (id, url)
        };
        let (ru_id, ru_url) = full("ru");
        let (en_id, en_url) = full("en");
        assert!(by_id.contains_key(&ru_id) && by_id.contains_key(&en_id));
        let ru = http_get_json(&ru_url).await;
        let en = http_get_json(&en_url).await;
        let en_link = ru["translations"]["en"].as_str().unwrap_or_default();
        let ru_link = en["translations"]["ru"].as_str().unwrap_or_default();
        assert!(
            en_link.ends_with(&doc),
            "{ru_id}: translations {}",
            ru["translations"]
        );
        assert!(
            ru_link.ends_with(&doc),
            "{en_id}: translations {}",
            en["translations"]
        );
        pairs += 1;
    }
    assert!(pairs >= 1, "the kremlin.ru corpus has an en/ru pair");

    // The fourth site's records, end to end, say what its expectation table says.
    let table = fourth_site_expectations();
    assert_eq!(
        table.keys().cloned().collect::<BTreeSet<_>>(),
        ids_of(&eldoria),
        "the expectation table covers the site's pages"
    );
    for (id, (kind, published_at, turns)) in &table {
        let record = http_get_json(&format!(
            "{}/v1/speeches/{}",
            pipeline.api,
            id.replace(':', "%3A")
        ))
        .await;
        assert_eq!(record["source"], FOURTH_SITE, "{id}: {record}");
        assert_eq!(record["kind"].as_str(), Some(kind.as_str()), "{id}");
        assert_eq!(
            record["published_at"].as_str(),
            Some(published_at.as_str()),
            "{id}"
        );
        let got = record["turns"].as_array().map_or(0, Vec::len);
        assert_eq!(got, *turns, "{id}: turns");
    }
    for f in &mut fetchers {
        assert!(f.is_running(), "{} stopped:\n{}", f.name(), f.log());
    }
}
