//! The other sources' fixture pages (`tests/fixtures/sources/{source}/statements/`) against the
//! summary tables of tests/fixtures/EXPECTED-{source}.md, field by field: kremlin.ru and
//! fmprc.gov.cn from their built-in profiles, mfa.eldoria.example from its user profile alone;
//! and every kremlin.ru and fmprc.gov.cn page against every field of its table (turns, outlets,
//! places, translations, tags, first and last paragraphs).

use parser::{Extractor, PageInput};
use shared::Lang;
use shared::profile::Profiles;

use crate::corpus::{fetched_at, fixtures_dir};
use crate::expected_md::{self, differences};

/// source, doc id, lang, kind, speakers, event_date, published_at, turns, paragraphs.
type Row = (
    &'static str,
    &'static str,
    Lang,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    usize,
);

const K: &str = "kremlin.ru";
const F: &str = "fmprc.gov.cn";
const E: &str = "mfa.eldoria.example";
const VP: &str = "Vladimir Putin";

#[rustfmt::skip]
const EXPECTED: &[Row] = &[
    (K, "76431", Lang::Ru, "statement", VP, "2025-04-16", "2025-04-16T15:40:00+03:00", 2, 8),
    (K, "76431", Lang::En, "statement", VP, "2025-04-16", "2025-04-16T15:40:00+03:00", 2, 8),
    (K, "76440", Lang::Ru, "press_conference", "Vladimir Putin, Dmitry Peskov", "2025-11-27", "2025-11-27T19:10:00+03:00", 9, 13),
    (K, "76440", Lang::En, "press_conference", "Vladimir Putin, Dmitry Peskov", "2025-11-27", "2025-11-27T19:10:00+03:00", 9, 13),
    (K, "76455", Lang::Ru, "press_release", VP, "2025-08-21", "2025-08-21T18:30:00+03:00", 0, 3),
    (K, "76455", Lang::En, "press_release", VP, "2025-08-21", "2025-08-21T18:30:00+03:00", 0, 3),
    (K, "76470", Lang::Ru, "other", VP, "2025-09-10", "2025-09-10T13:00:00+03:00", 4, 7),
    (K, "76470", Lang::En, "other", VP, "2025-09-10", "2025-09-10T13:00:00+03:00", 4, 7),
    (K, "76488", Lang::Ru, "speech", VP, "2025-06-12", "2025-06-12T14:00:00+03:00", 1, 5),
    (K, "76488", Lang::En, "speech", VP, "2025-06-12", "2025-06-12T14:00:00+03:00", 1, 5),
    (K, "76502", Lang::Ru, "greetings", VP, "2025-10-03", "2025-10-03T10:00:00+03:00", 0, 5),
    (K, "76511", Lang::Ru, "interview", VP, "2025-07-20", "2025-07-20T21:40:00+03:00", 6, 7),
    (K, "76511", Lang::En, "interview", VP, "2025-07-20", "2025-07-20T21:40:00+03:00", 6, 7),
    (K, "76520", Lang::Ru, "answers", VP, "2025-10-24", "2025-10-24T17:20:00+03:00", 5, 7),
    (K, "76520", Lang::En, "answers", VP, "2025-10-24", "2025-10-24T17:20:00+03:00", 5, 7),
    (K, "76534", Lang::Ru, "briefing", "Yury Ushakov, Dmitry Peskov", "2025-11-26", "2025-11-26T12:30:00+03:00", 6, 7),
    (K, "76534", Lang::En, "briefing", "Yury Ushakov, Dmitry Peskov", "2025-11-26", "2025-11-26T12:30:00+03:00", 6, 7),
    (K, "15524", Lang::Ru, "statement", VP, "2012-06-01", "2012-06-01T17:45:00+04:00", 2, 6),
    (K, "15524", Lang::En, "statement", VP, "2012-06-01", "2012-06-01T17:45:00+04:00", 2, 6),
    (K, "76545", Lang::Ru, "answers", VP, "2025-12-14", "2025-12-14T22:10:00+03:00", 4, 5),
    (K, "76545", Lang::En, "answers", VP, "2025-12-14", "2025-12-14T22:10:00+03:00", 4, 5),
    (K, "76552", Lang::Ru, "other", VP, "2025-12-10", "2025-12-10T12:00:00+03:00", 4, 6),
    (K, "76552", Lang::En, "other", VP, "2025-12-10", "2025-12-10T12:00:00+03:00", 4, 6),
    (K, "76560", Lang::Ru, "speech", VP, "2025-02-28", "2025-02-28T12:00:00+03:00", 1, 3),
    (K, "76560", Lang::En, "speech", VP, "2025-02-28", "2025-02-28T12:00:00+03:00", 1, 3),
    (K, "76567", Lang::Ru, "greetings", VP, "2025-11-04", "2025-11-04T09:00:00+03:00", 0, 3),
    (K, "76567", Lang::En, "greetings", VP, "2025-11-04", "2025-11-04T09:00:00+03:00", 0, 3),
    (K, "7210", Lang::Ru, "other", "Dmitry Medvedev, Vladimir Putin", "2010-03-22", "2010-03-22T15:30:00+03:00", 3, 4),
    (K, "7210", Lang::En, "other", "Dmitry Medvedev, Vladimir Putin", "2010-03-22", "2010-03-22T15:30:00+03:00", 3, 4),
    (K, "61100", Lang::Ru, "other", "Vladimir Putin, Sergey Lavrov", "2019-07-30", "2019-07-30T17:00:00+03:00", 2, 2),
    (K, "61100", Lang::En, "other", "Vladimir Putin, Sergey Lavrov", "2019-07-30", "2019-07-30T17:00:00+03:00", 2, 2),
    (K, "76574", Lang::Ru, "other", VP, "2025-12-20", "2025-12-20T11:00:00+03:00", 0, 1),
    (K, "76574", Lang::En, "other", VP, "2025-12-20", "2025-12-20T11:00:00+03:00", 0, 1),
    (F, "11584410", Lang::En, "press_conference", "Lin Jian", "2025-03-12", "2025-03-12T19:05:00+08:00", 8, 11),
    (F, "11270415", Lang::En, "press_conference", "Lin Jian, Mao Ning", "2024-03-18", "2024-03-18T18:40:00+08:00", 8, 9),
    (F, "11347301", Lang::En, "press_conference", "Geng Shuang", "2019-02-20", "2019-02-20T21:30:00+08:00", 6, 8),
    (F, "11650277", Lang::En, "remarks", "", "", "2025-06-27T18:22:00+08:00", 0, 3),
    (F, "11586003", Lang::En, "answers", "Guo Jiakun", "", "2025-03-29T11:40:00+08:00", 2, 3),
    (F, "11688130", Lang::En, "remarks", "Guo Jiakun", "2025-08-05", "2025-08-05T20:15:00+08:00", 4, 5),
    (F, "11712001", Lang::En, "press_conference", "Guo Jiakun", "2025-11-04", "2025-11-04T19:30:00+08:00", 8, 9),
    (F, "11712002", Lang::En, "press_conference", "Lu Kang", "2018-03-05", "2018-03-05T00:00:00+08:00", 6, 7),
    (E, "4127", Lang::En, "press_conference", "Tamsin Ardel", "2025-03-14", "2025-03-14T16:45:00-03:00", 6, 9),
    (E, "4127", Lang::Fr, "press_conference", "Tamsin Ardel", "2025-03-14", "2025-03-14T16:45:00-03:00", 6, 9),
    (E, "4133", Lang::En, "statement", "", "", "2025-01-22T08:15:00-04:00", 0, 3),
    (E, "4133", Lang::Fr, "statement", "", "", "2025-01-22T08:15:00-04:00", 0, 3),
    (E, "4140", Lang::En, "briefing", "Corin Halvard, Tamsin Ardel", "2025-07-02", "2025-07-02T11:20:00-03:00", 5, 8),
    (E, "4152", Lang::En, "remarks", "Tamsin Ardel", "2025-11-09", "2025-11-09T10:05:00-04:00", 0, 5),
];

#[test]
fn every_other_source_page_has_the_expected_fields() {
    let user_profile = fixtures_dir().join("sources/mfa.eldoria.example/profile.toml");
    let profiles = Profiles::load(&[user_profile]).expect("profiles");
    let extractor = Extractor::new(&profiles, None).expect("compiled sources");
    for &(source, doc_id, lang, kind, speakers, event_date, published_at, turns, paragraphs) in
        EXPECTED
    {
        let dir = fixtures_dir().join(format!("sources/{source}/statements/{doc_id}"));
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("meta.json")).expect("meta.json"))
                .expect("json");
        let bytes = std::fs::read(dir.join(format!("{lang}.html"))).expect("page");
        // Fetched from the source's base URL of that language plus the item path.
        let profile = extractor.source(source).expect("source").profile();
        let base = profile.base_url(lang).expect("base url");
        let fetch_url = meta["paths"][lang.as_str()]
            .as_str()
            .and_then(|p| base.join(p).ok())
            .map(|u| u.to_string());
        let record = extractor
            .extract(&PageInput {
                bytes: &bytes,
                source: Some(source),
                url: None,
                fetch_url: fetch_url.as_deref(),
                // As the sites serve them: no charset in the header (fmprc.gov.cn pages declare
                // gb2312 in a meta tag but are UTF-8).
                content_type: Some("text/html"),
                fetched_at: fetched_at(),
                listing: None,
                lang: Some(lang),
            })
            .unwrap_or_else(|e| panic!("{source} {doc_id} {lang}: {e}"));
        let at = format!("{source} {doc_id} {lang}");
        assert_eq!(record.id, format!("{source}:{doc_id}:{lang}"), "{at}");
        assert_eq!(record.kind.as_str(), kind, "{at}");
        assert_eq!(record.speakers.join(", "), speakers, "{at}");
        assert_eq!(
            record.event_date.map(|d| d.to_string()).unwrap_or_default(),
            event_date,
            "{at}"
        );
        assert_eq!(
            record.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some(published_at),
            "{at}"
        );
        assert_eq!(record.turns.len(), turns, "{at}");
        assert_eq!(record.paragraphs.len(), paragraphs, "{at}");
        assert_eq!(
            record.title,
            meta["titles"][lang.as_str()].as_str().unwrap_or_default(),
            "{at}"
        );
        if let Some(tags) = meta["tags"][lang.as_str()].as_array() {
            let tags: Vec<&str> = tags.iter().filter_map(|t| t.as_str()).collect();
            assert_eq!(record.tags, tags, "{at}");
        }
        assert!(
            record.turns.iter().all(|t| source != F || !t.interpreted),
            "{at}"
        );
    }
}

#[test]
fn every_kremlin_and_fmprc_page_matches_every_field_of_its_expectations_table() {
    let extractor =
        Extractor::new(&Profiles::load(&[]).expect("profiles"), None).expect("compiled sources");
    let mut failures = Vec::new();
    for source in [K, F] {
        let table = expected_md::load(&fixtures_dir().join(format!("EXPECTED-{source}.md")));
        let pages = EXPECTED.iter().filter(|row| row.0 == source).count();
        assert_eq!(
            table.len(),
            pages,
            "{source}: every page has its table entry"
        );
        for want in &table {
            let dir = fixtures_dir().join(format!("sources/{source}/statements/{}", want.doc_id));
            let bytes = std::fs::read(dir.join(format!("{}.html", want.lang))).expect("page");
            let record = extractor
                .extract(&PageInput {
                    bytes: &bytes,
                    source: Some(source),
                    url: None,
                    fetch_url: Some(&want.url),
                    content_type: Some("text/html"),
                    fetched_at: fetched_at(),
                    listing: None,
                    lang: None,
                })
                .unwrap_or_else(|e| panic!("{}: {e}", want.id));
            let record = serde_json::to_value(&record).expect("json");
            for difference in differences(&record, want) {
                failures.push(format!("{}: {difference}", want.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
