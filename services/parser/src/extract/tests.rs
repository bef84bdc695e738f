use super::*;
use chrono::TimeZone;
use shared::Kind;

fn fetched() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 7, 19, 8, 0, 0).unwrap()
}

fn run(html: &str, url: Option<&str>) -> Result<SpeechRecord, ExtractError> {
    let ctx = Extractor::builtin().unwrap();
    extract(
        &PageInput {
            bytes: html.as_bytes(),
            source: None,
            url,
            fetch_url: None,
            content_type: None,
            fetched_at: fetched(),
            listing: None,
            lang: None,
        },
        &ctx,
    )
}

const PAGE: &str = r#"<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">
      <title>Интервью Министра иностранных дел Российской Федерации С.В.Лаврова телеканалу «Россия 1», Москва, 22 февраля 2022 года - Министерство иностранных дел Российской Федерации</title>
      <link rel="canonical" href="https://mid.ru/ru/foreign_policy/news/1799937/">
      <link rel="alternate" hreflang="en" href="/en/foreign_policy/news/1799937/">
      <link rel="alternate" hreflang="ru" href="https://mid.ru/ru/foreign_policy/news/1799937/">
      </head><body><div class="photo-content">
      <h1 class="photo-content__title">Интервью Министра иностранных дел Российской Федерации С.В.Лаврова телеканалу «Россия 1», Москва, 22 февраля 2022 года</h1>
      <div class="photo-content__date">22.02.2022</div>
      <div class="text article-content"><p><strong>Вопрос:</strong> Как Вы оцениваете?</p>
      <p><strong>С.В.Лавров:</strong> Хорошо.</p><p>Далее.</p>
      <p class="article-line__note article-line__note_small">300-22-02-2022</p></div></div></body></html>"#;

#[test]
fn full_record() {
    let r = run(PAGE, None).unwrap();
    assert_eq!(r.id, "mid.ru:1799937:ru");
    assert_eq!(r.lang, Lang::Ru);
    assert_eq!(r.kind, Kind::Interview);
    assert_eq!(r.speakers, vec!["Sergey Lavrov"]);
    assert_eq!(r.location.as_deref(), Some("Москва"));
    assert_eq!(r.event_date.unwrap().to_string(), "2022-02-22");
    assert_eq!(
        r.published_at.unwrap().to_rfc3339(),
        "2022-02-22T00:00:00+03:00"
    );
    assert_eq!(r.doc_number.as_deref(), Some("300-22-02-2022"));
    assert_eq!(r.turns.len(), 2);
    assert_eq!(r.turns[1].text, "Хорошо.\n\nДалее.");
    assert_eq!(
        r.translations.get(&Lang::En).map(String::as_str),
        Some("https://mid.ru/en/foreign_policy/news/1799937/")
    );
    assert_eq!(r.translations.len(), 1);
    assert_eq!(r.quality, Quality::Full);
    assert!(r.content_hash.starts_with("sha256:"));
}

#[test]
fn url_rules() {
    assert!(matches!(
        run(PAGE, Some("https://mid.ru/ru/about/")),
        Err(ExtractError::NotStatementUrl { .. })
    ));
    let no_url = PAGE.replace("rel=\"canonical\"", "rel=\"x\"");
    assert_eq!(run(&no_url, None).unwrap_err().reason_label(), "no_url");
    let r = run(
        &no_url,
        Some("https://www.mid.ru/en/press_service/minister_speeches/1799937/"),
    )
    .unwrap();
    assert_eq!(r.id, "mid.ru:1799937:en");
    let ctx = Extractor::builtin().unwrap();
    let (_, id, lang) = ctx
        .source("mid.ru")
        .unwrap()
        .parse_statement_url("https://mid.ru/foreign_policy/news/1653435/?lang=de")
        .unwrap();
    assert_eq!((id.as_str(), lang), ("1653435", Some(Lang::De)));
}

#[test]
fn listing_time_fills_a_missing_page_time() {
    let ctx = Extractor::builtin().unwrap();
    let listing = ListingHint {
        published_at: Some(
            chrono::FixedOffset::east_opt(3 * 3600)
                .unwrap()
                .with_ymd_and_hms(2022, 2, 22, 15, 4, 0)
                .unwrap(),
        ),
        tags: vec!["С.В.Лавров".into()],
        ..Default::default()
    };
    let r = extract(
        &PageInput {
            bytes: PAGE.as_bytes(),
            source: None,
            url: None,
            fetch_url: None,
            content_type: None,
            fetched_at: fetched(),
            listing: Some(&listing),
            lang: None,
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(
        r.published_at.unwrap().to_rfc3339(),
        "2022-02-22T15:04:00+03:00"
    );
    assert_eq!(r.tags, vec!["С.В.Лавров"]);
}

#[test]
fn challenge_and_not_a_statement() {
    let challenge = r#"<html><head><script src="/TSPD/0812?type=9"></script></head><body><noscript>Please enable JavaScript to view the page content.</noscript></body></html>"#;
    assert!(matches!(
        run(challenge, Some("https://mid.ru/en/foreign_policy/news/1/")),
        Err(ExtractError::Challenge { .. })
    ));
    let empty = r#"<html><head><title>Not found</title></head><body></body></html>"#;
    assert!(matches!(
        run(
            empty,
            Some("https://mid.ru/en/foreign_policy/news/1950001/")
        ),
        Err(ExtractError::NotAStatement { .. })
    ));
}

fn fetched_as(html: &str, fetch_url: &str) -> Result<SpeechRecord, ExtractError> {
    let ctx = Extractor::builtin().unwrap();
    extract(
        &PageInput {
            bytes: html.as_bytes(),
            source: Some("mid.ru"),
            url: None,
            fetch_url: Some(fetch_url),
            content_type: None,
            fetched_at: fetched(),
            listing: None,
            lang: Some(Lang::Ru),
        },
        &ctx,
    )
}

#[test]
fn identity_comes_from_the_fetched_url() {
    // The page names another document (and another host) as its canonical URL: the
    // record is still the fetched document, and alternates off the site are dropped.
    let hostile = PAGE
            .replace(
                "https://mid.ru/ru/foreign_policy/news/1799937/\">\n      <link rel=\"alternate\" hreflang=\"en\"",
                "https://mid.ru/ru/foreign_policy/news/1000001/\">\n      <link rel=\"alternate\" hreflang=\"en\"",
            )
            .replace("/en/foreign_policy/news/1799937/", "https://evil.example/en/foreign_policy/news/1799937/");
    assert!(hostile.contains("news/1000001/"));
    let r = fetched_as(
        &hostile,
        "https://www.mid.ru/ru/press_service/minister_speeches/1799937/",
    )
    .unwrap();
    assert_eq!(r.id, "mid.ru:1799937:ru");
    assert_eq!(r.doc_id, "1799937");
    assert_eq!(
        r.url,
        "https://www.mid.ru/ru/press_service/minister_speeches/1799937/"
    );
    assert!(r.translations.is_empty(), "{:?}", r.translations);
    // A canonical link to the same document on the site is the record's URL.
    let r = fetched_as(
        PAGE,
        "https://www.mid.ru/ru/press_service/minister_speeches/1799937/",
    )
    .unwrap();
    assert_eq!(r.url, "https://mid.ru/ru/foreign_policy/news/1799937/");
    // Another language of the same document: the fetched language stands.
    let other_lang = PAGE.replace("https://mid.ru/ru/foreign_policy/news/1799937/\">\n      <link rel=\"alternate\" hreflang=\"en\"", "https://mid.ru/en/foreign_policy/news/1799937/\">\n      <link rel=\"alternate\" hreflang=\"en\"");
    let r = fetched_as(
        &other_lang,
        "https://mid.ru/ru/foreign_policy/news/1799937/",
    )
    .unwrap();
    assert_eq!(
        (r.lang, r.url.as_str()),
        (Lang::Ru, "https://mid.ru/ru/foreign_policy/news/1799937/")
    );
}

#[test]
fn system_pages_and_section_indexes_are_not_statements() {
    let not_found = r#"<html lang="ru"><head><title>Страница не найдена - Министерство иностранных дел Российской Федерации</title></head>
          <body><main><h1>Страница не найдена</h1><p>Запрошенная страница не существует или была удалена. Проверьте правильность адреса или воспользуйтесь поиском по сайту, картой сайта или разделом новостей Министерства иностранных дел Российской Федерации, где собраны все материалы за последние годы.</p><p>Если вы считаете, что это ошибка, напишите нам через форму обратной связи, указав адрес страницы, на которой вы оказались, и время обращения.</p></main></body></html>"#;
    let err = fetched_as(not_found, "https://mid.ru/ru/foreign_policy/news/1999999/").unwrap_err();
    assert!(err.to_string().contains("system page"), "{err}");
    let item = |n: u32| {
        format!(
            r#"<li class="announce__item"><span class="announce__date">0{n}.03.2024</span><a class="announce__link" href="/ru/foreign_policy/news/19{n}0000/">О визите номер {n} заместителя Министра иностранных дел Российской Федерации в ряд стран региона</a><p>Краткое описание материала номер {n}, которое выводится в ленте раздела под заголовком.</p></li>"#
        )
    };
    let index = format!(
        r#"<html lang="ru"><head><title>Новости</title></head><body><h1>Новости</h1><ul class="announce announce_articles">{}</ul></body></html>"#,
        (1..=5).map(item).collect::<String>()
    );
    let err = fetched_as(&index, "https://mid.ru/ru/foreign_policy/news/1999999/").unwrap_err();
    assert!(
        err.to_string().contains("section index (5 listing items"),
        "{err}"
    );
}

#[test]
fn fallback_record() {
    let page = r#"<html lang="en"><head><title>Statement by Sergey Lavrov - Министерство иностранных дел Российской Федерации</title></head>
          <body><nav><p>Menu text, plenty of words in the navigation menu here.</p></nav>
          <main><h1>Foreign Minister Sergey Lavrov’s statement, Moscow, March 3, 2022</h1>
          <time datetime="2022-03-03T12:00">3 March</time><p>One. The minister spoke about the situation in the region and the steps the parties agreed on during the talks held earlier in the week.</p><p>Two. He underlined that the dialogue would continue at the level of experts and that the next round of consultations is planned for the spring, in Moscow or in Geneva.</p></main></body></html>"#;
    let r = run(page, Some("https://mid.ru/en/foreign_policy/news/1802000/")).unwrap();
    assert_eq!(r.quality, Quality::Fallback);
    assert_eq!(
        r.title,
        "Foreign Minister Sergey Lavrov’s statement, Moscow, March 3, 2022"
    );
    assert_eq!(r.paragraphs.len(), 2);
    assert!(r.paragraphs[0].starts_with("One. The minister"));
    let short = page
        .replace(" The minister spoke", "")
        .split("<p>Two.")
        .next()
        .unwrap()
        .to_string()
        + "</main></body></html>";
    let err = run(
        &short,
        Some("https://mid.ru/en/foreign_policy/news/1802000/"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("characters of text"), "{err}");
    assert_eq!(
        r.published_at.unwrap().to_rfc3339(),
        "2022-03-03T12:00:00+03:00"
    );
    assert_eq!(r.kind, Kind::Statement);
}
