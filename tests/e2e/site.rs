//! The fixture site itself: markup, validators, held-back statements, edits and faults.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use testkit::{Fault, FixtureSite, TempDir, http_client};

async fn get(url: &str) -> reqwest::Response {
    http_client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

async fn text(url: &str) -> (StatusCode, String) {
    let r = get(url).await;
    let status = r.status();
    (status, r.text().await.expect("body"))
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_site_serves_robots_feed_listings_and_pages() {
    let site = FixtureSite::start_synthetic(30).await;
    let base = site.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(site.statements().len(), 30);

    let (status, robots) = text(&format!("{base}/robots.txt")).await;
    assert_eq!(status, 200);
    assert!(robots.starts_with("User-agent: *\n"), "{robots}");
    assert!(robots.contains("Disallow: /*?PAGEN"), "{robots}");

    // Listing: 20 items, newest first, relative links, ru dates as DD.MM.YYYY.
    let (status, news) = text(&format!("{base}/ru/foreign_policy/news/")).await;
    assert_eq!(status, 200);
    assert!(news.contains("<ul class=\"announce announce_articles\">"));
    assert_eq!(count(&news, "<li class=\"announce__item\">"), 20);
    let dates: Vec<chrono::NaiveDate> = news
        .split("<span class=\"announce__date\">")
        .skip(1)
        .map(|s| {
            chrono::NaiveDate::parse_from_str(&s[..10], "%d.%m.%Y")
                .unwrap_or_else(|e| panic!("{e}: {}", &s[..10]))
        })
        .collect();
    assert_eq!(dates.len(), 20);
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    assert!(news.contains("href=\"/ru/"), "relative links");
    assert!(news.contains("class=\"announce__meta-tags\""));

    // English listing dates read "5 May 2022" and links carry the _fix_en class.
    let (_, en) = text(&format!("{base}/en/foreign_policy/news/")).await;
    assert!(en.contains("announce__link announce__link_fix_en"));
    let first_date = en
        .split("<span class=\"announce__date\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("a date");
    assert!(
        chrono::NaiveDate::parse_from_str(first_date, "%-d %B %Y").is_ok(),
        "{first_date}"
    );

    // Pagination exists (robots forbids it) and holds the rest.
    let (_, page2) = text(&format!("{base}/ru/foreign_policy/news/?PAGEN_1=2")).await;
    assert_eq!(count(&page2, "<li class=\"announce__item\">"), 10);

    // Date filter, inclusive on both ends.
    let (_, january) = text(&format!(
        "{base}/ru/foreign_policy/news/?activeFrom=01.01.2022&activeTo=31.01.2022"
    ))
    .await;
    let listed = count(&january, "<li class=\"announce__item\">");
    assert!(listed >= 1, "{january}");
    for s in january.split("<span class=\"announce__date\">").skip(1) {
        assert_eq!(&s[3..10], "01.2022", "{}", &s[..10]);
    }
    let (_, none) = text(&format!(
        "{base}/ru/foreign_policy/news/?activeFrom=01.01.2030&activeTo=02.01.2030"
    ))
    .await;
    assert_eq!(count(&none, "<li class=\"announce__item\">"), 0);

    // The feed: RSS 2.0, absolute links on the site's own base URL, RFC 2822 dates.
    let r = get(&format!("{base}/en/rss.php")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .is_ok_and(|c| c.contains("rss+xml"))
    );
    let rss = r.text().await.expect("body");
    assert!(rss.contains("<rss version=\"2.0\">"));
    assert_eq!(count(&rss, "<item>"), 30);
    assert!(rss.contains(&format!("<link>{base}/en/")), "{rss}");
    let pub_date = rss
        .split("<pubDate>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("pubDate");
    assert!(
        chrono::DateTime::parse_from_rfc2822(pub_date).is_ok(),
        "{pub_date}"
    );

    // Article pages under every listed section, with charset in Content-Type.
    let (id, langs) = site.statements()[0].clone();
    assert_eq!(langs, vec!["en".to_string(), "ru".to_string()]);
    let meta = site.meta(&id).expect("meta");
    for section in &meta.sections {
        let r = get(&format!("{base}/ru{section}{id}/")).await;
        assert_eq!(r.status(), 200, "{section}");
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=UTF-8");
        let page = r.text().await.expect("body");
        assert!(page.contains("<h1 class=\"photo-content__title\">"));
        assert!(page.contains("<div class=\"text article-content\">"));
        assert!(page.contains(&format!("https://mid.ru/ru{}{id}/", meta.sections[0])));
    }
    // Unknown paths, unknown ids, wrong sections: 404.
    for path in [
        "/en/nowhere/".to_string(),
        "/xx/foreign_policy/news/".to_string(),
        format!("/en/foreign_policy/news/99{id}/"),
        format!("/en/press_service/spokesman/answers/{id}/"),
    ] {
        let (status, _) = text(&format!("{base}{path}")).await;
        assert_eq!(status, 404, "{path}");
    }
    let logged = site.requests();
    assert!(
        logged
            .iter()
            .any(|r| r.path == "/robots.txt" && r.status == 200)
    );
    assert!(
        logged
            .iter()
            .any(|r| r.path.ends_with("?PAGEN_1=2") && r.status == 200)
    );
    site.clear_requests();
    assert!(site.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_validators_and_answers_conditional_requests() {
    let site = FixtureSite::start_synthetic(5).await;
    let base = site.base_url();
    let (id, _) = site.statements()[0].clone();
    let article = site.page_url(&id, "en").expect("url");
    for url in [
        format!("{base}/robots.txt"),
        format!("{base}/en/rss.php"),
        format!("{base}/en/foreign_policy/news/"),
        article.clone(),
    ] {
        let r = get(&url).await;
        assert_eq!(r.status(), 200, "{url}");
        let etag = r.headers()[ETAG].to_str().expect("ascii").to_string();
        let last_modified = r.headers()[LAST_MODIFIED]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(etag.starts_with('"'), "{etag}");
        let client = http_client();
        let by_etag = client
            .get(&url)
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .expect("GET");
        assert_eq!(by_etag.status(), 304, "{url} If-None-Match");
        let by_date = client
            .get(&url)
            .header(IF_MODIFIED_SINCE, &last_modified)
            .send()
            .await
            .expect("GET");
        assert_eq!(by_date.status(), 304, "{url} If-Modified-Since");
        let stale = client
            .get(&url)
            .header(IF_NONE_MATCH, "\"something-else\"")
            .send()
            .await
            .expect("GET");
        assert_eq!(stale.status(), 200, "{url} stale ETag");
        let old = client
            .get(&url)
            .header(IF_MODIFIED_SINCE, "Mon, 01 Jan 2001 00:00:00 GMT")
            .send()
            .await
            .expect("GET");
        assert_eq!(old.status(), 200, "{url} old date");
    }
    let logged = site.requests();
    assert!(
        logged
            .iter()
            .any(|r| r.status == 304 && r.if_none_match.is_some())
    );
    assert!(
        logged
            .iter()
            .any(|r| r.status == 304 && r.if_modified_since.is_some())
    );
    assert!(logged.iter().all(|r| r.method == "GET"));
}

/// A small corpus written by the test: a windows-1251 page, a held-back statement and one
/// that is not in the feed.
fn write_corpus(dir: &std::path::Path) {
    let statements = dir.join("statements");
    let page = |lang: &str, title: &str, body: &str| {
        format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"{}\"><title>{title} - Министерство иностранных дел Российской Федерации</title></head>\n<body><div class=\"photo-content\"><h1 class=\"photo-content__title\">{title}</h1>\n<div class=\"text article-content\"><p>{body}</p></div></div></body></html>\n",
            if lang == "ru" {
                "windows-1251"
            } else {
                "utf-8"
            }
        )
    };
    let write = |id: &str, meta: &str, pages: &[(&str, Vec<u8>)]| {
        let d = statements.join(id);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("meta.json"), meta).expect("write meta");
        for (lang, bytes) in pages {
            std::fs::write(d.join(format!("{lang}.html")), bytes).expect("write page");
        }
    };
    let ru_title = "О телефонном разговоре Министра иностранных дел России С.В.Лаврова";
    let ru_page = page(
        "ru",
        ru_title,
        "Состоялся телефонный разговор, в ходе которого стороны обсудили актуальные вопросы двусторонней повестки дня.",
    );
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&ru_page);
    write(
        "4000001",
        r#"{"doc_id":"4000001","published":"2012-07-01T12:00","sections":["/foreign_policy/news/"],
            "titles":{"ru":"О телефонном разговоре Министра иностранных дел России С.В.Лаврова"},
            "tags":{"ru":["С.В.Лавров"]},"charset":{"ru":"windows-1251"},"in_feed":true,"held_back":false}"#,
        &[("ru", cp1251.into_owned())],
    );
    write(
        "4000002",
        r#"{"doc_id":"4000002","published":"2024-07-18T14:30","sections":["/press_service/minister_speeches/","/foreign_policy/news/"],
            "titles":{"en":"Foreign Minister Sergey Lavrov's remarks at a news conference, Moscow, July 18, 2024","ru":"Выступление С.В.Лаврова на пресс-конференции, Москва, 18 июля 2024 года"},
            "tags":{"en":["Sergey Lavrov"],"ru":["С.В.Лавров"]},"in_feed":true,"held_back":true}"#,
        &[
            (
                "en",
                page("en", "Remarks", "Good afternoon, colleagues. We have had very substantive talks today on a range of issues.").into_bytes(),
            ),
            (
                "ru",
                page("ru", "Выступление", "Добрый день, коллеги. Сегодня у нас состоялись весьма содержательные переговоры.").into_bytes(),
            ),
        ],
    );
    write(
        "4000003",
        r#"{"doc_id":"4000003","published":"2023-05-05T15:04","sections":["/press_service/spokesman/answers/"],
            "titles":{"en":"Reply by Foreign Ministry Spokeswoman Maria Zakharova to a media question"},
            "in_feed":false}"#,
        &[(
            "en",
            page("en", "Reply", "Question: What is your comment on the latest developments? Maria Zakharova: We have noted them.").into_bytes(),
        )],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_pages_are_served_as_stored_and_held_back_statements_appear_on_release() {
    let dir = TempDir::new("corpus");
    write_corpus(dir.path());
    let site = FixtureSite::start_with(dir.path()).await;
    let base = site.base_url();
    assert_eq!(
        site.statements(),
        vec![
            ("4000003".to_string(), vec!["en".to_string()]),
            ("4000001".to_string(), vec!["ru".to_string()]),
        ]
    );
    assert_eq!(site.held_back(), vec!["4000002".to_string()]);

    // The windows-1251 page: raw bytes, declared charset.
    let r = get(&format!("{base}/ru/foreign_policy/news/4000001/")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=windows-1251");
    let bytes = r.bytes().await.expect("body");
    assert_eq!(
        bytes,
        std::fs::read(dir.path().join("statements/4000001/ru.html")).expect("read")
    );
    assert!(std::str::from_utf8(&bytes).is_err(), "served re-encoded");
    // Last-Modified is the publication time (Moscow was UTC+4 in 2012).
    let r = get(&format!("{base}/ru/foreign_policy/news/4000001/")).await;
    assert_eq!(r.headers()[LAST_MODIFIED], "Sun, 01 Jul 2012 08:00:00 GMT");

    // Not in the feed → absent from rss.php but listed.
    let (_, rss) = text(&format!("{base}/en/rss.php")).await;
    assert!(!rss.contains("4000003"), "{rss}");
    let (_, answers) = text(&format!("{base}/en/press_service/spokesman/answers/")).await;
    assert!(answers.contains("/en/press_service/spokesman/answers/4000003/"));
    // The feed's description comes from the page's first paragraph.
    let (_, rss_ru) = text(&format!("{base}/ru/rss.php")).await;
    assert!(rss_ru.contains("Состоялся телефонный разговор"), "{rss_ru}");

    // Held back: page, listings and feed hide it.
    let held = format!("{base}/en/press_service/minister_speeches/4000002/");
    assert_eq!(text(&held).await.0, 404);
    let listing = format!("{base}/en/press_service/minister_speeches/");
    let before = get(&listing).await;
    let listing_etag = before.headers()[ETAG].clone();
    let listing_lm = before.headers()[LAST_MODIFIED].clone();
    assert!(!before.text().await.expect("body").contains("4000002"));
    let (_, rss) = text(&format!("{base}/en/rss.php")).await;
    assert!(!rss.contains("4000002"));

    site.release("4000002");
    assert!(site.held_back().is_empty());
    assert_eq!(site.statements()[0].0, "4000002");
    assert_eq!(text(&held).await.0, 200);
    assert_eq!(
        text(&format!("{base}/ru/foreign_policy/news/4000002/"))
            .await
            .0,
        200
    );
    let after = http_client()
        .get(&listing)
        .header(IF_NONE_MATCH, listing_etag.clone())
        .send()
        .await
        .expect("GET");
    assert_eq!(after.status(), 200, "listing changed: ETag must differ");
    assert!(
        after
            .text()
            .await
            .expect("body")
            .contains("/en/press_service/minister_speeches/4000002/")
    );
    let after = http_client()
        .get(&listing)
        .header(IF_MODIFIED_SINCE, listing_lm)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        after.status(),
        200,
        "listing changed: Last-Modified must move"
    );
    let (_, rss) = text(&format!("{base}/en/rss.php")).await;
    assert!(rss.contains(&format!(
        "<link>{base}/en/press_service/minister_speeches/4000002/</link>"
    )));

    // An edit: new body, new ETag, later Last-Modified; the charset is kept.
    let page_url = format!("{base}/ru/foreign_policy/news/4000001/");
    let r = get(&page_url).await;
    let etag = r.headers()[ETAG].clone();
    site.edit("4000001", "ru", |html| {
        html.replace("Состоялся", "Вчера состоялся")
    });
    let r = http_client()
        .get(&page_url)
        .header(IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()[ETAG], etag);
    let last_modified = r.headers()[LAST_MODIFIED]
        .to_str()
        .expect("ascii")
        .to_string();
    let lm = chrono::DateTime::parse_from_rfc2822(&last_modified).expect("date");
    assert!(
        lm.timestamp() > chrono::Utc::now().timestamp() - 60,
        "{last_modified}"
    );
    let body = r.bytes().await.expect("body");
    let (decoded, _, _) = encoding_rs::WINDOWS_1251.decode(&body);
    assert!(decoded.contains("Вчера состоялся"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_hit_the_next_matching_requests_only() {
    let site = FixtureSite::start_synthetic(3).await;
    let base = site.base_url();
    let listing = format!("{base}/en/foreign_policy/news/");

    site.inject(
        "/en/foreign_policy/",
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        2,
    );
    for _ in 0..2 {
        let r = get(&listing).await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[RETRY_AFTER], "7");
    }
    // Other paths were never affected, and the fault is used up.
    assert_eq!(text(&format!("{base}/robots.txt")).await.0, 200);
    assert_eq!(get(&listing).await.status(), 200);

    site.inject(
        "/en/rss.php",
        Fault::Unavailable {
            retry_after_secs: 3,
        },
        1,
    );
    let r = get(&format!("{base}/en/rss.php")).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()[RETRY_AFTER], "3");

    site.inject("/ru/", Fault::Challenge, 1);
    let (status, body) = text(&format!("{base}/ru/foreign_policy/news/")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("/TSPD/")
            || body.contains("bobcmn")
            || body.contains("Please enable JavaScript"),
        "{body}"
    );

    site.inject("/en/", Fault::Redirect(format!("{base}/robots.txt")), 1);
    let r = get(&listing).await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()[LOCATION], format!("{base}/robots.txt").as_str());

    // Reset: the client sees a transport error, never a response.
    site.inject("/en/foreign_policy/news/", Fault::Reset, 1);
    let result = http_client().get(&listing).send().await;
    match result {
        Err(e) => assert!(!e.is_status(), "{e}"),
        Ok(r) => panic!("a reset connection answered {}", r.status()),
    }
    assert_eq!(get(&listing).await.status(), 200, "next request is served");

    site.inject("/robots.txt", Fault::Slow(Duration::from_millis(300)), 1);
    let started = Instant::now();
    assert_eq!(text(&format!("{base}/robots.txt")).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let statuses: Vec<(String, u16)> = site
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert!(
        statuses.contains(&("/en/foreign_policy/news/".to_string(), 0)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&("/en/rss.php".to_string(), 503)));
    assert!(statuses.contains(&("/ru/foreign_policy/news/".to_string(), 200)));
    assert!(statuses.contains(&("/en/foreign_policy/news/".to_string(), 302)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_corpus_is_served_in_full() {
    let site = FixtureSite::start().await;
    let base = site.base_url();
    let visible = site.statements();
    assert!(!visible.is_empty(), "the bundled corpus has no statements");
    for (id, langs) in &visible {
        let meta = site.meta(id).expect("meta");
        let published = meta.published_local().expect("published parses");
        let day = published.format("%d.%m.%Y");
        for lang in langs {
            let url = site.page_url(id, lang).expect("url");
            let r = get(&url).await;
            assert_eq!(r.status(), 200, "{url}");
            let bytes = r.bytes().await.expect("body");
            assert_eq!(
                Some(bytes),
                site.page_bytes(id, lang),
                "{url} served as stored"
            );
            // Every section that lists it shows it on the day's filtered listing.
            for section in &meta.sections {
                let (status, listing) = text(&format!(
                    "{base}/{lang}{section}?activeFrom={day}&activeTo={day}"
                ))
                .await;
                assert_eq!(status, 200);
                assert!(
                    listing.contains(&format!("href=\"/{lang}{section}{id}/\"")),
                    "{lang}{section} on {day} does not list {id}"
                );
            }
        }
    }
    // Held-back statements are hidden until released.
    for id in site.held_back() {
        let meta = site.meta(&id).expect("meta");
        let lang = meta.titles.keys().next().expect("a language").clone();
        let url = site.page_url(&id, &lang).expect("url");
        assert_eq!(text(&url).await.0, 404, "{url} is held back");
        site.release(&id);
        assert_eq!(text(&url).await.0, 200, "{url} released");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_links_follow_the_host_the_client_asked_for() {
    let site = FixtureSite::start_synthetic(2).await;
    let r = http_client()
        .get(format!("{}/en/rss.php", site.base_url()))
        .header(reqwest::header::HOST, "fixture-site:8700")
        .send()
        .await
        .expect("GET");
    let rss = r.text().await.expect("body");
    assert!(rss.contains("<link>http://fixture-site:8700/en/"), "{rss}");
    let (_, direct) = text(&format!("{}/en/rss.php", site.base_url())).await;
    assert!(direct.contains(&format!("<link>{}/en/", site.base_url())));
}
