//! The corpus: statements (`meta.json` + one page per language) loaded from a folder or
//! generated, and the pages that are not statements.

use super::*;

/// Errors met while loading a corpus directory.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}; check the corpus layout in tests/fixtures/README.md")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `meta.json` is not valid.
    #[error("{path} is not a valid meta.json: {reason}; see tests/fixtures/README.md")]
    Meta {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A statement's `meta.json`: what listings and the feed show about it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatementMeta {
    /// The item's path per language on that language's host (every source but mid.ru,
    /// where the path follows from `sections`).
    #[serde(default)]
    pub paths: BTreeMap<String, String>,
    /// The date a listing shows when it is not `published`'s (`2024-05-30`).
    #[serde(default)]
    pub listed: Option<String>,
    /// The site's numeric document id.
    pub doc_id: String,
    /// Moscow local date and time as the site shows it (`2024-07-18T14:30`).
    pub published: String,
    /// Section paths whose listings show it; the first is the canonical one.
    pub sections: Vec<String>,
    /// Title per language; each language here has a page.
    pub titles: BTreeMap<String, String>,
    /// Listing tags per language.
    #[serde(default)]
    pub tags: BTreeMap<String, Vec<String>>,
    /// Languages whose page bytes are in a charset other than UTF-8.
    #[serde(default)]
    pub charset: BTreeMap<String, String>,
    /// Whether the RSS feed lists it.
    #[serde(default = "yes")]
    pub in_feed: bool,
    /// Hidden until [`FixtureSite::release`].
    #[serde(default)]
    pub held_back: bool,
}

pub(super) fn yes() -> bool {
    true
}

impl StatementMeta {
    /// The publication time, Moscow local (as listed).
    pub fn published_local(&self) -> Option<NaiveDateTime> {
        parse_local(&self.published)
    }

    /// The publication time in UTC (Moscow time through the tz database).
    pub fn published_utc(&self) -> Option<DateTime<Utc>> {
        self.published_local().and_then(moscow_to_utc)
    }

    /// The canonical path of a language version: `paths.{lang}`, else (mid.ru)
    /// `/{lang}{first section}{doc_id}/`.
    pub fn canonical_path(&self, lang: &str) -> String {
        if let Some(path) = self.paths.get(lang) {
            return path.clone();
        }
        let section = self.sections.first().map(String::as_str).unwrap_or("/");
        format!("/{lang}{section}{}/", self.doc_id)
    }
}

pub(super) fn parse_local(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text.trim(), f).ok())
}

pub(super) fn moscow_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    chrono_tz::Europe::Moscow
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// One language version of a statement, as served.
#[derive(Debug, Clone)]
pub(super) struct Page {
    pub(super) bytes: Bytes,
    /// Charset label as served (`UTF-8`, `windows-1251`).
    pub(super) charset: String,
    pub(super) etag: String,
    pub(super) last_modified: DateTime<Utc>,
    pub(super) description: String,
}

impl Page {
    pub(super) fn new(
        bytes: Bytes,
        charset: String,
        last_modified: DateTime<Utc>,
        title: &str,
    ) -> Page {
        let text = decode(&bytes, &charset);
        let description = first_paragraph(&text).unwrap_or_else(|| title.to_string());
        Page {
            etag: etag_of(&bytes),
            bytes,
            charset,
            last_modified,
            description,
        }
    }
}

/// A statement of the corpus with its pages.
#[derive(Debug, Clone)]
pub struct Statement {
    pub(super) meta: StatementMeta,
    pub(super) published: NaiveDateTime,
    pub(super) published_utc: DateTime<Utc>,
    pub(super) visible: bool,
    pub(super) pages: BTreeMap<String, Page>,
}

impl Statement {
    /// Its `meta.json`.
    pub fn meta(&self) -> &StatementMeta {
        &self.meta
    }

    /// A statement from its `meta.json` and one UTF-8 page per language of `meta.titles`
    /// (`pages`: language → HTML), for sites that publish while serving
    /// ([`FixtureSite::add`]). Fails when the meta is invalid or a page is missing.
    pub fn from_html(
        meta: StatementMeta,
        mut pages: BTreeMap<String, String>,
    ) -> Result<Statement, String> {
        let mut served = BTreeMap::new();
        for (lang, title) in &meta.titles {
            let html = pages
                .remove(lang)
                .ok_or_else(|| format!("statement {} has no {lang} page", meta.doc_id))?;
            served.insert(
                lang.clone(),
                (Bytes::from(html), "UTF-8".to_string(), title.clone()),
            );
        }
        build_statement(meta, served)
    }

    /// The decoded text of its `lang` page (empty when it has none).
    pub fn page_html(&self, lang: &str) -> String {
        self.pages
            .get(lang)
            .map(|p| decode(&p.bytes, &p.charset))
            .unwrap_or_default()
    }
}

/// A set of statements to serve.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    pub(super) statements: Vec<Statement>,
    pub(super) challenge: Option<Bytes>,
    /// Pages that are not statements (`pages/{name}.html`), by file name.
    pub(super) pages: BTreeMap<String, Bytes>,
}

impl Corpus {
    /// Loads `dir` (`statements/{doc_id}/meta.json` + `{lang}.html`); the challenge page comes
    /// from `dir/../pages/challenge.html` when present.
    pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
        let statements_dir = dir.join("statements");
        let read_dir = |p: &Path| {
            std::fs::read_dir(p).map_err(|source| CorpusError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        let mut dirs: Vec<PathBuf> = read_dir(&statements_dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let mut statements = Vec::new();
        for dir in dirs {
            statements.push(load_statement(&dir)?);
        }
        // `pages/` beside `statements/` (other sources), or beside the corpus (mid.ru).
        let pages_dir = [
            Some(dir.join("pages")),
            dir.parent().map(|p| p.join("pages")),
        ]
        .into_iter()
        .flatten()
        .find(|p| p.is_dir());
        let mut pages = BTreeMap::new();
        if let Some(pages_dir) = pages_dir {
            for entry in read_dir(&pages_dir)?.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    pages.insert(name, Bytes::from(bytes));
                }
            }
        }
        Ok(Corpus {
            statements,
            challenge: pages.get("challenge.html").cloned(),
            pages,
        })
    }

    /// `n` generated statements (ids 3000000 and up, English and Russian), spread from
    /// 2022-01-01 over [`Corpus::synthetic_days`]`(n)` days (365 up to 3,650 statements, more
    /// beyond, so that no day listing of a section has more than about 12 items on average
    /// and none needs a second page).
    pub fn synthetic(n: usize) -> Corpus {
        Corpus {
            statements: (0..n).map(|i| synthetic::statement(i, n)).collect(),
            challenge: None,
            pages: BTreeMap::new(),
        }
    }

    /// [`Corpus::synthetic`]`(n)` plus `held` held-back statements (ids following the visible
    /// ones), dated one per hour from 10:00 Moscow time on the day after the last visible
    /// statement, so that each is the newest item of its listings and feed once released.
    pub fn synthetic_with_held_back(n: usize, held: usize) -> Corpus {
        let mut corpus = Corpus::synthetic(n);
        let last_day = synthetic::first_day() + chrono::Duration::days(synthetic::days(n) as i64);
        corpus
            .statements
            .extend((0..held).map(|k| synthetic::held_back(n + k, last_day, k)));
        corpus
    }

    /// The number of days the `n` statements of [`Corpus::synthetic`] are spread over,
    /// starting on 2022-01-01.
    pub fn synthetic_days(n: usize) -> usize {
        synthetic::days(n)
    }

    /// The statement [`Corpus::synthetic`] generates as its `i`-th (id 3000000+i), published
    /// at `published` (Moscow local time) and held back: for sites that publish while serving
    /// ([`FixtureSite::add`]).
    pub fn generated_statement(i: usize, published: NaiveDateTime) -> Statement {
        synthetic::build(i, published, true)
    }

    /// Its statements (visible and held back).
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Adds the statements of `other` (ids must not collide).
    pub fn extend(&mut self, other: Corpus) {
        self.statements.extend(other.statements);
        if self.challenge.is_none() {
            self.challenge = other.challenge;
        }
        for (name, page) in other.pages {
            self.pages.entry(name).or_insert(page);
        }
    }

    /// Number of statements (visible or held back).
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether it has no statements.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

pub(super) fn load_statement(dir: &Path) -> Result<Statement, CorpusError> {
    let meta_path = dir.join("meta.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|source| CorpusError::Read {
        path: meta_path.clone(),
        source,
    })?;
    let meta: StatementMeta = serde_json::from_str(&text).map_err(|e| CorpusError::Meta {
        path: meta_path.clone(),
        reason: e.to_string(),
    })?;
    let bad = |reason: String| CorpusError::Meta {
        path: meta_path.clone(),
        reason,
    };
    if meta.doc_id.is_empty() || !meta.doc_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("doc_id {:?} is not numeric", meta.doc_id)));
    }
    if meta.sections.is_empty() {
        return Err(bad("sections is empty".into()));
    }
    if let Some(s) = meta
        .sections
        .iter()
        .find(|s| !s.starts_with('/') || !s.ends_with('/'))
    {
        return Err(bad(format!("section {s:?} must start and end with '/'")));
    }
    let mut pages = BTreeMap::new();
    for (lang, title) in &meta.titles {
        let path = dir.join(format!("{lang}.html"));
        let bytes = std::fs::read(&path).map_err(|source| CorpusError::Read { path, source })?;
        let charset = meta
            .charset
            .get(lang)
            .cloned()
            .unwrap_or_else(|| "UTF-8".to_string());
        pages.insert(lang.clone(), (Bytes::from(bytes), charset, title.clone()));
    }
    build_statement(meta, pages).map_err(bad)
}

pub(super) fn build_statement(
    meta: StatementMeta,
    pages: BTreeMap<String, (Bytes, String, String)>,
) -> Result<Statement, String> {
    let published = meta.published_local().ok_or_else(|| {
        format!(
            "published {:?} is not YYYY-MM-DDTHH:MM (Moscow time)",
            meta.published
        )
    })?;
    let published_utc = moscow_to_utc(published)
        .ok_or_else(|| format!("published {:?} does not exist in Moscow", meta.published))?;
    let pages = pages
        .into_iter()
        .map(|(lang, (bytes, charset, title))| {
            (lang, Page::new(bytes, charset, published_utc, &title))
        })
        .collect();
    Ok(Statement {
        visible: !meta.held_back,
        meta,
        published,
        published_utc,
        pages,
    })
}
