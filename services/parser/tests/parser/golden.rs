//! Golden records: one insta snapshot per fixture page (reviewed against
//! tests/fixtures/EXPECTED-*.md), and the error text of every non-statement page.

use parser::PageInput;

use crate::corpus::{extract_page, extractor, fetched_at, file_name, other_pages, statement_pages};

#[test]
fn every_statement_page_matches_its_golden_record() {
    for page in statement_pages() {
        let record =
            extract_page(&page, None).unwrap_or_else(|e| panic!("{}: {e}", page.path.display()));
        insta::assert_json_snapshot!(page.name(), record);
    }
}

#[test]
fn every_non_statement_page_is_refused_with_a_reason() {
    for path in other_pages() {
        let bytes = std::fs::read(&path).expect("read page");
        // Served under a statement URL, so that only the page itself can refuse it.
        let result = extractor().extract(&PageInput {
            bytes: &bytes,
            source: None,
            url: None,
            fetch_url: Some("https://mid.ru/ru/foreign_policy/news/1999999/"),
            content_type: Some("text/html; charset=utf-8"),
            fetched_at: fetched_at(),
            listing: None,
            lang: None,
        });
        let err = match result {
            Ok(record) => panic!("{} gave a record: {record:?}", path.display()),
            Err(e) => e,
        };
        insta::assert_snapshot!(
            format!("page_{}", file_name(&path)),
            format!("{}: {err}", err.reason_label())
        );
    }
}
