//! The field values tests/fixtures/EXPECTED-1950.md and EXPECTED-1960.md list, checked one by
//! one (independently of the snapshots), and the agreement of EN and RU versions.

use std::collections::BTreeMap;

use shared::{Quality, SpeechRecord};

use crate::corpus::{FixturePage, extract_page, statement_pages_of};

/// The pages EXPECTED-1950.md and EXPECTED-1960.md describe (the 1970 corpus has its own
/// table, checked by `shapes.rs`).
fn statement_pages() -> Vec<FixturePage> {
    statement_pages_of(&["195", "196"])
}

/// doc id, lang, kind, speakers, location, event_date, published_at, doc_number, turn labels
/// (Q = Question, SL = Sergey Lavrov, MZ = Maria Zakharova, II = Igor Ivanov, SR = Sergey
/// Ryabkov; `*` interpreted), paragraphs, url.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    &'static str,
);

const Q_SL_13: &str = "Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL";

const EXPECTED: &[Row] = &[
    (
        "1950001",
        "en",
        "interview",
        "Sergey Lavrov",
        "Moscow",
        "2021-11-16",
        "2021-11-17T10:15:00+03:00",
        "2311-17-11-2021",
        Q_SL_13,
        36,
        "https://mid.ru/en/press_service/minister_speeches/1950001/",
    ),
    (
        "1950001",
        "ru",
        "interview",
        "Sergey Lavrov",
        "Москва",
        "2021-11-16",
        "2021-11-17T10:15:00+03:00",
        "2311-17-11-2021",
        Q_SL_13,
        36,
        "https://mid.ru/ru/press_service/minister_speeches/1950001/",
    ),
    (
        "1950002",
        "en",
        "answers",
        "Sergey Lavrov",
        "Moscow",
        "2022-09-01",
        "2022-09-01T16:40:00+03:00",
        "1744-01-09-2022",
        "Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL Q SL",
        23,
        "https://www.mid.ru/en/foreign_policy/news/1950002/",
    ),
    (
        "1950002",
        "ru",
        "answers",
        "Sergey Lavrov",
        "Москва",
        "2022-09-01",
        "2022-09-01T16:40:00+03:00",
        "1744-01-09-2022",
        "Q SL Q* SL Q SL Q* SL* Q SL Q SL Q* SL Q SL Q SL",
        23,
        "https://www.mid.ru/ru/foreign_policy/news/1950002/",
    ),
    (
        "1950003",
        "en",
        "briefing",
        "Maria Zakharova",
        "Moscow",
        "2022-10-12",
        "2022-10-12T17:05:00+03:00",
        "2052-12-10-2022",
        "Q MZ Q MZ Q MZ Q MZ Q MZ Q MZ Q MZ",
        35,
        "https://mid.ru/en/press_service/spokesman/briefings/1950003/",
    ),
    (
        "1950003",
        "ru",
        "briefing",
        "Maria Zakharova",
        "Москва",
        "2022-10-12",
        "2022-10-12T17:05:00+03:00",
        "2052-12-10-2022",
        "Q MZ Q MZ Q MZ Q MZ Q MZ Q* MZ Q MZ",
        35,
        "https://mid.ru/ru/press_service/spokesman/briefings/1950003/",
    ),
    (
        "1950004",
        "en",
        "speech",
        "Sergey Lavrov",
        "Moscow",
        "2025-06-24",
        "2025-06-24T13:20:00+03:00",
        "1215-24-06-2025",
        "",
        11,
        "https://mid.ru/en/press_service/minister_speeches/1950004/",
    ),
    (
        "1950004",
        "ru",
        "speech",
        "Sergey Lavrov",
        "Москва",
        "2025-06-24",
        "2025-06-24T13:20:00+03:00",
        "1215-24-06-2025",
        "",
        11,
        "https://www.mid.ru/ru/press_service/minister_speeches/1950004/",
    ),
    (
        "1950005",
        "en",
        "remarks",
        "Sergey Lavrov",
        "Moscow",
        "2024-07-18",
        "2024-07-18T14:30:00+03:00",
        "1402-18-07-2024",
        "",
        6,
        "https://mid.ru/en/foreign_policy/news/1950005/",
    ),
    (
        "1950005",
        "ru",
        "remarks",
        "Sergey Lavrov",
        "Москва",
        "2024-07-18",
        "2024-07-18T14:30:00+03:00",
        "1402-18-07-2024",
        "",
        6,
        "https://mid.ru/ru/foreign_policy/news/1950005/",
    ),
    (
        "1950006",
        "en",
        "statement",
        "Sergey Lavrov",
        "Moscow",
        "2023-05-30",
        "2023-05-30T16:20:00+03:00",
        "1033-30-05-2023",
        "Q SL Q SL Q SL",
        12,
        "https://mid.ru/en/foreign_policy/news/1950006/",
    ),
    (
        "1950006",
        "ru",
        "statement",
        "Sergey Lavrov",
        "Москва",
        "2023-05-30",
        "2023-05-30T16:20:00+03:00",
        "1033-30-05-2023",
        "Q SL Q SL Q SL",
        12,
        "https://mid.ru/ru/foreign_policy/news/1950006/",
    ),
    (
        "1950007",
        "en",
        "press_conference",
        "Sergey Lavrov",
        "Nizhny Novgorod",
        "2024-06-11",
        "2024-06-11T18:45:00+03:00",
        "1121-11-06-2024",
        "Q SL Q SL Q SL Q SL Q SL",
        15,
        "https://www.mid.ru/en/press_service/minister_speeches/1950007/",
    ),
    (
        "1950007",
        "ru",
        "press_conference",
        "Sergey Lavrov",
        "Нижний Новгород",
        "2024-06-11",
        "2024-06-11T18:45:00+03:00",
        "1121-11-06-2024",
        "Q SL Q* SL Q SL Q* SL* Q SL",
        15,
        "https://www.mid.ru/ru/press_service/minister_speeches/1950007/",
    ),
    (
        "1950008",
        "en",
        "comment",
        "",
        "",
        "",
        "2021-09-24T11:30:00+03:00",
        "",
        "",
        5,
        "https://mid.ru/en/foreign_policy/news/1950008/",
    ),
    (
        "1950008",
        "ru",
        "comment",
        "",
        "",
        "",
        "2021-09-24T11:30:00+03:00",
        "",
        "",
        5,
        "https://mid.ru/ru/foreign_policy/news/1950008/",
    ),
    (
        "1950009",
        "en",
        "press_release",
        "Sergey Lavrov",
        "",
        "",
        "2025-02-11T12:05:00+03:00",
        "246-11-02-2025",
        "",
        3,
        "https://mid.ru/en/foreign_policy/news/1950009/",
    ),
    (
        "1950009",
        "ru",
        "press_release",
        "Sergey Lavrov",
        "",
        "",
        "2025-02-11T12:05:00+03:00",
        "246-11-02-2025",
        "",
        3,
        "https://mid.ru/ru/foreign_policy/news/1950009/",
    ),
    (
        "1950010",
        "en",
        "greetings",
        "Sergey Lavrov",
        "",
        "",
        "2023-11-24T11:00:00+03:00",
        "2377-24-11-2023",
        "",
        5,
        "https://mid.ru/en/press_service/minister_speeches/1950010/",
    ),
    (
        "1950010",
        "ru",
        "greetings",
        "Sergey Lavrov",
        "",
        "",
        "2023-11-24T11:00:00+03:00",
        "2377-24-11-2023",
        "",
        5,
        "https://www.mid.ru/ru/press_service/minister_speeches/1950010/",
    ),
    (
        "1950011",
        "en",
        "article",
        "Sergey Lavrov",
        "Moscow",
        "2021-10-27",
        "2021-10-27T09:00:00+03:00",
        "2198-27-10-2021",
        "",
        15,
        "https://mid.ru/en/press_service/minister_speeches/1950011/",
    ),
    (
        "1950011",
        "ru",
        "article",
        "Sergey Lavrov",
        "Москва",
        "2021-10-27",
        "2021-10-27T09:00:00+03:00",
        "2198-27-10-2021",
        "",
        15,
        "https://mid.ru/ru/press_service/minister_speeches/1950011/",
    ),
    (
        "1950012",
        "en",
        "comment",
        "Maria Zakharova",
        "",
        "",
        "2023-08-15T19:30:00+03:00",
        "",
        "Q MZ",
        3,
        "https://mid.ru/en/press_service/spokesman/answers/1950012/",
    ),
    (
        "1950012",
        "ru",
        "comment",
        "Maria Zakharova",
        "",
        "",
        "2023-08-15T19:30:00+03:00",
        "",
        "Q MZ",
        3,
        "https://www.mid.ru/ru/press_service/spokesman/answers/1950012/",
    ),
    (
        "1950013",
        "en",
        "other",
        "",
        "",
        "",
        "2025-04-10T14:00:00+03:00",
        "712-10-04-2025",
        "",
        7,
        "https://mid.ru/en/foreign_policy/news/1950013/",
    ),
    (
        "1950013",
        "ru",
        "other",
        "",
        "",
        "",
        "2025-04-10T14:00:00+03:00",
        "712-10-04-2025",
        "",
        7,
        "https://mid.ru/ru/foreign_policy/news/1950013/",
    ),
    (
        "1960001",
        "en",
        "interview",
        "Igor Ivanov",
        "MOSCOW",
        "2003-07-09",
        "2003-07-10T11:00:00+04:00",
        "",
        "Q II Q II Q II Q II Q II Q II Q II Q II Q",
        21,
        "https://www.mid.ru/en/press_service/minister_speeches/1960001/",
    ),
    (
        "1960002",
        "en",
        "statement",
        "",
        "",
        "",
        "2012-04-04T17:30:00+04:00",
        "04-04-2012",
        "",
        5,
        "https://mid.ru/en/press_service/spokesman/official_statement/1960002/",
    ),
    (
        "1960002",
        "ru",
        "statement",
        "",
        "",
        "",
        "2012-04-04T17:30:00+04:00",
        "04-04-2012",
        "",
        5,
        "https://mid.ru/ru/press_service/spokesman/official_statement/1960002/",
    ),
    (
        "1960003",
        "en",
        "briefing",
        "Sergey Ryabkov",
        "Geneva",
        "2022-01-10",
        "2022-01-10T23:05:00+03:00",
        "21-10-01-2022",
        "Q SR Q SR Q SR",
        11,
        "https://www.mid.ru/en/foreign_policy/news/1960003/",
    ),
    (
        "1960003",
        "ru",
        "briefing",
        "Sergey Ryabkov",
        "Женева",
        "2022-01-10",
        "2022-01-10T23:05:00+03:00",
        "21-10-01-2022",
        "Q SR Q* SR Q SR",
        11,
        "https://www.mid.ru/ru/foreign_policy/news/1960003/",
    ),
    (
        "1960004",
        "en",
        "press_release",
        "Sergey Lavrov",
        "",
        "",
        "2024-09-02T10:15:00+03:00",
        "1592-02-09-2024",
        "",
        3,
        "https://mid.ru/en/foreign_policy/news/1960004/",
    ),
    (
        "1960004",
        "ru",
        "press_release",
        "Sergey Lavrov",
        "",
        "",
        "2024-09-02T10:15:00+03:00",
        "1592-02-09-2024",
        "",
        3,
        "https://mid.ru/ru/foreign_policy/news/1960004/",
    ),
    (
        "1960005",
        "en",
        "speech",
        "Sergey Lavrov",
        "Moscow",
        "2025-03-14",
        "2025-03-14T12:00:00+03:00",
        "",
        "",
        6,
        "https://www.mid.ru/en/press_service/minister_speeches/1960005/",
    ),
    (
        "1960005",
        "ru",
        "speech",
        "Sergey Lavrov",
        "Москва",
        "2025-03-14",
        "2025-03-14T12:00:00+03:00",
        "",
        "",
        6,
        "https://www.mid.ru/ru/press_service/minister_speeches/1960005/",
    ),
    (
        "1960006",
        "en",
        "comment",
        "",
        "",
        "",
        "2024-11-15T16:20:00+03:00",
        "2167-15-11-2024",
        "",
        19,
        "https://mid.ru/en/foreign_policy/news/1960006/",
    ),
    (
        "1960006",
        "ru",
        "comment",
        "",
        "",
        "",
        "2024-11-15T16:20:00+03:00",
        "2167-15-11-2024",
        "",
        19,
        "https://mid.ru/ru/foreign_policy/news/1960006/",
    ),
    (
        "1960007",
        "ru",
        "answers",
        "Maria Zakharova",
        "Владивосток",
        "2024-09-04",
        "2024-09-04T18:05:00+03:00",
        "1601-04-09-2024",
        "Q MZ Q MZ Q* MZ Q MZ Q MZ",
        14,
        "https://mid.ru/ru/press_service/spokesman/answers/1960007/",
    ),
    (
        "1960008",
        "en",
        "remarks",
        "Alexander Grushko",
        "Moscow",
        "2024-10-08",
        "2024-10-08T15:40:00+03:00",
        "1834-08-10-2024",
        "",
        6,
        "https://www.mid.ru/en/foreign_policy/news/1960008/",
    ),
    (
        "1960008",
        "ru",
        "remarks",
        "Alexander Grushko",
        "Москва",
        "2024-10-08",
        "2024-10-08T15:40:00+03:00",
        "1834-08-10-2024",
        "",
        6,
        "https://www.mid.ru/ru/foreign_policy/news/1960008/",
    ),
    (
        "1960009",
        "en",
        "press_release",
        "Mikhail Galuzin",
        "",
        "",
        "2025-11-20T13:30:00+03:00",
        "2290-20-11-2025",
        "",
        2,
        "https://mid.ru/en/foreign_policy/news/1960009/",
    ),
    (
        "1960009",
        "ru",
        "press_release",
        "Mikhail Galuzin",
        "",
        "",
        "2025-11-20T13:30:00+03:00",
        "2290-20-11-2025",
        "",
        2,
        "https://mid.ru/ru/foreign_policy/news/1960009/",
    ),
];

fn abbreviate(record: &SpeechRecord) -> String {
    record
        .turns
        .iter()
        .map(|t| {
            let short = match t.speaker.as_str() {
                "Question" => "Q",
                "Sergey Lavrov" => "SL",
                "Maria Zakharova" => "MZ",
                "Igor Ivanov" => "II",
                "Sergey Ryabkov" => "SR",
                other => other,
            };
            format!("{short}{}", if t.interpreted { "*" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn opt(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

#[test]
fn every_page_has_the_expected_fields() {
    let pages = statement_pages();
    let mut checked = 0;
    for page in &pages {
        let r = extract_page(page, None).unwrap_or_else(|e| panic!("{}: {e}", page.path.display()));
        let row = EXPECTED
            .iter()
            .find(|row| row.0 == page.doc_id && row.1 == page.lang.as_str())
            .unwrap_or_else(|| panic!("{} is not in the EXPECTED table of this test", page.name()));
        let (
            _,
            _,
            kind,
            speakers,
            location,
            event_date,
            published_at,
            doc_number,
            turns,
            paragraphs,
            url,
        ) = *row;
        let name = page.name();
        assert_eq!(r.kind.as_str(), kind, "{name} kind");
        let want_speakers: Vec<String> = speakers
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        assert_eq!(r.speakers, want_speakers, "{name} speakers");
        assert_eq!(r.location, opt(location), "{name} location");
        assert_eq!(
            r.event_date.map(|d| d.to_string()),
            opt(event_date),
            "{name} event_date"
        );
        assert_eq!(
            r.published_at.map(|d| d.to_rfc3339()),
            opt(published_at),
            "{name} published_at"
        );
        assert_eq!(r.doc_number, opt(doc_number), "{name} doc_number");
        assert_eq!(abbreviate(&r), turns, "{name} turns");
        assert_eq!(
            r.paragraphs.len(),
            paragraphs,
            "{name} paragraphs: {:#?}",
            r.paragraphs
        );
        assert_eq!(r.url, url, "{name} url");
        assert_eq!(
            r.id,
            format!("mid.ru:{}:{}", page.doc_id, page.lang),
            "{name} id"
        );
        let want_quality = if page.doc_id == "1960005" {
            Quality::Fallback
        } else {
            Quality::Full
        };
        assert_eq!(r.quality, want_quality, "{name} quality");
        assert_eq!(
            r.title,
            page.meta["titles"][page.lang.as_str()]
                .as_str()
                .unwrap_or_default(),
            "{name} title"
        );
        assert!(r.tags.is_empty(), "{name}: tags come from the listing only");
        for paragraph in &r.paragraphs {
            for chrome in [
                "photos in album",
                "фотографий в альбоме",
                "©",
                "Advanced settings",
                "Расширенный поиск",
                "Additional materials",
                "Дополнительные материалы",
                "Back to contents",
                "Назад к оглавлению",
                "Read also",
                "Читайте также",
                "\u{a0}",
            ] {
                assert!(
                    !paragraph.contains(chrome),
                    "{name}: chrome {chrome:?} in {paragraph:?}"
                );
            }
            assert!(
                !paragraph.contains("  ") && paragraph.trim() == paragraph,
                "{name}: unnormalised {paragraph:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, EXPECTED.len(), "every row of the table has a page");
}

#[test]
fn translations_point_to_the_other_language() {
    for page in statement_pages() {
        let r = extract_page(&page, None).expect("record");
        let no_alternates = matches!(
            (page.doc_id.as_str(), page.lang.as_str()),
            ("1960001", _) | ("1960002", "ru") | ("1960003", _) | ("1960007", _)
        );
        if no_alternates {
            assert!(
                r.translations.is_empty(),
                "{}: {:?}",
                page.name(),
                r.translations
            );
            continue;
        }
        assert_eq!(
            r.translations.len(),
            1,
            "{}: {:?}",
            page.name(),
            r.translations
        );
        let (lang, url) = r.translations.iter().next().expect("one translation");
        assert_ne!(*lang, page.lang);
        assert_eq!(
            url.replace(&format!("/{lang}/"), &format!("/{}/", page.lang)),
            r.url,
            "{}",
            page.name()
        );
    }
}

#[test]
fn english_and_russian_versions_agree() {
    let mut by_doc: BTreeMap<String, Vec<SpeechRecord>> = BTreeMap::new();
    for page in statement_pages() {
        let record = extract_page(&page, None).expect("record");
        by_doc.entry(page.doc_id.clone()).or_default().push(record);
    }
    let mut pairs = 0;
    for (doc_id, records) in by_doc {
        let [a, b] = records.as_slice() else { continue };
        assert_eq!(a.doc_id, b.doc_id, "{doc_id}");
        assert_eq!(a.kind, b.kind, "{doc_id} kind");
        assert_eq!(a.speakers, b.speakers, "{doc_id} speakers");
        assert_eq!(a.event_date, b.event_date, "{doc_id} event_date");
        assert_eq!(a.published_at, b.published_at, "{doc_id} published_at");
        assert_eq!(a.doc_number, b.doc_number, "{doc_id} doc_number");
        assert_eq!(a.turns.len(), b.turns.len(), "{doc_id} turns");
        pairs += 1;
    }
    assert!(pairs >= 18, "only {pairs} EN/RU pairs");
}

#[test]
fn listing_hint_gives_tags_and_agrees_on_the_date() {
    for page in statement_pages() {
        let listing = page.listing();
        let r = extract_page(&page, Some(&listing)).expect("record");
        assert_eq!(r.tags, listing.tags, "{}", page.name());
        assert_eq!(r.published_at, listing.published_at, "{}", page.name());
    }
}
