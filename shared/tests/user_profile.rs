//! The made-up fourth site's user profile (`tests/fixtures/sources/mfa.eldoria.example/`)
//! loads with the profile format of this build: a site described by data alone.

use std::path::PathBuf;

use shared::Lang;
use shared::profile::{DocIdMatcher, SourceProfile};
use url::Url;

fn eldoria_profile() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/sources/mfa.eldoria.example/profile.toml")
}

#[test]
fn the_fourth_sites_profile_loads_and_reads_its_urls() {
    let profile = SourceProfile::from_file(&eldoria_profile())
        .unwrap_or_else(|e| panic!("the fourth site's profile must load: {e}"));
    assert_eq!(profile.name, "mfa.eldoria.example");
    assert_eq!(profile.token, "mfa_eldoria_example");
    assert_eq!(profile.langs(), vec![Lang::En, Lang::Fr]);
    assert!(profile.declares_host("mfa.eldoria.example"));
    assert!(!profile.declares_host("eldoria.example"));
    assert!(
        profile
            .officials_json
            .as_deref()
            .is_some_and(|j| j.contains("Tamsin Ardel")),
        "the officials registry beside the profile is read"
    );
    let ids = DocIdMatcher::new(&profile).expect("doc id rule");
    for (url, lang) in [
        (
            "https://mfa.eldoria.example/en/newsroom/2025/03/4127-press-conference-harbour-accord",
            Lang::En,
        ),
        (
            "https://mfa.eldoria.example/fr/salle-de-presse/2025/03/4127-conference-de-presse-accord-du-port",
            Lang::Fr,
        ),
    ] {
        let url = Url::parse(url).expect("url");
        assert_eq!(profile.lang_of_url(&url), Some(lang), "{url}");
        assert_eq!(ids.doc_id(url.path()).as_deref(), Some("4127"), "{url}");
    }
    assert_eq!(ids.doc_id("/en/newsroom/archive/2025/03/14/"), None);
}
