//! The fixture corpus (`tests/fixtures/`), read the way the fetcher would serve it.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use parser::{ExtractError, Extractor, PageInput};
use shared::{Lang, ListingHint, SpeechRecord};

/// One language version of a fixture statement.
#[derive(Debug, Clone)]
pub struct FixturePage {
    pub doc_id: String,
    pub lang: Lang,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// As the fixture site serves it.
    pub content_type: String,
    /// `https://mid.ru/{lang}{first section}{doc_id}/`: where the page is fetched from.
    pub fetch_url: String,
    pub meta: serde_json::Value,
}

impl FixturePage {
    /// The listing hint the fetcher would attach (section, title, published, tags).
    pub fn listing(&self) -> ListingHint {
        let lang = self.lang.as_str();
        let published = self.meta["published"]
            .as_str()
            .and_then(|p| NaiveDateTime::parse_from_str(p, "%Y-%m-%dT%H:%M").ok());
        ListingHint {
            section: self.meta["sections"][0].as_str().map(str::to_string),
            title: self.meta["titles"][lang].as_str().map(str::to_string),
            published_at: published
                .map(|p| parser::dates::local_time(chrono_tz::Europe::Moscow, p)),
            tags: self.meta["tags"][lang]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// `{doc_id}_{lang}`.
    pub fn name(&self) -> String {
        format!("{}_{}", self.doc_id, self.lang)
    }
}

pub fn fixtures_dir() -> PathBuf {
    testkit::workspace_root().join("tests/fixtures")
}

/// Every `site/statements/*/{lang}.html`, sorted; panics when the corpus is missing.
pub fn statement_pages() -> Vec<FixturePage> {
    let dir = fixtures_dir().join("site/statements");
    let mut pages = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture corpus missing at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for statement in dirs {
        let meta_path = statement.join("meta.json");
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&meta_path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", meta_path.display())),
        )
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", meta_path.display()));
        let doc_id = meta["doc_id"]
            .as_str()
            .expect("meta.json doc_id")
            .to_string();
        for lang in Lang::ALL {
            let path = statement.join(format!("{lang}.html"));
            if !path.exists() {
                continue;
            }
            let charset = meta["charset"][lang.as_str()].as_str().unwrap_or("utf-8");
            let section = meta["sections"][0].as_str().expect("meta.json sections");
            pages.push(FixturePage {
                fetch_url: format!("https://mid.ru/{lang}{section}{doc_id}/"),
                content_type: format!("text/html; charset={charset}"),
                bytes: std::fs::read(&path).expect("read fixture page"),
                doc_id: doc_id.clone(),
                lang,
                path,
                meta: meta.clone(),
            });
        }
    }
    assert!(
        pages.len() >= 20,
        "expected the fixture corpus in {}, found {} pages",
        dir.display(),
        pages.len()
    );
    pages
}

/// The pages of the statements whose ids start with one of `prefixes` (`"195"`: the corpus of
/// EXPECTED-1950.md).
pub fn statement_pages_of(prefixes: &[&str]) -> Vec<FixturePage> {
    statement_pages()
        .into_iter()
        .filter(|p| prefixes.iter().any(|x| p.doc_id.starts_with(x)))
        .collect()
}

/// The non-statement pages of `pages/`, sorted.
pub fn other_pages() -> Vec<PathBuf> {
    let dir = fixtures_dir().join("pages");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture pages missing at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no pages in {}", dir.display());
    pages
}

pub fn fetched_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .expect("valid date")
}

pub fn extractor() -> &'static Extractor {
    static EXTRACTOR: LazyLock<Extractor> =
        LazyLock::new(|| Extractor::builtin().expect("built-in registry"));
    &EXTRACTOR
}

/// Extracts a fixture page the way the service does (fetch URL, header charset), optionally
/// with its listing hint.
pub fn extract_page(
    page: &FixturePage,
    listing: Option<&ListingHint>,
) -> Result<SpeechRecord, ExtractError> {
    extractor().extract(&PageInput {
        bytes: &page.bytes,
        source: None,
        url: None,
        fetch_url: Some(&page.fetch_url),
        content_type: Some(&page.content_type),
        fetched_at: fetched_at(),
        listing,
        lang: Some(page.lang),
    })
}

pub fn file_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
