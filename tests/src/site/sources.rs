//! The fixture site of any source: one server per host of the source (kremlin.ru: two),
//! loaded from `tests/fixtures/site` (mid.ru) or `tests/fixtures/sources/{source}/`.

use super::*;

/// The servers of one source, with the `--base-url` that points a fetcher at them.
#[derive(Debug)]
pub struct SourceSite {
    /// The source's name (`kremlin.ru`).
    pub name: String,
    /// The servers, with the languages each serves (empty: every language).
    pub hosts: Vec<(Vec<String>, FixtureSite)>,
}

impl SourceSite {
    /// The corpus folder of `source`: `tests/fixtures/site` for mid.ru, else
    /// `tests/fixtures/sources/{source}`.
    pub fn corpus_dir(source: &str) -> PathBuf {
        if source == "mid.ru" {
            FixtureSite::corpus_dir()
        } else {
            crate::workspace_root()
                .join("tests/fixtures/sources")
                .join(source)
        }
    }

    /// Serves `source` on 127.0.0.1 (free ports), quietly. Panics when its corpus cannot be
    /// loaded.
    pub async fn start(source: &str) -> SourceSite {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::serve(source, &Self::corpus_dir(source), &[any, any], false)
            .await
            .unwrap_or_else(|e| panic!("fixture site of {source}: {e}"))
    }

    /// Serves `source` from its corpus folder `dir` on `listen` (kremlin.ru needs two
    /// addresses: Russian, then English; the others use the first).
    pub async fn serve(
        source: &str,
        dir: &Path,
        listen: &[SocketAddr],
        log_requests: bool,
    ) -> Result<SourceSite, String> {
        let corpus = Corpus::load(dir).map_err(|e| e.to_string())?;
        let first = *listen
            .first()
            .ok_or_else(|| "give an address to listen on".to_string())?;
        let bind = |e: std::io::Error| format!("cannot listen: {e}; pick a free address");
        let hosts = match source {
            "mid.ru" => vec![(
                Vec::new(),
                FixtureSite::serve_as(first, corpus, Flavor::Mid, log_requests)
                    .await
                    .map_err(bind)?,
            )],
            "kremlin.ru" => {
                let second = *listen.get(1).ok_or_else(|| {
                    "kremlin.ru has two hosts: give a second address (en.kremlin.ru)".to_string()
                })?;
                let mut hosts = Vec::new();
                for (lang, addr) in [("ru", first), ("en", second)] {
                    let flavor = Flavor::Kremlin { lang: lang.into() };
                    let site = FixtureSite::serve_as(addr, corpus.clone(), flavor, log_requests)
                        .await
                        .map_err(bind)?;
                    hosts.push((vec![lang.to_string()], site));
                }
                hosts
            }
            "fmprc.gov.cn" => vec![(
                Vec::new(),
                FixtureSite::serve_as(first, corpus, Flavor::Fmprc, log_requests)
                    .await
                    .map_err(bind)?,
            )],
            _ => {
                let served = dir.join("served");
                if !served.is_dir() {
                    return Err(format!(
                        "{} has no served/ folder (listings, feeds, robots.txt of a user's site)",
                        dir.display()
                    ));
                }
                let flavor = Flavor::Files { dir: served };
                vec![(
                    Vec::new(),
                    FixtureSite::serve_as(first, corpus, flavor, log_requests)
                        .await
                        .map_err(bind)?,
                )]
            }
        };
        Ok(SourceSite {
            name: source.to_string(),
            hosts,
        })
    }

    /// The fetcher's `--base-url`: one URL, or `ru=URL,en=URL` for kremlin.ru.
    pub fn base_url_flag(&self) -> String {
        match self.hosts.as_slice() {
            [(_, site)] => site.base_url(),
            hosts => hosts
                .iter()
                .map(|(langs, site)| format!("{}={}", langs.join(""), site.base_url()))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The server of `lang`.
    pub fn host(&self, lang: &str) -> &FixtureSite {
        self.hosts
            .iter()
            .find(|(langs, _)| langs.is_empty() || langs.iter().any(|l| l == lang))
            .map(|(_, site)| site)
            .unwrap_or_else(|| panic!("{} has no host for {lang}", self.name))
    }

    /// (doc id, lang) of every visible statement page, sorted.
    pub fn visible(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = Vec::new();
        for (langs, site) in &self.hosts {
            for (id, page_langs) in site.statements() {
                for lang in page_langs {
                    if langs.is_empty() || langs.contains(&lang) {
                        all.push((id.clone(), lang));
                    }
                }
            }
        }
        all.sort();
        all.dedup();
        all
    }

    /// Every request served, by host (with the languages it serves; empty: every language).
    pub fn host_requests(&self) -> Vec<(Vec<String>, Vec<LoggedRequest>)> {
        self.hosts
            .iter()
            .map(|(langs, s)| (langs.clone(), s.requests()))
            .collect()
    }

    /// Every request served, on every host.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.hosts.iter().flat_map(|(_, s)| s.requests()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_get;

    async fn get(url: String) -> (u16, String) {
        http_get(&url).await.unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn kremlin_serves_two_hosts_with_listings_feeds_days_and_pages() {
        let k = SourceSite::start("kremlin.ru").await;
        let flag = k.base_url_flag();
        assert!(flag.starts_with("ru=http://127.0.0.1:") && flag.contains(",en=http://127.0.0.1:"));
        let (ru, en) = (k.host("ru").base_url(), k.host("en").base_url());
        let (status, listing) = get(format!("{en}/events/president/transcripts")).await;
        assert_eq!(status, 200);
        assert!(listing.contains("<h2 class=\"events__title\"><time datetime=\"2025-11-27\">"));
        assert!(listing.contains(
            "<a href=\"/events/president/transcripts/press_conferences/76440\" rel=\"bookmark\">"
        ));
        let (status, feed) = get(format!("{ru}/events/president/news/feed")).await;
        assert_eq!(status, 200);
        assert!(
            feed.contains("<entry>") && feed.contains(&format!("href=\"{ru}/events/president/"))
        );
        let (status, day) = get(format!(
            "{en}/events/president/transcripts/by-date/27.11.2025"
        ))
        .await;
        assert_eq!(status, 200);
        assert!(day.contains("/76440\""));
        assert!(!day.contains("/15524\""));
        let page = "/events/president/transcripts/press_conferences/76440";
        assert_eq!(get(format!("{en}{page}")).await.0, 200);
        assert_eq!(get(format!("{ru}{page}")).await.0, 200);
        // 76502 has no English version: the English host does not have it.
        assert_eq!(
            get(format!("{ru}/events/president/news/76502")).await.0,
            200
        );
        assert_eq!(
            get(format!("{en}/events/president/news/76502")).await.0,
            404
        );
        assert!(
            get(format!("{en}/robots.txt"))
                .await
                .1
                .contains("User-agent: *")
        );
        assert!(
            k.visible()
                .contains(&("76502".to_string(), "ru".to_string()))
        );
        assert!(
            !k.visible()
                .contains(&("76502".to_string(), "en".to_string()))
        );
    }

    #[tokio::test]
    async fn fmprc_serves_listings_with_relative_links_and_soft_404s() {
        let f = SourceSite::start("fmprc.gov.cn").await;
        let base = f.base_url_flag();
        let (status, listing) = get(format!("{base}/eng/xw/fyrbt/lxjzh/")).await;
        assert_eq!(status, 200);
        // Re-published old conference: the CMS date in the listing and the URL.
        assert!(listing.contains("<a href=\"./202405/t20240530_11347301.html\""));
        assert!(listing.contains("<span>2024-05-30</span>"));
        assert!(listing.contains("var countPage = 1"));
        assert_eq!(
            get(format!("{base}/eng/xw/fyrbt/lxjzh/index_1.html"))
                .await
                .0,
            200
        );
        let page = "/eng/xw/fyrbt/lxjzh/202405/t20240530_11347301.html";
        assert_eq!(get(format!("{base}{page}")).await.0, 200);
        // An unknown item redirects to the generic page, answered with 200.
        f.host("en").clear_requests();
        let unknown = format!("{base}/eng/xw/fyrbt/lxjzh/202405/t20240530_99999999.html");
        assert_eq!(get(unknown).await.0, 302);
        let (status, body) = get(format!("{base}{}", fmprc::SYSTEM_PAGE)).await;
        assert_eq!(status, 200);
        assert!(body.contains("Ministry of Foreign Affairs"));
        let location = f.requests()[0].status;
        assert_eq!(location, 302);
        // robots.txt redirects to an HTML page (no rules).
        assert_eq!(get(format!("{base}/robots.txt")).await.0, 302);
        assert!(get(format!("{base}/eng/")).await.1.contains("<html"));
    }

    #[tokio::test]
    async fn a_users_site_serves_its_files_and_pages() {
        let e = SourceSite::start("mfa.eldoria.example").await;
        let base = e.base_url_flag();
        assert!(
            get(format!("{base}/robots.txt"))
                .await
                .1
                .contains("Disallow: /en/search")
        );
        let (status, listing) = get(format!("{base}/en/newsroom/")).await;
        assert_eq!(status, 200);
        assert!(listing.contains("listing__row"));
        assert_eq!(get(format!("{base}/en/newsroom/feed.rss")).await.0, 200);
        let page = "/en/newsroom/2025/03/4127-press-conference-harbour-accord";
        assert_eq!(get(format!("{base}{page}")).await.0, 200);
        assert_eq!(get(format!("{base}/en/../../etc/passwd")).await.0, 404);
        assert!(
            e.visible()
                .contains(&("4127".to_string(), "fr".to_string()))
        );
    }
}
