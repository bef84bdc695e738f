//! The mid.ru pages of other shapes (`site/statements/19700NN`: earlier eras' inner markup, a
//! print version, captions and video, footnotes, a 104-turn transcript, a table and a list,
//! `Q:`/`A:` and `Note:` lines, titles without date or place) against
//! tests/fixtures/EXPECTED-1970.md: every field and every paragraph's text.

use crate::corpus::{extract_page, fixtures_dir, statement_pages_of};
use crate::expected_md;

#[test]
fn every_page_of_other_shapes_matches_its_expectations() {
    let table = expected_md::load(&fixtures_dir().join("EXPECTED-1970.md"));
    let pages = statement_pages_of(&["197"]);
    assert!(
        pages.len() >= 20,
        "only {} pages of other shapes",
        pages.len()
    );
    assert_eq!(
        table.len(),
        pages.len(),
        "EXPECTED-1970.md and site/statements/197* must describe the same pages"
    );
    let mut failures = Vec::new();
    for page in &pages {
        let want = table
            .iter()
            .find(|r| r.doc_id == page.doc_id && r.lang == page.lang.as_str())
            .unwrap_or_else(|| panic!("{} is not in EXPECTED-1970.md", page.name()));
        assert!(
            !want.texts.is_empty(),
            "{}: the table lists no paragraph texts",
            page.name()
        );
        let record = match extract_page(page, None) {
            Ok(record) => record,
            Err(e) => {
                failures.push(format!("{}: {e}", page.name()));
                continue;
            }
        };
        let json = serde_json::to_value(&record).expect("record as JSON");
        for difference in expected_md::differences(&json, want) {
            failures.push(format!("{}: {difference}", page.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 13.4: a page fetched as one document whose canonical link, `og:url` and alternates
/// name another document (here the real 1950002) cannot become, or overwrite, that document.
#[test]
fn a_page_naming_another_document_as_canonical_cannot_overwrite_it() {
    let real = statement_pages_of(&["1950002"])
        .into_iter()
        .find(|p| p.lang == shared::Lang::En)
        .expect("fixture 1950002 en");
    let mut forged = real.clone();
    forged.fetch_url = "https://mid.ru/en/foreign_policy/news/1999998/".into();
    let record = extract_page(&forged, None).expect("record");
    assert_eq!(record.id, "mid.ru:1999998:en");
    assert_eq!(record.doc_id, "1999998");
    assert_eq!(
        record.url, forged.fetch_url,
        "the canonical link of 1950002 is ignored"
    );
    assert!(
        record.translations.is_empty(),
        "alternates naming 1950002 are not translations of 1999998: {:?}",
        record.translations
    );
    let original = extract_page(&real, None).expect("record");
    assert_ne!(record.id, original.id);
}
