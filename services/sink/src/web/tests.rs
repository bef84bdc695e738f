//! Snapshot tests of the pages (insta): each page rendered from fixed records. The HTML is
//! broken into lines between tags so that a change reads as a diff.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use shared::{Kind, Lang, SpeechRecord, Turn};

use super::i18n::Ui;
use super::layout::Filters;
use super::list::{self, Item, Listing};
use super::statement::{self, HistoryEntry, OtherVersion, StatementView};
use crate::diff::diff_paragraphs;

fn lines(html: maud::Markup) -> String {
    html.into_string().replace("><", ">\n<")
}

fn record(doc: &str, lang: Lang, title: &str) -> SpeechRecord {
    let mut record = SpeechRecord {
        schema_version: 1,
        id: SpeechRecord::make_id("mid.ru", doc, lang),
        source: "mid.ru".into(),
        doc_id: doc.into(),
        lang,
        url: format!("https://mid.ru/{lang}/foreign_policy/news/{doc}/"),
        title: title.into(),
        kind: Kind::Interview,
        speakers: vec!["Sergey Lavrov".into()],
        location: Some("Moscow".into()),
        event_date: None,
        published_at: Some(
            DateTime::parse_from_rfc3339("2024-07-18T14:30:00+03:00").expect("test time"),
        ),
        doc_number: Some("1234-18-07-2024".into()),
        paragraphs: vec![
            "Question: How do you see the talks?".into(),
            "Sergey Lavrov: With <cautious> hope & patience.".into(),
        ],
        turns: vec![
            Turn {
                speaker: "Question".into(),
                text: "How do you see the talks?".into(),
                interpreted: false,
                outlet: Some("Kompas TV".into()),
            },
            Turn {
                speaker: "Sergey Lavrov".into(),
                text: "With <cautious> hope & patience.\n\nWe shall see.".into(),
                interpreted: true,
                outlet: None,
            },
        ],
        tags: vec![],
        translations: BTreeMap::from([(Lang::Ru, format!("https://mid.ru/ru/{doc}/"))]),
        quality: Default::default(),
        content_hash: "sha256:test".into(),
        fetched_at: DateTime::parse_from_rfc3339("2024-07-18T12:00:00Z")
            .expect("test time")
            .with_timezone(&Utc),
        parser_version: "test".into(),
    };
    if lang == Lang::Ru {
        record.paragraphs = vec!["Вопрос: Как Вы оцениваете переговоры?".into()];
        record.turns = vec![];
    }
    record
}

fn listing(items: Vec<Item>, filters: Filters) -> Listing {
    Listing {
        items,
        next_cursor: Some("dDox".into()),
        after: Some(41),
        ..Listing::empty(filters)
    }
}

#[test]
fn latest_page() {
    let items = vec![Item {
        record: record("1", Lang::En, "Interview with \"Kompas TV\""),
        snippet: None,
    }];
    let filters = Filters {
        lang: Some("en".into()),
        speaker: Some("Lavrov".into()),
        ..Filters::default()
    };
    let html = lines(list::latest(Ui::En, &listing(items, filters)));
    assert!(html.len() < 60 * 1024);
    insta::assert_snapshot!("latest_en", html);
}

#[test]
fn latest_page_in_russian_with_a_refused_filter() {
    let mut page = listing(Vec::new(), Filters::default());
    page.error = Some("since \"x\" is not a date".into());
    page.after = None;
    insta::assert_snapshot!("latest_ru_error", lines(list::latest(Ui::Ru, &page)));
}

#[test]
fn search_page() {
    let items = vec![Item {
        record: record("1", Lang::En, "Interview"),
        snippet: Some("the <mark>talks</mark> & <b>more</b>".into()),
    }];
    let filters = Filters {
        q: Some("talks".into()),
        cursor: Some(crate::store::Cursor::Offset(20).encode()),
        ..Filters::default()
    };
    let mut page = listing(items, filters);
    page.total = Some(21);
    page.after = None;
    let html = lines(list::search(Ui::En, &page));
    assert!(html.contains("<ol class=\"statements\" id=\"statements\" start=\"21\">"));
    insta::assert_snapshot!("search_en", html);
}

#[test]
fn transcript_page() {
    let record = record("1", Lang::En, "Interview");
    let view = StatementView {
        record,
        others: vec![
            OtherVersion {
                lang: Lang::Ru,
                stored: Some("mid.ru:1:ru".into()),
                url: Some("https://mid.ru/ru/1/".into()),
            },
            OtherVersion {
                lang: Lang::De,
                stored: None,
                url: Some("https://mid.ru/de/1/".into()),
            },
        ],
        versions: 2,
    };
    insta::assert_snapshot!("statement_en", lines(statement::statement(Ui::En, &view)));
}

#[test]
fn side_by_side_page() {
    let en = record("1", Lang::En, "Interview");
    let ru = record("1", Lang::Ru, "Интервью");
    let html = lines(statement::compare(Ui::Ru, &en, &ru));
    // Two paragraphs against one: the second row has an empty right cell.
    assert_eq!(html.matches("<tr>").count(), 3);
    insta::assert_snapshot!("compare_ru", html);
}

#[test]
fn history_page() {
    let first = record("1", Lang::En, "Interview");
    let mut second = first.clone();
    second.title = "Interview (updated)".into();
    second.paragraphs[1] = "Sergey Lavrov: With hope.".into();
    second.paragraphs.push("A new closing paragraph.".into());
    let stored = |h: u32| {
        DateTime::parse_from_rfc3339(&format!("2024-07-18T{h}:00:00Z"))
            .expect("time")
            .with_timezone(&Utc)
    };
    let entries = vec![
        HistoryEntry {
            version: 1,
            stored_at: stored(12),
            title: first.title.clone(),
            old_title: None,
            diff: None,
        },
        HistoryEntry {
            version: 2,
            stored_at: stored(15),
            title: second.title.clone(),
            old_title: Some(first.title.clone()),
            diff: Some(diff_paragraphs(&first.paragraphs, &second.paragraphs)),
        },
    ];
    insta::assert_snapshot!(
        "history_en",
        lines(statement::history(Ui::En, &second, &entries))
    );
}

#[test]
fn turns_become_reading_paragraphs_without_paragraphs() {
    let mut r = record("1", Lang::En, "Interview");
    r.paragraphs.clear();
    assert_eq!(
        statement::reading_paragraphs(&r),
        vec![
            "Question: How do you see the talks?",
            "Sergey Lavrov: With <cautious> hope & patience.",
            "We shall see.",
        ]
    );
}

#[test]
fn assets_are_small() {
    let budget = 60 * 1024;
    assert!(super::SITE_CSS.len() + super::LIVE_JS.len() < budget / 4);
}
