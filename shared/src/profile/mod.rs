//! Source profiles: everything that differs between the sites the project follows, as data.
//!
//! One TOML file per source (built-ins in `shared/sources/`, embedded in the binaries; users
//! add their own with `--source-file FILE`). A profile names the source (`name = "mid.ru"`,
//! subject token `mid_ru`), its time zone, its languages with a base URL each, the hosts it
//! may be fetched from, a [`fetch`] table (sections, feeds, item URLs, backfill, listing
//! markup, anti-bot and soft-404 markers, politeness) and a [`parse`] table (article markup,
//! chrome, dates, title grammar, kind cues, turn labels, officials registry).
//!
//! Loading validates everything a service would otherwise trip over later: TOML syntax,
//! unknown or missing keys, regexes, CSS selectors, the time zone, URLs, hosts (every URL the
//! profile makes stays on a declared host), the example URL (it must give a document id and a
//! language). An error names the file, the key and the reason. The JSON Schema of the format
//! is `shared/schemas/source_profile.json` (generated from these types).

pub mod fetch;
pub mod parse;

mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::messages::Lang;

pub use fetch::FetchProfile;
pub use parse::ParseProfile;
pub use validate::{DocIdMatcher, compile_regex, compile_selector};

/// Names of the built-in sources.
pub const BUILTIN_NAMES: [&str; 3] = ["mid.ru", "kremlin.ru", "fmprc.gov.cn"];

/// The built-in profile files and the data files they reference: (file name, text).
const BUILTIN_FILES: &[(&str, &str)] = &[
    ("mid.ru.toml", include_str!("../../sources/mid.ru.toml")),
    (
        "mid.ru.officials.json",
        include_str!("../../sources/mid.ru.officials.json"),
    ),
    (
        "kremlin.ru.toml",
        include_str!("../../sources/kremlin.ru.toml"),
    ),
    (
        "kremlin.ru.officials.json",
        include_str!("../../sources/kremlin.ru.officials.json"),
    ),
    (
        "fmprc.gov.cn.toml",
        include_str!("../../sources/fmprc.gov.cn.toml"),
    ),
    (
        "fmprc.gov.cn.officials.json",
        include_str!("../../sources/fmprc.gov.cn.officials.json"),
    ),
    ("places.txt", include_str!("../../sources/places.txt")),
];

/// A source: one site, as its profile describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Source profile")]
pub struct SourceProfile {
    /// The source id written into records (`source`, and `id` = `{source}:{doc_id}:{lang}`):
    /// lower-case letters, digits, dots and dashes (`mid.ru`).
    pub name: String,
    /// The token of the source in NATS subjects (`raw.{token}.{lang}`,
    /// `speeches.{token}.{lang}.{kind}`): lower-case letters, digits, `_` and `-` (`mid_ru`).
    pub token: String,
    /// Human name of the source ("Ministry of Foreign Affairs of the Russian Federation").
    pub display_name: String,
    /// IANA time zone of the dates and times the site shows (`Europe/Moscow`).
    pub time_zone: String,
    /// Every host the source may be fetched from (`www.` variants are implied).
    pub hosts: Vec<String>,
    /// A statement URL of the site, checked at load to give a document id and a language.
    pub example_url: String,
    /// Query parameter that names the language under any path (`lang` on mid.ru).
    #[serde(default)]
    pub lang_query_param: Option<String>,
    /// Language versions: `[languages.en] base_url = "https://mid.ru/en/"`.
    pub languages: BTreeMap<Lang, LanguageSite>,
    /// How statements are found and fetched.
    pub fetch: FetchProfile,
    /// How article pages are read.
    pub parse: ParseProfile,
    /// Where the profile was loaded from (for messages).
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: String,
    /// The officials registry file `parse.officials` names, read at load.
    #[serde(skip)]
    #[schemars(skip)]
    pub officials_json: Option<String>,
    /// The gazetteer file `parse.title.places` names, read at load.
    #[serde(skip)]
    #[schemars(skip)]
    pub places_text: Option<String>,
}

/// One language version of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageSite {
    /// Root of this language version; the profile's paths are relative to it
    /// (`https://mid.ru/en/`, `http://en.kremlin.ru/`).
    pub base_url: String,
}

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file cannot be read.
    #[error(
        "cannot read the source profile {file}: {source}; check the path given to --source-file"
    )]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("source profile {file} is not valid: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The TOML error (it names the line and the key).
        message: String,
    },
    /// A value that does not make sense.
    #[error("source profile {file}: `{key}` {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted path of the key (`parse.selectors.title[0]`).
        key: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// No built-in source has that name.
    #[error(
        "unknown source {0:?}: the built-in sources are mid.ru, kremlin.ru and fmprc.gov.cn; for another site give its profile with --source-file FILE"
    )]
    Unknown(String),
}

impl SourceProfile {
    /// Parses and validates a profile's TOML text. `origin` names it in errors; `read`
    /// returns the text of a file the profile references (`parse.officials`).
    pub fn from_toml(
        text: &str,
        origin: &str,
        read: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Self, ProfileError> {
        let mut profile: SourceProfile =
            toml::from_str(text).map_err(|e| ProfileError::Syntax {
                file: origin.to_string(),
                message: e.to_string().trim_end().to_string(),
            })?;
        profile.origin = origin.to_string();
        if let Some(file) = profile.parse.officials.clone() {
            let json = read(&file).map_err(|reason| ProfileError::Invalid {
                file: origin.to_string(),
                key: "parse.officials".into(),
                reason: format!("names {file:?}, which cannot be read: {reason}"),
            })?;
            profile.officials_json = Some(json);
        }
        if let Some(file) = profile.parse.title.places.clone() {
            let text = read(&file).map_err(|reason| ProfileError::Invalid {
                file: origin.to_string(),
                key: "parse.title.places".into(),
                reason: format!("names {file:?}, which cannot be read: {reason}"),
            })?;
            profile.places_text = Some(text);
        }
        validate::validate(&profile)?;
        Ok(profile)
    }

    /// Loads a user's profile file; files it references are read next to it.
    pub fn from_file(path: &Path) -> Result<Self, ProfileError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            file: origin.clone(),
            source,
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let read = |name: &str| -> Result<String, String> {
            let file: PathBuf = dir.join(name);
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))
        };
        Self::from_toml(&text, &origin, &read)
    }

    /// A built-in profile by name (`mid.ru`, `kremlin.ru`, `fmprc.gov.cn`).
    pub fn builtin(name: &str) -> Result<Self, ProfileError> {
        let file = format!("{name}.toml");
        let text = builtin_file(&file).ok_or_else(|| ProfileError::Unknown(name.to_string()))?;
        let read = |name: &str| {
            builtin_file(name)
                .map(str::to_string)
                .ok_or_else(|| "no such built-in file in shared/sources/".to_string())
        };
        Self::from_toml(text, &format!("shared/sources/{file} (built in)"), &read)
    }

    /// Every language of the source, in code order.
    pub fn langs(&self) -> Vec<Lang> {
        self.languages.keys().copied().collect()
    }

    /// The base URL of `lang` (validated at load).
    pub fn base_url(&self, lang: Lang) -> Option<Url> {
        self.languages
            .get(&lang)
            .and_then(|site| Url::parse(&site.base_url).ok())
    }

    /// The origin (`https://mid.ru/`) of the first language's base URL: relative URLs found
    /// without any page URL are resolved against it.
    pub fn site_root(&self) -> Option<Url> {
        let mut root = self
            .languages
            .values()
            .next()?
            .base_url
            .parse::<Url>()
            .ok()?;
        root.set_path("/");
        root.set_query(None);
        root.set_fragment(None);
        Some(root)
    }

    /// Whether `host` is one the profile declares (`www.` ignored, any case).
    pub fn declares_host(&self, host: &str) -> bool {
        let host = bare_host(host);
        self.hosts.iter().any(|h| bare_host(h) == host)
    }

    /// The language a URL names (see [`LangMatcher::lang_of`]). Parses the base URLs on every
    /// call: code that asks for many URLs keeps a [`LangMatcher`].
    pub fn lang_of_url(&self, url: &Url) -> Option<Lang> {
        LangMatcher::new(self).lang_of(url)
    }

    /// Subject of this source's raw pages in `lang`.
    pub fn raw_subject(&self, lang: Lang) -> String {
        crate::subjects::raw_subject(&self.token, lang)
    }

    /// Subject of this source's records.
    pub fn speech_subject(&self, lang: Lang, kind: crate::messages::Kind) -> String {
        crate::subjects::speech_subject(&self.token, lang, kind)
    }
}

/// The language rule of a profile with its base URLs parsed once: what
/// [`SourceProfile::lang_of_url`] does, for a service that asks for every page.
#[derive(Debug, Clone)]
pub struct LangMatcher {
    /// Each language with a valid base URL, and the base URL's host without `www.`.
    bases: Vec<(Lang, Url, Option<String>)>,
    /// Every language of the profile.
    langs: Vec<Lang>,
    query_param: Option<String>,
}

impl LangMatcher {
    /// Parses the base URLs of `profile`.
    pub fn new(profile: &SourceProfile) -> Self {
        LangMatcher {
            bases: profile
                .languages
                .keys()
                .filter_map(|&lang| {
                    let base = profile.base_url(lang)?;
                    let host = base.host_str().map(bare_host);
                    Some((lang, base, host))
                })
                .collect(),
            langs: profile.langs(),
            query_param: profile.lang_query_param.clone(),
        }
    }

    /// The language a URL names: by its host when only one language lives there (or the
    /// source has one language), else by the longest base-URL path it starts with (among the
    /// languages on its host, or all of them on another host: mirrors, the fixture site),
    /// else by [`SourceProfile::lang_query_param`].
    pub fn lang_of(&self, url: &Url) -> Option<Lang> {
        let host = bare_host(url.host_str().unwrap_or_default());
        let on_host: Vec<&(Lang, Url, Option<String>)> = self
            .bases
            .iter()
            .filter(|(_, _, h)| h.as_ref() == Some(&host))
            .collect();
        if let [(lang, _, _)] = on_host.as_slice() {
            return Some(*lang);
        }
        if let [(lang, _, _)] = self.bases.as_slice() {
            return Some(*lang);
        }
        let candidates: Vec<&(Lang, Url, Option<String>)> = if on_host.is_empty() {
            self.bases.iter().collect()
        } else {
            on_host
        };
        candidates
            .iter()
            .filter(|(_, base, _)| base.path().len() > 1 && url.path().starts_with(base.path()))
            .max_by_key(|(_, base, _)| base.path().len())
            .map(|(lang, _, _)| *lang)
            .or_else(|| {
                let param = self.query_param.as_deref()?;
                url.query_pairs()
                    .find(|(k, _)| k == param)
                    .and_then(|(_, v)| v.parse::<Lang>().ok())
                    .filter(|lang| self.langs.contains(lang))
            })
    }
}

/// A host without `www.`, lower case.
pub fn bare_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    match host.strip_prefix("www.") {
        Some(rest) => rest.to_string(),
        None => host,
    }
}

fn builtin_file(name: &str) -> Option<&'static str> {
    BUILTIN_FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
}

/// Every built-in profile.
pub fn builtins() -> Result<Vec<SourceProfile>, ProfileError> {
    BUILTIN_NAMES
        .iter()
        .map(|n| SourceProfile::builtin(n))
        .collect()
}

/// The profiles a service knows: the built-ins plus the users' files (a file with a
/// built-in's name replaces it).
#[derive(Debug, Clone)]
pub struct Profiles {
    list: Vec<Arc<SourceProfile>>,
}

impl Profiles {
    /// The built-ins and `files`, in that order.
    pub fn load(files: &[PathBuf]) -> Result<Self, ProfileError> {
        let mut profiles = Profiles {
            list: builtins()?.into_iter().map(Arc::new).collect(),
        };
        for file in files {
            profiles.insert(SourceProfile::from_file(file)?);
        }
        Ok(profiles)
    }

    /// Adds a profile, replacing one of the same name.
    pub fn insert(&mut self, profile: SourceProfile) {
        let profile = Arc::new(profile);
        match self.list.iter_mut().find(|p| p.name == profile.name) {
            Some(slot) => *slot = profile,
            None => self.list.push(profile),
        }
    }

    /// Every profile.
    pub fn all(&self) -> &[Arc<SourceProfile>] {
        &self.list
    }

    /// The profile named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Arc<SourceProfile>> {
        self.list.iter().find(|p| p.name == name)
    }

    /// The profile declaring `host` (`www.` ignored).
    pub fn by_host(&self, host: &str) -> Option<&Arc<SourceProfile>> {
        self.list.iter().find(|p| p.declares_host(host))
    }

    /// The profile of a URL's host.
    pub fn by_url(&self, url: &str) -> Option<&Arc<SourceProfile>> {
        let url = Url::parse(url.trim()).ok()?;
        self.by_host(url.host_str()?)
    }
}

#[cfg(test)]
mod tests;
