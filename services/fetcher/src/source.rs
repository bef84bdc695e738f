//! The source being fetched: its profile (built in, `--source NAME`, or a user's file,
//! `--source-file FILE`) compiled for the fetcher, with the base URL of every language
//! (`--base-url` moves them onto a mirror or the fixture site). Pure logic, no I/O beyond
//! reading the profile file.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use scraper::Selector;
use shared::messages::Lang;
use shared::profile::fetch::{Backfill, Feed, FeedFormat, Section};
use shared::profile::{DocIdMatcher, ProfileError, SourceProfile, compile_regex, compile_selector};

use crate::safety::{Site, SiteError};

/// Why the source cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The profile is missing or invalid (the message names the file, the key and the reason).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A bad `--base-url`.
    #[error(transparent)]
    Site(#[from] SiteError),
    /// A language that the source does not have.
    #[error(
        "{source_name} has no {lang} version (its languages: {langs}); pick languages of the source with --langs"
    )]
    Lang {
        /// The source.
        source_name: String,
        /// The language asked for.
        lang: Lang,
        /// Its languages.
        langs: String,
    },
}

/// The listing selectors, compiled.
#[derive(Debug)]
pub struct Markup {
    /// Items, then the fallback.
    pub items: Vec<Selector>,
    /// The link inside an item.
    pub link: Selector,
    /// The title inside an item.
    pub title: Option<Selector>,
    /// The date inside an item.
    pub date: Option<Selector>,
    /// The attribute holding the date, instead of the text.
    pub date_attr: Option<String>,
    /// The time inside an item.
    pub time: Option<Selector>,
    /// The tags inside an item.
    pub tags: Option<Selector>,
    /// A day heading before a group of items.
    pub day_heading: Option<Selector>,
    /// Items and day headings, in document order.
    pub items_and_headings: Option<Selector>,
}

/// A source, ready to fetch.
#[derive(Debug, Clone)]
pub struct Source {
    /// The profile.
    pub profile: Arc<SourceProfile>,
    /// Base URLs per language (the profile's, or `--base-url`).
    pub site: Site,
    /// The languages fetched.
    pub langs: Vec<Lang>,
    /// The sections polled.
    pub sections: Vec<Section>,
    /// Statement URLs (path).
    pub item_url: Regex,
    /// Document ids.
    pub doc_id: DocIdMatcher,
    /// Listing selectors.
    pub markup: Arc<Markup>,
    /// The site's time zone.
    pub tz: chrono_tz::Tz,
}

impl Source {
    /// Loads the profile (`file` wins over `name`) and compiles it for the fetcher.
    /// `base_url`: `--base-url`; `langs` and `sections`: the flags, if given.
    pub fn load(
        name: &str,
        file: Option<&std::path::Path>,
        base_url: Option<&str>,
        langs: Option<&[Lang]>,
        sections: Option<&[String]>,
    ) -> Result<Source, SourceError> {
        let profile = match file {
            Some(path) => SourceProfile::from_file(path)?,
            None => SourceProfile::builtin(name)?,
        };
        Source::new(Arc::new(profile), base_url, langs, sections)
    }

    /// Compiles `profile` for the fetcher.
    pub fn new(
        profile: Arc<SourceProfile>,
        base_url: Option<&str>,
        langs: Option<&[Lang]>,
        sections: Option<&[String]>,
    ) -> Result<Source, SourceError> {
        let p = &profile;
        let all = p.langs();
        let langs: Vec<Lang> = match (langs, &p.fetch.langs) {
            (Some(l), _) => l.to_vec(),
            (None, Some(l)) => l.clone(),
            (None, None) => all.clone(),
        };
        for &lang in &langs {
            if !all.contains(&lang) {
                return Err(SourceError::Lang {
                    source_name: p.name.clone(),
                    lang,
                    langs: all
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let bases: BTreeMap<Lang, String> = p
            .languages
            .iter()
            .map(|(lang, site)| (*lang, site.base_url.clone()))
            .collect();
        let site = Site::new(&bases, &p.hosts, base_url, &langs)?;
        let sections = match sections {
            Some(paths) => select_sections(&p.fetch.sections, paths),
            None => p.fetch.sections.clone(),
        };
        let l = &p.fetch.listing;
        let sel = |key: &str, css: &str| compile_selector(p, key, css);
        let opt = |key: &str, css: &Option<String>| css.as_deref().map(|c| sel(key, c)).transpose();
        let mut items = vec![sel("fetch.listing.item", &l.item)?];
        if let Some(fallback) = &l.item_fallback {
            items.push(sel("fetch.listing.item_fallback", fallback)?);
        }
        let items_and_headings = match &l.day_heading {
            Some(heading) => Some(sel(
                "fetch.listing.day_heading",
                &format!("{heading}, {}", l.item),
            )?),
            None => None,
        };
        let markup = Markup {
            items,
            link: sel("fetch.listing.link", &l.link)?,
            title: opt("fetch.listing.title", &l.title)?,
            date: opt("fetch.listing.date", &l.date)?,
            date_attr: l.date_attr.clone(),
            time: opt("fetch.listing.time", &l.time)?,
            tags: opt("fetch.listing.tags", &l.tags)?,
            day_heading: opt("fetch.listing.day_heading", &l.day_heading)?,
            items_and_headings,
        };
        let tz: chrono_tz::Tz = p.time_zone.parse().map_err(|_| ProfileError::Invalid {
            file: p.origin.clone(),
            key: "time_zone".into(),
            reason: format!("{:?} is not an IANA time zone", p.time_zone),
        })?;
        Ok(Source {
            item_url: compile_regex(p, "fetch.item_url", &p.fetch.item_url)?,
            doc_id: DocIdMatcher::new(p)?,
            markup: Arc::new(markup),
            tz,
            site,
            langs,
            sections,
            profile,
        })
    }

    /// The source id (`mid.ru`).
    pub fn name(&self) -> &str {
        &self.profile.name
    }

    /// The subject token (`mid_ru`), also the prefix of the state keys.
    pub fn token(&self) -> &str {
        &self.profile.token
    }

    /// The feeds of `lang`.
    pub fn feeds(&self, lang: Lang) -> impl Iterator<Item = &Feed> {
        self.profile
            .fetch
            .feeds
            .iter()
            .filter(move |f| f.langs.as_ref().is_none_or(|l| l.contains(&lang)))
    }

    /// The date-filtered listing, where the site has one.
    pub fn backfill(&self) -> Option<&Backfill> {
        self.profile.fetch.backfill.as_ref()
    }

    /// The document id of a statement URL's path, if the path is a statement's.
    pub fn doc_id_of(&self, path: &str) -> Option<String> {
        if !self.item_url.is_match(path) {
            return None;
        }
        self.doc_id.doc_id(path)
    }

    /// Whether a feed is Atom.
    pub fn is_atom(feed: &Feed) -> bool {
        feed.format == FeedFormat::Atom
    }
}

/// The sections named by `--sections` (by any of their paths, slashes ignored), in the
/// order given; a path naming no section of the profile is a section of its own.
pub fn select_sections(known: &[Section], paths: &[String]) -> Vec<Section> {
    let mut chosen: Vec<Section> = Vec::new();
    for path in paths {
        let wanted = path.trim().trim_start_matches('/');
        if wanted.trim_matches('/').is_empty() {
            continue;
        }
        let same = |p: &str| p.trim_matches('/') == wanted.trim_matches('/');
        let section = known
            .iter()
            .find(|s| same(&s.path) || s.paths.values().any(|p| same(p)))
            .cloned()
            .unwrap_or_else(|| Section {
                path: wanted.to_string(),
                paths: BTreeMap::new(),
                langs: None,
            });
        if !chosen.contains(&section) {
            chosen.push(section);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;

    fn load(name: &str, base: Option<&str>) -> Result<Source, SourceError> {
        Source::load(name, None, base, None, None)
    }

    fn at(url: &str) -> Url {
        Url::parse(url).unwrap()
    }

    #[test]
    fn mid_ru_moves_onto_one_base_url_and_keeps_its_language_paths() {
        let mid = load("mid.ru", Some("http://127.0.0.1:8700")).unwrap();
        assert_eq!((mid.name(), mid.token()), ("mid.ru", "mid_ru"));
        assert_eq!(mid.langs, vec![Lang::En, Lang::Ru]);
        assert_eq!(
            mid.site
                .url(Lang::Ru, "foreign_policy/news/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8700/ru/foreign_policy/news/"
        );
        // Absolute links to the real site land on the base URL, in their own language.
        let page = at("http://127.0.0.1:8700/en/rss.php");
        assert_eq!(
            mid.site
                .resolve_link(
                    Lang::En,
                    &page,
                    "https://www.mid.ru/ru/foreign_policy/news/1950001/"
                )
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8700/ru/foreign_policy/news/1950001/"
        );
        let real = load("mid.ru", None).unwrap();
        assert_eq!(
            real.site.base(Lang::En).unwrap().as_str(),
            "https://mid.ru/en/"
        );
        let comments = select_sections(
            &real.profile.fetch.sections,
            &[
                "/press_service/spokesman/kommentarii/".into(),
                "/other/".into(),
            ],
        );
        assert_eq!(
            comments[0].path_for(Lang::Ru),
            "press_service/spokesman/kommentarii/"
        );
        assert_eq!(
            comments[0].path_for(Lang::En),
            "press_service/spokesman/comments/"
        );
        assert_eq!(comments[1].path_for(Lang::Ru), "other/");
    }

    #[test]
    fn kremlin_has_a_host_per_language() {
        let k = load(
            "kremlin.ru",
            Some("ru=http://127.0.0.1:1,en=http://127.0.0.1:2"),
        )
        .unwrap();
        assert_eq!(
            k.site
                .url(Lang::En, "events/president/news")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:2/events/president/news"
        );
        let page = at("http://127.0.0.1:1/events/president/news/feed");
        assert_eq!(
            k.site
                .resolve_link(
                    Lang::Ru,
                    &page,
                    "http://en.kremlin.ru/events/president/news/76455"
                )
                .unwrap()
                .as_str(),
            "http://127.0.0.1:2/events/president/news/76455"
        );
        assert!(matches!(
            load("kremlin.ru", Some("ru=http://127.0.0.1:1")),
            Err(SourceError::Site(SiteError::MissingLang(Lang::En)))
        ));
        assert!(
            Source::load(
                "kremlin.ru",
                None,
                Some("ru=http://127.0.0.1:1"),
                Some(&[Lang::Ru]),
                None
            )
            .is_ok()
        );
        assert!(load("kremlin.ru", Some("xx=http://127.0.0.1:1")).is_err());
        assert!(load("kremlin.ru", Some("http://127.0.0.1:1/path/")).is_err());
        assert!(matches!(
            Source::load("fmprc.gov.cn", None, None, Some(&[Lang::Ru]), None),
            Err(SourceError::Lang { .. })
        ));
        assert!(matches!(
            load("example.org", None),
            Err(SourceError::Profile(ProfileError::Unknown(_)))
        ));
    }

    #[test]
    fn doc_ids_follow_the_profiles() {
        let cases = [
            (
                "mid.ru",
                "/en/foreign_policy/news/1950001/",
                Some("1950001"),
            ),
            ("mid.ru", "/en/foreign_policy/news/", None),
            (
                "kremlin.ru",
                "/events/president/transcripts/press_conferences/76440",
                Some("76440"),
            ),
            ("kremlin.ru", "/events/president/news/76440/photos", None),
            (
                "fmprc.gov.cn",
                "/eng/xw/fyrbt/lxjzh/202405/t20240530_11347225.html",
                Some("11347225"),
            ),
            ("fmprc.gov.cn", "/eng/xw/fyrbt/lxjzh/index_1.html", None),
        ];
        for (name, path, id) in cases {
            let source = load(name, None).unwrap();
            assert_eq!(source.doc_id_of(path).as_deref(), id, "{name} {path}");
        }
    }

    /// No profile can make the fetcher request a host it does not declare: paths that name
    /// another host give no URL, links elsewhere are dropped, and a base URL on an
    /// undeclared host is refused.
    #[test]
    fn a_profile_cannot_make_the_fetcher_request_an_undeclared_host() {
        let mut profile = SourceProfile::builtin("mid.ru").unwrap();
        profile.fetch.sections[0].path = "//evil.example/x/".into();
        profile.fetch.sections[1].path = "https://evil.example/x/".into();
        profile.fetch.feeds[0].path = "http://169.254.169.254/latest/".into();
        let source = Source::new(Arc::new(profile.clone()), None, None, None).unwrap();
        for path in [
            &source.sections[0].path,
            &source.sections[1].path,
            &source.profile.fetch.feeds[0].path,
        ] {
            assert!(source.site.url(Lang::En, path).is_none(), "{path}");
        }
        let page = at("https://mid.ru/en/rss.php");
        for link in [
            "https://evil.example/en/foreign_policy/news/1950001/",
            "http://127.0.0.1/en/foreign_policy/news/1950001/",
            "https://mid.ru:8443/en/foreign_policy/news/1950001/",
            "file:///etc/passwd",
        ] {
            assert!(
                source.site.resolve_link(Lang::En, &page, link).is_none(),
                "{link}"
            );
        }
        assert!(source.site.is_allowed(&at("https://www.mid.ru/en/")));
        assert!(
            !source
                .site
                .is_allowed(&at("https://mid.ru.evil.example/en/"))
        );
        profile.languages.get_mut(&Lang::En).unwrap().base_url = "https://evil.example/en/".into();
        assert!(matches!(
            Source::new(Arc::new(profile), None, None, None),
            Err(SourceError::Site(SiteError::Undeclared(_)))
        ));
    }

    #[test]
    fn challenge_markers_come_from_the_profile() {
        let mid = load("mid.ru", None).unwrap();
        let anti_bot = &mid.profile.fetch.anti_bot;
        assert!(anti_bot.is_challenge(br#"<html><script src="/TSPD/08a?type=7"></script></html>"#));
        assert!(anti_bot.is_challenge(br#"<script>window["bobcmn"] = "1";</script>"#));
        assert!(anti_bot.is_challenge(
            b"<html><body>Please enable JavaScript to view the page content.</body></html>"
        ));
        assert!(
            anti_bot.is_challenge(b"<html><body>Data processing... Please, wait.</body></html>")
        );
        assert!(
            !anti_bot.is_challenge(
                b"<html><div class=\"text article-content\"><p>Hello</p></div></html>"
            )
        );
        // A statement quoting the phrase is still a statement.
        assert!(!anti_bot.is_challenge(
            b"<div class=\"text article-content\"><p>The banner said: Please enable JavaScript.</p></div>"
        ));
        assert!(!anti_bot.is_challenge(b""));
        assert!(!anti_bot.is_challenge(&[0xff, 0xfe, 0x00]));
        let fmprc = load("fmprc.gov.cn", None).unwrap();
        assert!(
            fmprc
                .profile
                .fetch
                .soft_404
                .matches("https://www.fmprc.gov.cn/web/system/index_17321.shtml", "")
        );
    }
}
