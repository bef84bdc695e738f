//! Synthetic corpus: generated mid.ru statements for load tests and benchmarks.

use super::mid::{PAGE_FOOT, listing_date, page_head};
use super::*;

use crate::rng::Rng;

const PLACES_EN: [&str; 6] = [
    "Moscow",
    "New Delhi",
    "Beijing",
    "Ankara",
    "Geneva",
    "Astana",
];
const PLACES_RU: [&str; 6] = ["Москва", "Нью-Дели", "Пекин", "Анкара", "Женева", "Астана"];
const TOPICS_EN: [&str; 6] = [
    "the situation in the Middle East",
    "strategic stability",
    "cooperation within the SCO",
    "the grain deal",
    "the work of the UN Security Council",
    "visa facilitation",
];
const TOPICS_RU: [&str; 6] = [
    "ситуации на Ближнем Востоке",
    "стратегической стабильности",
    "сотрудничестве в рамках ШОС",
    "зерновой сделке",
    "работе Совета Безопасности ООН",
    "упрощении визового режима",
];
const SENTENCES_EN: [&str; 10] = [
    "We have discussed the full range of bilateral relations and agreed to continue regular contacts.",
    "Our countries share the view that disputes must be settled by political and diplomatic means.",
    "The parties noted the steady growth of trade and the use of national currencies in settlements.",
    "We reaffirmed our commitment to the principles of the UN Charter in their entirety.",
    "Attempts to impose unilateral approaches only make the situation worse.",
    "We are ready to work with all partners who are interested in an equal dialogue.",
    "Particular attention was paid to cooperation in education, culture and science.",
    "The ministers exchanged views on preparations for the upcoming summit.",
    "We will continue to coordinate our positions at international platforms.",
    "I would like to thank our hosts for their hospitality and the excellent organisation.",
];
const SENTENCES_RU: [&str; 10] = [
    "Мы обсудили весь спектр двусторонних отношений и договорились продолжать регулярные контакты.",
    "Наши страны разделяют мнение, что споры должны решаться политико-дипломатическими средствами.",
    "Стороны отметили устойчивый рост товарооборота и расчётов в национальных валютах.",
    "Мы подтвердили приверженность принципам Устава ООН во всей их полноте.",
    "Попытки навязать односторонние подходы лишь усугубляют ситуацию.",
    "Мы готовы работать со всеми партнёрами, которые заинтересованы в равноправном диалоге.",
    "Особое внимание было уделено сотрудничеству в сфере образования, культуры и науки.",
    "Министры обменялись мнениями о подготовке к предстоящему саммиту.",
    "Мы продолжим координировать позиции на международных площадках.",
    "Хотел бы поблагодарить хозяев за гостеприимство и прекрасную организацию.",
];
const QUESTIONS_EN: [&str; 4] = [
    "How do you assess the prospects for a settlement?",
    "What will be the main topic of the next round of talks?",
    "Is Moscow ready to resume the dialogue?",
    "Could you comment on the latest statements by Western officials?",
];
const QUESTIONS_RU: [&str; 4] = [
    "Как Вы оцениваете перспективы урегулирования?",
    "Какой будет главная тема следующего раунда переговоров?",
    "Готова ли Москва возобновить диалог?",
    "Не могли бы Вы прокомментировать последние заявления западных официальных лиц?",
];

/// The first day of the synthetic corpus.
pub(super) fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default()
}

/// Days the `n` statements are spread over: 365 (a year) up to 3,650 statements, then
/// one day per 10 statements (the "all news" day listing then averages 10 items, well
/// under the 20 of one listing page).
pub(super) fn days(n: usize) -> usize {
    n.div_ceil(10).max(365)
}

/// The `i`-th synthetic statement of `n`: id 3000000+i, dated within the first
/// [`days`]`(n)` days from 2022-01-01 (within 2022 for n ≤ 3,650).
pub(super) fn statement(i: usize, n: usize) -> Statement {
    let start = first_day().and_hms_opt(9, 0, 0).unwrap_or_default();
    // Spread over the days, with minutes so that ids are not in date order everywhere.
    let span = days(n) as i64 * 24 * 60 - 600;
    let minutes = (i as i64 * 7919) % span;
    build(i, start + chrono::Duration::minutes(minutes), false)
}

/// The `k`-th held-back statement (index `i`, after the visible ones), on `day`.
pub(super) fn held_back(i: usize, day: NaiveDate, k: usize) -> Statement {
    let start = day.and_hms_opt(10, 0, 0).unwrap_or_default();
    build(i, start + chrono::Duration::minutes(60 * k as i64), true)
}

pub(super) fn build(i: usize, published: NaiveDateTime, held_back: bool) -> Statement {
    let mut rng = Rng::new(i as u64);
    let doc_id = (3_000_000 + i).to_string();
    let place = rng.next(PLACES_EN.len());
    let topic = rng.next(TOPICS_EN.len());
    let en_date = format!(
        "{} {}, {}",
        shared::months::EN[published.month0() as usize],
        published.day(),
        published.year()
    );
    let ru_date = format!(
        "{} {} {} года",
        published.day(),
        shared::months::RU_GENITIVE[published.month0() as usize],
        published.year()
    );
    let variant = i % 5;
    let (section, en_title, ru_title, qa, speaker_en, speaker_ru) = match variant {
        0 => (
            "/press_service/minister_speeches/",
            format!(
                "Foreign Minister Sergey Lavrov's remarks at talks on {}, {}, {en_date}",
                TOPICS_EN[topic], PLACES_EN[place]
            ),
            format!(
                "Выступление Министра иностранных дел Российской Федерации С.В.Лаврова на переговорах о {}, {}, {ru_date}",
                TOPICS_RU[topic], PLACES_RU[place]
            ),
            false,
            "Sergey Lavrov:",
            "С.В.Лавров:",
        ),
        1 => (
            "/press_service/minister_speeches/",
            format!(
                "Foreign Minister Sergey Lavrov's statement and answers to media questions at a news conference, {}, {en_date}",
                PLACES_EN[place]
            ),
            format!(
                "Выступление и ответы на вопросы СМИ Министра иностранных дел Российской Федерации С.В.Лаврова в ходе пресс-конференции, {}, {ru_date}",
                PLACES_RU[place]
            ),
            true,
            "Sergey Lavrov:",
            "С.В.Лавров:",
        ),
        2 => (
            "/press_service/spokesman/briefings/",
            format!("Briefing by Foreign Ministry Spokeswoman Maria Zakharova, Moscow, {en_date}"),
            format!(
                "Брифинг официального представителя МИД России М.В.Захаровой, Москва, {ru_date}"
            ),
            true,
            "Maria Zakharova:",
            "М.В.Захарова:",
        ),
        3 => (
            "/press_service/spokesman/official_statement/",
            format!("Foreign Ministry statement on {}", TOPICS_EN[topic]),
            format!("Заявление МИД России о {}", TOPICS_RU[topic]),
            false,
            "",
            "",
        ),
        _ => (
            "/foreign_policy/news/",
            format!("Press release on {}", TOPICS_EN[topic]),
            format!("О {}", TOPICS_RU[topic]),
            false,
            "",
            "",
        ),
    };
    let mut sections = vec![section.to_string()];
    if section != "/foreign_policy/news/" {
        sections.push("/foreign_policy/news/".to_string());
    }
    let paragraphs = 3 + rng.next(6);
    let mut en_body = Vec::new();
    let mut ru_body = Vec::new();
    for p in 0..paragraphs {
        let n = 1 + rng.next(3);
        let picks: Vec<usize> = (0..n).map(|_| rng.next(SENTENCES_EN.len())).collect();
        let en: Vec<&str> = picks.iter().map(|&k| SENTENCES_EN[k]).collect();
        let ru: Vec<&str> = picks.iter().map(|&k| SENTENCES_RU[k]).collect();
        if qa && p > 0 {
            let q = rng.next(QUESTIONS_EN.len());
            en_body.push(format!("<p><b>Question:</b> {}</p>", QUESTIONS_EN[q]));
            ru_body.push(format!("<p><b>Вопрос:</b> {}</p>", QUESTIONS_RU[q]));
            en_body.push(format!("<p><b>{speaker_en}</b> {}</p>", en.join(" ")));
            ru_body.push(format!("<p><b>{speaker_ru}</b> {}</p>", ru.join(" ")));
        } else {
            en_body.push(format!("<p>{}</p>", en.join(" ")));
            ru_body.push(format!("<p>{}</p>", ru.join(" ")));
        }
    }
    let number = format!("{}-{}", 1000 + rng.next(1000), published.format("%d-%m-%Y"));
    let tags_en = if speaker_en.is_empty() {
        vec![]
    } else {
        vec![speaker_en.trim_end_matches(':').to_string()]
    };
    let tags_ru = if speaker_ru.is_empty() {
        vec![]
    } else {
        vec![speaker_ru.trim_end_matches(':').to_string()]
    };
    let meta = StatementMeta {
        paths: BTreeMap::new(),
        listed: None,
        doc_id: doc_id.clone(),
        published: published.format("%Y-%m-%dT%H:%M").to_string(),
        sections,
        titles: BTreeMap::from([
            ("en".to_string(), en_title.clone()),
            ("ru".to_string(), ru_title.clone()),
        ]),
        tags: BTreeMap::from([("en".to_string(), tags_en), ("ru".to_string(), tags_ru)]),
        charset: BTreeMap::new(),
        in_feed: true,
        held_back,
    };
    let en_page = article("en", &meta, &en_title, published, &en_body, &number);
    let ru_page = article("ru", &meta, &ru_title, published, &ru_body, &number);
    let pages = BTreeMap::from([
        (
            "en".to_string(),
            (Bytes::from(en_page), "UTF-8".to_string(), en_title),
        ),
        (
            "ru".to_string(),
            (Bytes::from(ru_page), "UTF-8".to_string(), ru_title),
        ),
    ]);
    // The generated meta is always valid.
    build_statement(meta, pages).unwrap_or_else(|e| panic!("synthetic statement {i}: {e}"))
}

fn article(
    lang: &str,
    meta: &StatementMeta,
    title: &str,
    published: NaiveDateTime,
    body: &[String],
    number: &str,
) -> String {
    let path = meta.canonical_path(lang);
    let other = if lang == "en" { "ru" } else { "en" };
    let (photos, more) = if lang == "ru" {
        ("1 из 1 фотографий в альбоме", "Дополнительные материалы")
    } else {
        ("1 of 1 photos in album", "Additional materials")
    };
    let mut html = page_head(lang, title);
    html = html.replacen(
        "</head>",
        &format!(
            "<link rel=\"canonical\" href=\"https://mid.ru{path}\">\n<meta property=\"og:url\" content=\"https://mid.ru{path}\">\n<link rel=\"alternate\" hreflang=\"{other}\" href=\"https://mid.ru{}\">\n</head>",
            meta.canonical_path(other)
        ),
        1,
    );
    html.push_str(&format!(
        "<div class=\"breadcrumbs\"><a href=\"/{lang}/\">MID</a></div>\n<main class=\"main\">\n<div class=\"photo-content\">\n<h1 class=\"photo-content__title\">{}</h1>\n<div class=\"photo-content__date\">{} <span class=\"photo-content__time\">{}</span></div>\n<div class=\"photo-gallery\">{photos}</div>\n<div class=\"text article-content\">\n{}\n<p class=\"article-line__note article-line__note_small\">{number}</p>\n</div>\n<div class=\"share\">Share</div>\n<div class=\"additional-materials\">{more}</div>\n</div>\n</main>\n",
        escape(title),
        listing_date(lang, published),
        published.format("%H:%M"),
        body.join("\n"),
    ));
    html.push_str(PAGE_FOOT);
    html
}
