//! What may be fetched: only http(s) URLs on the hosts of the source's base URLs (the
//! profile's, or `--base-url`), only HTML/XML answers. Pure logic, no I/O.
//!
//! A profile cannot widen this: its paths are resolved on the base URLs, and a link or a
//! redirect to any other host is refused (links to a host the profile declares are mapped
//! onto the configured base URL of that language: a mirror or the fixture site).

use std::collections::BTreeMap;

use shared::messages::Lang;
use shared::profile::bare_host;
use url::{Host, Url};

/// The base URL of every language of the source.
#[derive(Debug, Clone)]
pub struct Site {
    /// Where each language is fetched from (path kept: `https://mid.ru/en/`).
    bases: BTreeMap<Lang, Url>,
    /// The profile's own base URL of each language: absolute links to these hosts are
    /// mapped onto `bases`.
    canonical: BTreeMap<Lang, Url>,
}

/// Why a base URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// Not a URL.
    #[error(
        "--base-url {0:?} is not a URL: {1}; write it like https://mid.ru, or LANG=URL,LANG=URL"
    )]
    Parse(String, url::ParseError),
    /// Not http(s), without a host, or with a path.
    #[error(
        "--base-url {0:?} must be an http:// or https:// URL with a host and no path, like https://mid.ru (the paths come from the source's profile)"
    )]
    Scheme(String),
    /// A language without a base URL in the `LANG=URL` form.
    #[error("--base-url gives no URL for {0}: give one URL for every language, or add {0}=URL")]
    MissingLang(Lang),
    /// A `LANG=` that is not a language.
    #[error("--base-url {0:?}: {1}")]
    BadLang(String, String),
    /// A profile base URL on a host the profile does not declare.
    #[error(
        "the profile's base URL {0} is not on a host it declares in `hosts`; add the host to `hosts`"
    )]
    Undeclared(String),
}

impl Site {
    /// The site of a source: `profile_bases` (the profile's base URL per language, on
    /// `hosts`), moved onto `base_url` (`--base-url`: one URL, or `LANG=URL,LANG=URL`) when
    /// given: the scheme, host and port are replaced, the path is kept.
    pub fn new(
        profile_bases: &BTreeMap<Lang, String>,
        hosts: &[String],
        base_url: Option<&str>,
        langs: &[Lang],
    ) -> Result<Self, SiteError> {
        let mut canonical = BTreeMap::new();
        for (&lang, base) in profile_bases {
            let url = Url::parse(base).map_err(|e| SiteError::Parse(base.clone(), e))?;
            let declared = url
                .host_str()
                .is_some_and(|h| hosts.iter().any(|d| bare_host(d) == bare_host(h)));
            if !declared || !matches!(url.scheme(), "http" | "https") {
                return Err(SiteError::Undeclared(base.clone()));
            }
            canonical.insert(lang, url);
        }
        let overrides = match base_url {
            Some(text) => Some(parse_base_urls(text)?),
            None => None,
        };
        let mut bases = BTreeMap::new();
        for (&lang, url) in &canonical {
            let origin = match &overrides {
                None => None,
                Some(BaseUrls::All(origin)) => Some(origin),
                Some(BaseUrls::PerLang(map)) => match map.get(&lang) {
                    Some(origin) => Some(origin),
                    None if langs.contains(&lang) => return Err(SiteError::MissingLang(lang)),
                    None => continue,
                },
            };
            let mut base = url.clone();
            if let Some(origin) = origin {
                move_onto(&mut base, origin);
            }
            bases.insert(lang, base);
        }
        Ok(Site { bases, canonical })
    }

    /// The base URL of `lang`.
    pub fn base(&self, lang: Lang) -> Option<&Url> {
        self.bases.get(&lang)
    }

    /// The URL of `path` (relative to the language's base URL, as in profiles).
    pub fn url(&self, lang: Lang, path: &str) -> Option<Url> {
        let url = self.base(lang)?.join(path).ok()?;
        self.is_allowed(&url).then_some(url)
    }

    /// The distinct origins (`http://127.0.0.1:8700/`) of `langs`, for robots.txt.
    pub fn origins(&self) -> Vec<Url> {
        let mut origins: Vec<Url> = Vec::new();
        for base in self.bases.values() {
            let mut origin = base.clone();
            origin.set_path("/");
            origin.set_query(None);
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        origins
    }

    /// The hosts fetched from, for logs (`127.0.0.1`, `mid.ru`).
    pub fn hosts(&self) -> String {
        let mut hosts: Vec<String> = self
            .bases
            .values()
            .filter_map(|b| b.host_str().map(bare_host))
            .collect();
        hosts.dedup();
        hosts.join(", ")
    }

    /// Whether `url` may be requested: http(s), without credentials, on the host and port of
    /// one of the base URLs (`www.` ignored; http → https on default ports is the same site).
    pub fn is_allowed(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = bare_host(host);
        self.bases.values().any(|base| {
            if base.host_str().map(bare_host) != Some(host.clone()) {
                return false;
            }
            let same_port = url.port_or_known_default() == base.port_or_known_default();
            // An upgrade from http to https on the default ports is the same site.
            let upgrade = base.scheme() == "http"
                && url.scheme() == "https"
                && base.port().is_none()
                && url.port().is_none();
            same_port || upgrade
        })
    }

    /// Resolves a link found in a listing or feed of `lang` at `page`: relative links against
    /// the page's URL; absolute links on the site are kept; links to a host of the
    /// profile's own base URLs are moved onto the configured base URL of their language;
    /// anything else (other hosts, `file:`, `javascript:`, private addresses) gives `None`.
    pub fn resolve_link(&self, lang: Lang, page: &Url, link: &str) -> Option<Url> {
        self.base(lang)?;
        let url = page.join(link.trim()).ok()?;
        if self.is_allowed(&url) {
            return Some(url);
        }
        let Some(Host::Domain(domain)) = url.host() else {
            return None;
        };
        if !matches!(url.scheme(), "http" | "https")
            || url.port().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        let host = bare_host(domain);
        // The language whose profile base URL is on that host and is the longest prefix of
        // the link's path (mid.ru: `/ru/` for a Russian link), preferring `lang`.
        let target = self
            .canonical
            .iter()
            .filter(|(l, c)| {
                self.bases.contains_key(l) && c.host_str().map(bare_host) == Some(host.clone())
            })
            .max_by_key(|(l, c)| {
                let prefix = url.path().starts_with(c.path());
                (prefix, c.path().len() * usize::from(prefix), **l == lang)
            })
            .map(|(l, _)| *l)?;
        let mut mapped = url.clone();
        move_onto(&mut mapped, self.bases.get(&target)?);
        self.is_allowed(&mapped).then_some(mapped)
    }
}

/// `--base-url` as given.
enum BaseUrls {
    All(Url),
    PerLang(BTreeMap<Lang, Url>),
}

fn parse_base_urls(text: &str) -> Result<BaseUrls, SiteError> {
    let origin = |s: &str| -> Result<Url, SiteError> {
        let url = Url::parse(s.trim()).map_err(|e| SiteError::Parse(s.to_string(), e))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.path().trim_matches('/').is_empty()
            || url.query().is_some()
            || !url.username().is_empty()
        {
            return Err(SiteError::Scheme(s.to_string()));
        }
        Ok(url)
    };
    let text = text.trim();
    let per_lang = text
        .split_once('=')
        .is_some_and(|(lang, _)| !lang.contains(':') && !lang.contains('/'));
    if !per_lang {
        return Ok(BaseUrls::All(origin(text)?));
    }
    let mut map = BTreeMap::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (lang, url) = part
            .split_once('=')
            .ok_or_else(|| SiteError::BadLang(part.into(), "expected LANG=URL".into()))?;
        let lang: Lang = lang
            .trim()
            .parse()
            .map_err(|e: shared::messages::UnknownLang| {
                SiteError::BadLang(part.into(), e.to_string())
            })?;
        map.insert(lang, origin(url)?);
    }
    Ok(BaseUrls::PerLang(map))
}

/// Replaces the scheme, host and port of `url` with those of `origin`.
fn move_onto(url: &mut Url, origin: &Url) {
    let mut moved = origin.clone();
    moved.set_path(url.path());
    moved.set_query(url.query());
    moved.set_fragment(None);
    *url = moved;
}

/// Whether a response's Content-Type is one the fetcher accepts: HTML, XML (RSS/Atom), and
/// plain text (robots.txt). A missing Content-Type is accepted (the body is still checked).
pub fn content_type_allowed(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        mime.as_str(),
        "text/html"
            | "application/xhtml+xml"
            | "text/xml"
            | "application/xml"
            | "application/rss+xml"
            | "application/atom+xml"
            | "text/plain"
    )
}
