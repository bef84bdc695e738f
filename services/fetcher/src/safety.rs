//! What may be fetched: only http(s) URLs on the configured site, only HTML/XML answers.
//! Pure logic, no I/O.

use url::{Host, Url};

/// The canonical host of the real site: absolute links in its pages say `https://mid.ru/...`.
/// Their paths are mapped onto the configured base URL (a mirror or the fixture site).
pub const CANONICAL_HOST: &str = "mid.ru";

/// The site being fetched: scheme, host and port of `--base-url`.
#[derive(Debug, Clone)]
pub struct Site {
    base: Url,
}

/// Why a base URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// Not a URL.
    #[error("--base-url {0:?} is not a URL: {1}; write it like https://mid.ru")]
    Parse(String, url::ParseError),
    /// Not http(s) or without a host.
    #[error("--base-url {0:?} must be an http:// or https:// URL with a host, like https://mid.ru")]
    Scheme(String),
}

impl Site {
    /// Parses `--base-url`.
    pub fn new(base: &str) -> Result<Self, SiteError> {
        let mut url = Url::parse(base).map_err(|e| SiteError::Parse(base.to_string(), e))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(SiteError::Scheme(base.to_string()));
        }
        url.set_path("/");
        url.set_query(None);
        url.set_fragment(None);
        Ok(Site { base: url })
    }

    /// The base URL (path `/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The host, without `www.`.
    pub fn bare_host(&self) -> String {
        bare(self.base.host_str().unwrap_or(""))
    }

    /// The URL of `path_and_query` (e.g. `/en/rss.php`) on this site.
    pub fn url(&self, path_and_query: &str) -> Option<Url> {
        self.base.join(path_and_query).ok()
    }

    /// Whether `url` may be requested: http(s), on this site's host (or its `www.` variant,
    /// or the other way round), on this site's port.
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
        if bare(host) != self.bare_host() {
            return false;
        }
        let same_port = url.port_or_known_default() == self.base.port_or_known_default();
        // An upgrade from http to https on the default ports is the same site.
        let upgrade = self.base.scheme() == "http"
            && url.scheme() == "https"
            && self.base.port().is_none()
            && url.port().is_none();
        same_port || upgrade
    }

    /// Resolves a link found in a listing or feed: relative links against the base; absolute
    /// links on this site are kept, links on the canonical site (`mid.ru`) are mapped onto
    /// this site's base; anything else (other hosts, `file:`, `javascript:`, private
    /// addresses of other hosts) gives `None`.
    pub fn resolve_link(&self, link: &str) -> Option<Url> {
        let link = link.trim();
        let url = self.base.join(link).ok()?;
        if self.is_allowed(&url) {
            return Some(url);
        }
        let canonical = matches!(url.scheme(), "http" | "https")
            && matches!(url.host(), Some(Host::Domain(d)) if bare(d) == CANONICAL_HOST)
            && url.port().is_none()
            && url.username().is_empty();
        if canonical {
            let mut mapped = self.base.clone();
            mapped.set_path(url.path());
            mapped.set_query(url.query());
            return Some(mapped);
        }
        None
    }
}

fn bare(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    host.strip_prefix("www.")
        .map(str::to_string)
        .unwrap_or(host)
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

/// The document id of a statement URL path: its last all-digit segment of 5 to 9 digits.
pub fn doc_id_from_path(path: &str) -> Option<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .rev()
        .find(|s| (5..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_host_is_allowed() {
        let site = Site::new("https://mid.ru").unwrap();
        let ok = |s: &str| site.is_allowed(&Url::parse(s).unwrap());
        assert!(ok("https://mid.ru/en/foreign_policy/news/1950001/"));
        assert!(ok("https://www.mid.ru/en/"));
        assert!(ok("https://MID.ru/en/"));
        assert!(!ok("https://evil.example/en/"));
        assert!(!ok("https://mid.ru.evil.example/en/"));
        assert!(!ok("file:///etc/passwd"));
        assert!(!ok("ftp://mid.ru/"));
        assert!(!ok("https://mid.ru:8443/en/"));
        assert!(!ok("https://user:pw@mid.ru/en/"));
        assert!(!ok("http://127.0.0.1/en/"));
        assert!(!ok("http://169.254.169.254/latest/meta-data/"));
        // No downgrade to plain http; an upgrade is fine.
        assert!(!ok("http://mid.ru/en/"));
        let plain = Site::new("http://mid.ru").unwrap();
        assert!(plain.is_allowed(&Url::parse("https://www.mid.ru/en/").unwrap()));
        assert!(!plain.is_allowed(&Url::parse("https://mid.ru:8443/en/").unwrap()));
    }

    #[test]
    fn links_resolve_onto_the_base() {
        let site = Site::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            site.resolve_link("/en/foreign_policy/news/1950001/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/en/foreign_policy/news/1950001/"
        );
        assert_eq!(
            site.resolve_link("https://mid.ru/ru/foreign_policy/news/1950001/?x=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/ru/foreign_policy/news/1950001/?x=1"
        );
        assert_eq!(
            site.resolve_link("http://127.0.0.1:8080/en/rss.php")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/en/rss.php"
        );
        assert!(site.resolve_link("http://127.0.0.1:9999/en/").is_none());
        assert!(site.resolve_link("http://10.0.0.1/en/").is_none());
        assert!(site.resolve_link("https://example.com/en/").is_none());
        assert!(site.resolve_link("file:///etc/passwd").is_none());
        assert!(site.resolve_link("javascript:alert(1)").is_none());
        assert!(site.resolve_link("https://mid.ru:444/x").is_none());
    }

    #[test]
    fn base_url_must_be_http() {
        assert!(Site::new("ftp://mid.ru").is_err());
        assert!(Site::new("mid.ru").is_err());
        assert_eq!(
            Site::new("https://www.mid.ru/en/").unwrap().bare_host(),
            "mid.ru"
        );
    }

    #[test]
    fn content_types() {
        assert!(content_type_allowed(Some(
            "text/html; charset=windows-1251"
        )));
        assert!(content_type_allowed(Some("application/rss+xml")));
        assert!(content_type_allowed(Some("TEXT/XML")));
        assert!(content_type_allowed(None));
        assert!(!content_type_allowed(Some("application/pdf")));
        assert!(!content_type_allowed(Some("image/jpeg")));
        assert!(!content_type_allowed(Some("application/octet-stream")));
    }

    #[test]
    fn doc_ids() {
        assert_eq!(
            doc_id_from_path("/en/foreign_policy/news/1950001/").as_deref(),
            Some("1950001")
        );
        assert_eq!(
            doc_id_from_path("/ru/press_service/spokesman/kommentarii/987654").as_deref(),
            Some("987654")
        );
        assert_eq!(doc_id_from_path("/en/foreign_policy/news/"), None);
        assert_eq!(doc_id_from_path("/en/2024/"), None);
        assert_eq!(doc_id_from_path("/en/12345678901/"), None);
    }
}
