//! Property tests: `extract` never panics, whatever the bytes.

use parser::PageInput;
use proptest::prelude::*;

use crate::corpus::{extractor, fetched_at, statement_pages};

fn run(bytes: &[u8], url: Option<&str>, content_type: Option<&str>) {
    let _ = extractor().extract(&PageInput {
        bytes,
        source: None,
        url: None,
        fetch_url: url,
        content_type,
        fetched_at: fetched_at(),
        listing: None,
        lang: None,
    });
}

const HTMLISH: &str = r##"(<(p|div|h1|h3|br|a|table|tr|td|li|ul|strong|time|html|title|link|meta)( class="(text article-content|photo-content__title|photo-content__date|announcement__text|article-line__note article-line__note_small)"| href="#[0-9]"| rel="canonical" href="https://mid\.ru/(en|ru|xx)/a/[0-9]{1,9}/"| hreflang="(en|ru|x)" rel="alternate" href="[a-z/:.]{0,12}"| datetime="[0-9T:+-]{0,25}"| lang="[a-z-]{0,5}")?>|</(p|div|h1|a|td|tr|ul|li|strong)>|[A-Za-zА-Яа-яё0-9 .:,()«»’–&;#-]{0,24}|Question:|Вопрос \(перевод с английского языка\):|С\.В\.Лавров:|Sergey Lavrov:|05\.05\.2023|18 July 2024 14:30|, Москва, 5 мая 2023 года|\(Moscow, July 18, 2024\)|&nbsp;|Содержание|Back to contents|1402-18-07-2024|/TSPD/|<!--|<script>|\u{0}|\u{feff})*"##;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), ct in prop_oneof![Just(None), Just(Some("text/html; charset=windows-1251")), Just(Some("text/html; charset=utf-8")), Just(Some("text/html; charset=utf-16"))]) {
        run(&bytes, Some("https://mid.ru/ru/foreign_policy/news/1950001/"), ct);
        run(&bytes, None, ct);
    }

    #[test]
    fn arbitrary_html_never_panics(html in HTMLISH) {
        run(html.as_bytes(), Some("https://mid.ru/en/foreign_policy/news/1950001/"), None);
        run(html.as_bytes(), None, Some("text/html; charset=windows-1251"));
    }

    #[test]
    fn damaged_fixture_pages_never_panic(index in 0usize..64, cut in any::<prop::sample::Index>(), noise in proptest::collection::vec(any::<u8>(), 0..64)) {
        let pages = statement_pages();
        let page = &pages[index % pages.len()];
        let at = cut.index(page.bytes.len().max(1));
        let mut bytes = page.bytes[..at.min(page.bytes.len())].to_vec();
        bytes.extend_from_slice(&noise);
        bytes.extend_from_slice(&page.bytes[at.min(page.bytes.len())..]);
        run(&bytes, Some(&page.fetch_url), Some(&page.content_type));
        // Truncated pages too.
        run(&page.bytes[..at.min(page.bytes.len())], Some(&page.fetch_url), None);
    }
}
