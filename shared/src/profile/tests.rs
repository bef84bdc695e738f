use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).expect("test URL")
}

#[test]
fn every_builtin_loads_and_validates() {
    let profiles = builtins().expect("built-in profiles");
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, BUILTIN_NAMES);
    let tokens: Vec<&str> = profiles.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(tokens, ["mid_ru", "kremlin_ru", "fmprc_gov_cn"]);
    for p in &profiles {
        assert!(p.officials_json.is_some(), "{}: officials", p.name);
        assert!(p.origin.contains("(built in)"), "{}", p.origin);
    }
    assert!(matches!(
        SourceProfile::builtin("example.org"),
        Err(ProfileError::Unknown(_))
    ));
}

#[test]
fn languages_follow_hosts_and_paths() {
    let mid = SourceProfile::builtin("mid.ru").unwrap();
    let lang = |p: &SourceProfile, u: &str| p.lang_of_url(&url(u));
    assert_eq!(
        lang(&mid, "https://www.mid.ru/ru/foreign_policy/news/1/"),
        Some(Lang::Ru)
    );
    assert_eq!(
        lang(&mid, "https://mid.ru/de/foreign_policy/news/1/"),
        Some(Lang::De)
    );
    assert_eq!(
        lang(&mid, "https://mid.ru/foreign_policy/news/1/?lang=fr"),
        Some(Lang::Fr)
    );
    assert_eq!(
        lang(&mid, "http://127.0.0.1:8080/en/foreign_policy/news/1/"),
        Some(Lang::En)
    );
    assert_eq!(lang(&mid, "https://mid.ru/about/"), None);
    let kremlin = SourceProfile::builtin("kremlin.ru").unwrap();
    assert_eq!(
        lang(&kremlin, "http://en.kremlin.ru/events/president/news/79001"),
        Some(Lang::En)
    );
    assert_eq!(
        lang(
            &kremlin,
            "https://www.kremlin.ru/events/president/news/79001"
        ),
        Some(Lang::Ru)
    );
    assert_eq!(
        lang(&kremlin, "http://127.0.0.1:9/events/president/news/79001"),
        None
    );
    let fmprc = SourceProfile::builtin("fmprc.gov.cn").unwrap();
    assert_eq!(
        lang(
            &fmprc,
            "https://www.mfa.gov.cn/mfa_eng/xwfw_665399/t1617471.shtml"
        ),
        Some(Lang::En)
    );
    assert!(fmprc.declares_host("FMPRC.gov.cn"));
    assert!(!fmprc.declares_host("evil.gov.cn"));
}

#[test]
fn document_ids_come_from_the_path() {
    let id = |name: &str, path: &str| {
        DocIdMatcher::new(&SourceProfile::builtin(name).unwrap())
            .unwrap()
            .doc_id(path)
    };
    assert_eq!(
        id("mid.ru", "/en/foreign_policy/news/1653435/").as_deref(),
        Some("1653435")
    );
    assert_eq!(id("mid.ru", "/en/about/"), None);
    assert_eq!(
        id(
            "fmprc.gov.cn",
            "/eng/xw/fyrbt/lxjzh/202405/t20240530_11347225.html"
        )
        .as_deref(),
        Some("11347225")
    );
    assert_eq!(id("fmprc.gov.cn", "/eng/xw/fyrbt/lxjzh/index_2.html"), None);
    // Before ~2021: no date in the item's name.
    assert_eq!(
        id(
            "fmprc.gov.cn",
            "/mfa_eng/xwfw_665399/s2510_665401/2511_665403/t1617471.shtml"
        )
        .as_deref(),
        Some("1617471")
    );
    assert_eq!(
        id(
            "kremlin.ru",
            "/events/president/transcripts/press_conferences/79000"
        )
        .as_deref(),
        Some("79000")
    );
}

#[test]
fn profiles_are_found_by_name_and_host() {
    let profiles = Profiles::load(&[]).unwrap();
    assert_eq!(
        profiles.by_host("en.kremlin.ru").unwrap().name,
        "kremlin.ru"
    );
    assert_eq!(profiles.by_host("www.mid.ru").unwrap().name, "mid.ru");
    assert_eq!(
        profiles
            .by_url("https://www.mfa.gov.cn/eng/xw/t20240530_11347225.html")
            .unwrap()
            .name,
        "fmprc.gov.cn"
    );
    assert_eq!(
        profiles.by_host("special.kremlin.ru").unwrap().name,
        "kremlin.ru"
    );
    assert!(profiles.by_host("example.org").is_none());
    assert_eq!(
        profiles
            .by_name("mid.ru")
            .unwrap()
            .speech_subject(Lang::En, crate::Kind::Briefing),
        "speeches.mid_ru.en.briefing"
    );
    assert_eq!(
        profiles
            .by_name("fmprc.gov.cn")
            .unwrap()
            .raw_subject(Lang::En),
        "raw.fmprc_gov_cn.en"
    );
}

/// The mid.ru profile with one line replaced, loaded as `bad.toml`.
fn load_changed(from: &str, to: &str) -> ProfileError {
    let text = builtin_file("mid.ru.toml").unwrap();
    assert!(text.contains(from), "{from}");
    let changed = text.replacen(from, to, 1);
    let read = |name: &str| {
        builtin_file(name)
            .map(str::to_string)
            .ok_or_else(|| "missing".to_string())
    };
    SourceProfile::from_toml(&changed, "bad.toml", &read).expect_err("invalid profile")
}

#[test]
fn errors_name_the_file_the_key_and_the_reason() {
    let cases = [
        (
            "time_zone = \"Europe/Moscow\"",
            "time_zone = \"Europe/Mordor\"",
            "`time_zone`",
        ),
        (
            "doc_id = '^(?P<id>\\d{4,10})$'",
            "doc_id = '^(?P<id>\\d{4,10}$'",
            "`fetch.doc_id`",
        ),
        (
            "title = [\"h1.photo-content__title\"",
            "title = [\"h1..x\"",
            "`parse.selectors.title[0]`",
        ),
        (
            "path = \"rss.php\"",
            "path = \"https://evil.example/rss.php\"",
            "`fetch.feeds[0].path`",
        ),
        (
            "base_url = \"https://mid.ru/ru/\"",
            "base_url = \"https://mid.example/ru/\"",
            "`languages.ru.base_url`",
        ),
        (
            "request_interval = \"2s\"",
            "request_interval = \"soon\"",
            "`fetch.politeness.request_interval`",
        ),
        (
            "officials = \"mid.ru.officials.json\"",
            "officials = \"nope.json\"",
            "`parse.officials`",
        ),
        ("token = \"mid_ru\"", "token = \"mid.ru\"", "`token`"),
        (
            "time = '(?-u:\\b)(?P<hour>",
            "time = '(?-u:\\b)(?P<h>",
            "`parse.dates.time`",
        ),
    ];
    for (from, to, key) in cases {
        let err = load_changed(from, to).to_string();
        assert!(err.starts_with("source profile bad.toml: "), "{err}");
        assert!(err.contains(key), "{key}: {err}");
    }
    let err = load_changed("display_name =", "display_nam =").to_string();
    assert!(
        err.contains("bad.toml") && err.contains("display_nam"),
        "{err}"
    );
    let err = load_changed("[fetch]", "[fetch").to_string();
    assert!(err.contains("bad.toml") && err.contains("line"), "{err}");
}

#[test]
fn a_user_profile_reads_its_files_next_to_it() {
    let dir = std::env::temp_dir().join(format!("profile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = builtin_file("mid.ru.toml")
        .unwrap()
        .replace("name = \"mid.ru\"", "name = \"mirror.mid.ru\"")
        .replace(
            "officials = \"mid.ru.officials.json\"",
            "officials = \"people.json\"",
        );
    std::fs::write(dir.join("mirror.toml"), text).unwrap();
    std::fs::write(dir.join("people.json"), "{\"officials\": []}").unwrap();
    // The gazetteer it names (`parse.title.places`) is read next to it too.
    let err = SourceProfile::from_file(&dir.join("mirror.toml")).unwrap_err();
    assert!(
        err.to_string().contains("parse.title.places") && err.to_string().contains("places.txt"),
        "{err}"
    );
    std::fs::write(dir.join("places.txt"), "# places\nMoscow\nМосква\n").unwrap();
    let profile = SourceProfile::from_file(&dir.join("mirror.toml")).unwrap();
    assert_eq!(
        profile.places_text.as_deref(),
        Some("# places\nMoscow\nМосква\n")
    );
    assert_eq!(profile.name, "mirror.mid.ru");
    assert_eq!(
        profile.officials_json.as_deref(),
        Some("{\"officials\": []}")
    );
    let profiles = Profiles::load(&[dir.join("mirror.toml")]).unwrap();
    assert_eq!(profiles.all().len(), 4);
    let missing = SourceProfile::from_file(&dir.join("absent.toml")).unwrap_err();
    assert!(missing.to_string().contains("absent.toml"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}
