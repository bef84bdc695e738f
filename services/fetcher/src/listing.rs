//! Listing pages and the RSS feed → statements to fetch. Pure logic, no I/O.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::Moscow;
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use shared::messages::{Lang, ListingHint};
use url::Url;

use crate::safety::{Site, doc_id_from_path};

/// A statement as a listing or the feed shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingItem {
    /// The site's numeric document id.
    pub doc_id: String,
    /// Where to fetch the page (on the configured site).
    pub url: Url,
    /// What the listing said.
    pub hint: ListingHint,
}

fn selector(css: &str) -> Selector {
    // The selectors below are constants checked by the unit tests.
    #[allow(clippy::expect_used)]
    Selector::parse(css).expect("static CSS selector is valid")
}

static ITEMS: LazyLock<Selector> =
    LazyLock::new(|| selector("ul.announce.announce_articles > li.announce__item"));
static ANY_ITEM: LazyLock<Selector> = LazyLock::new(|| selector("li.announce__item"));
static DATE: LazyLock<Selector> = LazyLock::new(|| selector(".announce__date"));
static TIME: LazyLock<Selector> = LazyLock::new(|| selector(".announce__time"));
static LINK: LazyLock<Selector> = LazyLock::new(|| selector("a.announce__link"));
static TAGS: LazyLock<Selector> = LazyLock::new(|| selector(".announce__meta-tags"));
static A: LazyLock<Selector> = LazyLock::new(|| selector("a"));

/// Parses a listing page (`/{lang}{section}`) of `section`. Items without a usable link on
/// the site are skipped.
pub fn parse_listing(html: &str, section: &str, site: &Site) -> Vec<ListingItem> {
    let doc = Html::parse_document(html);
    let mut items: Vec<ElementRef<'_>> = doc.select(&ITEMS).collect();
    if items.is_empty() {
        items = doc.select(&ANY_ITEM).collect();
    }
    items
        .into_iter()
        .filter_map(|li| {
            let link = li.select(&LINK).next()?;
            let url = site.resolve_link(link.value().attr("href")?)?;
            let doc_id = doc_id_from_path(url.path())?;
            let title = collapse(&link.text().collect::<String>());
            let date = li
                .select(&DATE)
                .next()
                .map(|e| e.text().collect::<String>());
            let time = li
                .select(&TIME)
                .next()
                .map(|e| e.text().collect::<String>());
            let published_at = date
                .as_deref()
                .and_then(|d| listing_datetime(d, time.as_deref().unwrap_or("")));
            let tags = li.select(&TAGS).next().map(tags_of).unwrap_or_default();
            Some(ListingItem {
                doc_id,
                url,
                hint: ListingHint {
                    section: Some(section.to_string()),
                    title: (!title.is_empty()).then_some(title),
                    published_at,
                    tags,
                },
            })
        })
        .collect()
}

fn tags_of(el: ElementRef<'_>) -> Vec<String> {
    let links: Vec<String> = el
        .select(&A)
        .map(|a| collapse(&a.text().collect::<String>()))
        .filter(|t| !t.is_empty())
        .collect();
    if !links.is_empty() {
        return links;
    }
    el.text()
        .collect::<String>()
        .split(',')
        .map(collapse)
        .filter(|t| !t.is_empty())
        .collect()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

static RSS_ITEM: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<item(?:\s[^>]*)?>(.*?)</item\s*>"));
static RSS_TITLE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<title(?:\s[^>]*)?>(.*?)</title\s*>"));
static RSS_LINK: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<link(?:\s[^>]*)?>(.*?)</link\s*>"));
static RSS_GUID: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<guid(?:\s[^>]*)?>(.*?)</guid\s*>"));
static RSS_DATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<pubDate(?:\s[^>]*)?>(.*?)</pubDate\s*>"));
static RSS_CATEGORY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<category(?:\s[^>]*)?>(.*?)</category\s*>"));
static ENTITY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});"));

fn regex(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("static regex is valid")
}

/// Parses an RSS 2.0 feed. Items whose link is not a statement on the site are skipped.
pub fn parse_rss(xml: &str, site: &Site) -> Vec<ListingItem> {
    RSS_ITEM
        .captures_iter(xml)
        .filter_map(|item| {
            let body = item.get(1)?.as_str();
            let field = |re: &Regex| {
                re.captures(body)
                    .and_then(|c| c.get(1))
                    .map(|m| xml_text(m.as_str()))
            };
            let link = field(&RSS_LINK)
                .filter(|l| !l.is_empty())
                .or_else(|| field(&RSS_GUID))?;
            let url = site.resolve_link(&link)?;
            let doc_id = doc_id_from_path(url.path())?;
            let title = field(&RSS_TITLE)
                .map(|t| collapse(&t))
                .filter(|t| !t.is_empty());
            let published_at = field(&RSS_DATE).and_then(|d| rss_datetime(&d));
            let tags = RSS_CATEGORY
                .captures_iter(body)
                .filter_map(|c| c.get(1).map(|m| collapse(&xml_text(m.as_str()))))
                .filter(|t| !t.is_empty())
                .collect();
            Some(ListingItem {
                doc_id,
                url,
                hint: ListingHint {
                    section: Some("rss".into()),
                    title,
                    published_at,
                    tags,
                },
            })
        })
        .collect()
}

/// The text of an XML element's content: CDATA unwrapped, entities decoded.
fn xml_text(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
    {
        return inner.trim().to_string();
    }
    ENTITY
        .replace_all(raw, |c: &regex::Captures<'_>| {
            let name = &c[1];
            let decoded =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse::<u32>().ok().and_then(char::from_u32)
                } else {
                    match name {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        "nbsp" => Some('\u{a0}'),
                        _ => None,
                    }
                };
            decoded
                .map(String::from)
                .unwrap_or_else(|| c[0].to_string())
        })
        .into_owned()
}

/// An RFC 2822 date (RSS `pubDate`) as Moscow time.
pub fn rss_datetime(text: &str) -> Option<DateTime<FixedOffset>> {
    let parsed = DateTime::parse_from_rfc2822(text.trim()).ok()?;
    Some(parsed.with_timezone(&Moscow).fixed_offset())
}

const EN_MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const RU_MONTHS: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// A listing's date (`05.05.2023` or `5 May 2023`) and time (`15:04`, may be empty) as a
/// Moscow date-time with the offset Moscow had then (tz database).
pub fn listing_datetime(date: &str, time: &str) -> Option<DateTime<FixedOffset>> {
    let date = parse_listing_date(date)?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").unwrap_or(NaiveTime::MIN);
    moscow(NaiveDateTime::new(date, time))
}

/// A Moscow local date-time with its offset.
pub fn moscow(local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    Moscow
        .from_local_datetime(&local)
        .earliest()
        .map(|dt| dt.fixed_offset())
}

fn parse_listing_date(text: &str) -> Option<NaiveDate> {
    let text = collapse(text);
    if let Ok(date) = NaiveDate::parse_from_str(&text, "%d.%m.%Y") {
        return Some(date);
    }
    let mut parts = text.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?.to_lowercase();
    let year: i32 = parts.next()?.trim_end_matches(['г', '.']).parse().ok()?;
    let month = EN_MONTHS
        .iter()
        .position(|m| {
            *m == month_name
                || (month_name.len() >= 3 && m.starts_with(month_name.trim_end_matches('.')))
        })
        .or_else(|| RU_MONTHS.iter().position(|m| *m == month_name))?;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()? + 1, day)
}

/// The path of `section` for `lang`: the comments section is `comments` in English and
/// `kommentarii` in Russian.
pub fn section_path(section: &str, lang: Lang) -> String {
    const EN: &str = "/press_service/spokesman/comments/";
    const RU: &str = "/press_service/spokesman/kommentarii/";
    if section == EN || section == RU {
        if lang == Lang::Ru { RU } else { EN }.to_string()
    } else {
        section.to_string()
    }
}

/// The date-filtered listing URL of one day: `?activeFrom=DD.MM.YYYY&activeTo=DD.MM.YYYY`.
pub fn day_listing_path(lang: Lang, section: &str, day: NaiveDate) -> String {
    let d = day.format("%d.%m.%Y");
    format!(
        "/{lang}{}?activeFrom={d}&activeTo={d}",
        section_path(section, lang)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::new("http://127.0.0.1:8080").unwrap()
    }

    const LISTING_EN: &str = r#"<html><body>
<ul class="announce announce_articles">
  <li class="announce__item">
    <span class="announce__date">18 July 2024</span>
    <span class="announce__time">14:30</span>
    <a class="announce__link announce__link_fix_en" href="/en/press_service/minister_speeches/1950001/">
       Foreign Minister Sergey Lavrov’s remarks   at a news conference, Moscow, July 18, 2024</a>
    <div class="announce__meta-tags">Sergey Lavrov, Russia &amp; India</div>
  </li>
  <li class="announce__item">
    <span class="announce__date">1 March 2010</span><span class="announce__time">09:05</span>
    <a class="announce__link" href="https://mid.ru/en/foreign_policy/news/1950002/">Press release</a>
    <div class="announce__meta-tags"><a href="/t/1">Tag one</a><a href="/t/2">Tag, two</a></div>
  </li>
  <li class="announce__item"><a class="announce__link" href="https://evil.example/en/foreign_policy/news/1950003/">x</a></li>
  <li class="announce__item"><a class="announce__link" href="/en/foreign_policy/news/">no id</a></li>
  <li class="announce__item"><span>no link</span></li>
</ul>
<ul class="sidebar"><li class="announce__item"><a class="announce__link" href="/en/foreign_policy/news/1950009/">sidebar</a></li></ul>
</body></html>"#;

    #[test]
    fn english_listing() {
        let items = parse_listing(LISTING_EN, "/press_service/minister_speeches/", &site());
        assert_eq!(items.len(), 2, "{items:#?}");
        let first = &items[0];
        assert_eq!(first.doc_id, "1950001");
        assert_eq!(
            first.url.as_str(),
            "http://127.0.0.1:8080/en/press_service/minister_speeches/1950001/"
        );
        assert_eq!(
            first.hint.title.as_deref(),
            Some(
                "Foreign Minister Sergey Lavrov’s remarks at a news conference, Moscow, July 18, 2024"
            )
        );
        assert_eq!(
            first.hint.published_at.unwrap().to_rfc3339(),
            "2024-07-18T14:30:00+03:00"
        );
        assert_eq!(first.hint.tags, vec!["Sergey Lavrov", "Russia & India"]);
        assert_eq!(
            first.hint.section.as_deref(),
            Some("/press_service/minister_speeches/")
        );
        let second = &items[1];
        assert_eq!(
            second.url.as_str(),
            "http://127.0.0.1:8080/en/foreign_policy/news/1950002/"
        );
        // Winter 2010: Moscow had UTC+3 (it kept summer time until 2011).
        assert_eq!(
            second.hint.published_at.unwrap().to_rfc3339(),
            "2010-03-01T09:05:00+03:00"
        );
        assert_eq!(second.hint.tags, vec!["Tag one", "Tag, two"]);
    }

    #[test]
    fn russian_listing_and_moscow_offsets() {
        let html = r#"<ul class="announce announce_articles"><li class="announce__item">
            <span class="announce__date">05.05.2023</span><span class="announce__time">15:04</span>
            <a class="announce__link" href="/ru/press_service/spokesman/kommentarii/1950004/">Комментарий</a>
            <div class="announce__meta-tags">С.В.Лавров</div></li></ul>"#;
        let items = parse_listing(html, "/press_service/spokesman/kommentarii/", &site());
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].hint.published_at.unwrap().to_rfc3339(),
            "2023-05-05T15:04:00+03:00"
        );
        assert_eq!(items[0].hint.tags, vec!["С.В.Лавров"]);
        // 2012: Moscow was UTC+4.
        assert_eq!(
            listing_datetime("01.06.2012", "12:00")
                .unwrap()
                .to_rfc3339(),
            "2012-06-01T12:00:00+04:00"
        );
        // 2009 summer time: UTC+4; winter: UTC+3.
        assert_eq!(
            listing_datetime("1 July 2009", "").unwrap().to_rfc3339(),
            "2009-07-01T00:00:00+04:00"
        );
        assert_eq!(
            listing_datetime("5 мая 2023", "bad").unwrap().to_rfc3339(),
            "2023-05-05T00:00:00+03:00"
        );
        assert!(listing_datetime("31.02.2023", "10:00").is_none());
        assert!(listing_datetime("yesterday", "10:00").is_none());
        assert!(listing_datetime("", "").is_none());
    }

    #[test]
    fn garbage_listing_gives_nothing() {
        assert!(parse_listing("", "/x/", &site()).is_empty());
        assert!(
            parse_listing(
                "<ul class=announce><li class=announce__item><a class=announce__link href='::::'>",
                "/x/",
                &site()
            )
            .is_empty()
        );
    }

    #[test]
    fn rss_items() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>MID</title><link>http://127.0.0.1:8080/en/</link>
<item>
  <title>Comment by the Information and Press Department on Q&amp;A &#8220;x&#8221;</title>
  <link>http://127.0.0.1:8080/en/press_service/spokesman/comments/1950005/</link>
  <description><![CDATA[<p>Short</p>]]></description>
  <pubDate>Thu, 18 Jul 2024 11:30:00 +0000</pubDate>
  <category>Maria Zakharova</category>
</item>
<item><title><![CDATA[Briefing <b>now</b>]]></title><link>https://mid.ru/en/foreign_policy/news/1950006/</link><pubDate>garbage</pubDate></item>
<item><title>elsewhere</title><link>https://example.com/en/foreign_policy/news/1950007/</link></item>
<item><title>no id</title><link>http://127.0.0.1:8080/en/</link></item>
</channel></rss>"#;
        let items = parse_rss(xml, &site());
        assert_eq!(items.len(), 2, "{items:#?}");
        assert_eq!(items[0].doc_id, "1950005");
        assert_eq!(
            items[0].hint.title.as_deref(),
            Some("Comment by the Information and Press Department on Q&A “x”")
        );
        assert_eq!(
            items[0].hint.published_at.unwrap().to_rfc3339(),
            "2024-07-18T14:30:00+03:00"
        );
        assert_eq!(items[0].hint.tags, vec!["Maria Zakharova"]);
        assert_eq!(items[0].hint.section.as_deref(), Some("rss"));
        assert_eq!(
            items[1].url.as_str(),
            "http://127.0.0.1:8080/en/foreign_policy/news/1950006/"
        );
        assert_eq!(items[1].hint.title.as_deref(), Some("Briefing <b>now</b>"));
        assert!(items[1].hint.published_at.is_none());
        assert!(parse_rss("not xml at all <item>", &site()).is_empty());
    }

    #[test]
    fn sections_and_day_listings() {
        assert_eq!(
            section_path("/press_service/spokesman/comments/", Lang::Ru),
            "/press_service/spokesman/kommentarii/"
        );
        assert_eq!(
            section_path("/press_service/spokesman/kommentarii/", Lang::En),
            "/press_service/spokesman/comments/"
        );
        assert_eq!(
            section_path("/foreign_policy/news/", Lang::Ru),
            "/foreign_policy/news/"
        );
        let day = NaiveDate::from_ymd_opt(2022, 1, 5).unwrap();
        assert_eq!(
            day_listing_path(Lang::En, "/foreign_policy/news/", day),
            "/en/foreign_policy/news/?activeFrom=05.01.2022&activeTo=05.01.2022"
        );
    }
}
