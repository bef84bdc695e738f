//! Listing pages and feeds (RSS 2.0, Atom) → statements to fetch, as the source's profile
//! describes them. Pure logic, no I/O.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use shared::messages::{Lang, ListingHint};
use url::Url;

use crate::source::Source;

/// A statement as a listing or the feed shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingItem {
    /// The site's document id.
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

static A: LazyLock<Selector> = LazyLock::new(|| selector("a"));

/// Parses the listing page at `page` of `section` (its path in `lang`). Items without a
/// usable link on the site, or whose link is not a statement's, are skipped.
pub fn parse_listing(
    html: &str,
    page: &Url,
    section: &str,
    lang: Lang,
    source: &Source,
) -> Vec<ListingItem> {
    let doc = Html::parse_document(html);
    let markup = &source.markup;
    // Items (with the date of the day heading before them, where the profile has one).
    let mut found: Vec<(ElementRef<'_>, Option<String>)> = Vec::new();
    if let (Some(both), Some(heading)) = (&markup.items_and_headings, &markup.day_heading) {
        let mut day: Option<String> = None;
        for el in doc.select(both) {
            if heading.matches(&el) {
                day = date_of(el, None, markup.date_attr.as_deref());
            } else {
                found.push((el, day.clone()));
            }
        }
    } else {
        for items in &markup.items {
            found = doc.select(items).map(|el| (el, None)).collect();
            if !found.is_empty() {
                break;
            }
        }
    }
    found
        .into_iter()
        .filter_map(|(item, day)| {
            let link = item.select(&markup.link).next()?;
            let url = source
                .site
                .resolve_link(lang, page, link.value().attr("href")?)?;
            let doc_id = source.doc_id_of(url.path())?;
            let title_el = match &markup.title {
                Some(sel) => item.select(sel).next().unwrap_or(link),
                None => link,
            };
            let title = collapse(&title_el.text().collect::<String>());
            let date = markup
                .date
                .as_ref()
                .and_then(|sel| date_of(item, Some(sel), markup.date_attr.as_deref()))
                .or(day);
            let time = markup
                .time
                .as_ref()
                .and_then(|sel| item.select(sel).next())
                .map(|e| e.text().collect::<String>());
            let published_at = date
                .as_deref()
                .and_then(|d| listing_datetime(d, time.as_deref().unwrap_or(""), &source.tz));
            let tags = markup
                .tags
                .as_ref()
                .and_then(|sel| item.select(sel).next())
                .map(tags_of)
                .unwrap_or_default();
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

/// The date text of `el`'s `selector` element (or `el` itself): its `attr`, else its text.
fn date_of(el: ElementRef<'_>, selector: Option<&Selector>, attr: Option<&str>) -> Option<String> {
    let target = match selector {
        Some(sel) => el.select(sel).next()?,
        None => el,
    };
    let from_attr = attr.and_then(|a| {
        target.value().attr(a).map(str::to_string).or_else(|| {
            target
                .descendants()
                .filter_map(ElementRef::wrap)
                .find_map(|d| d.value().attr(a).map(str::to_string))
        })
    });
    from_attr
        .or_else(|| Some(collapse(&target.text().collect::<String>())))
        .filter(|t| !t.is_empty())
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

static ATOM_ENTRY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<entry(?:\s[^>]*)?>(.*?)</entry\s*>"));
static ATOM_LINK: LazyLock<Regex> = LazyLock::new(|| regex(r"(?s)<link\b([^>]*)/?>"));
static ATOM_HREF: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')"#));
static ATOM_REL: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"\brel\s*=\s*(?:"([^"]*)"|'([^']*)')"#));
static ATOM_PUBLISHED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<published(?:\s[^>]*)?>(.*?)</published\s*>"));
static ATOM_UPDATED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?s)<updated(?:\s[^>]*)?>(.*?)</updated\s*>"));
static ATOM_TERM: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"<category\b[^>]*\bterm\s*=\s*(?:"([^"]*)"|'([^']*)')"#));

/// Parses the feed at `page` of `lang` (RSS 2.0 `<item>`s, else Atom `<entry>`s). Items
/// whose link is not a statement on the site are skipped. Their section is `rss`.
pub fn parse_feed(xml: &str, page: &Url, lang: Lang, source: &Source) -> Vec<ListingItem> {
    let rss: Vec<ListingItem> = RSS_ITEM
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
            let published_at = field(&RSS_DATE).and_then(|d| rss_datetime(&d, &source.tz));
            let tags = RSS_CATEGORY
                .captures_iter(body)
                .filter_map(|c| c.get(1).map(|m| collapse(&xml_text(m.as_str()))))
                .collect();
            feed_item(
                source,
                lang,
                page,
                &link,
                field(&RSS_TITLE),
                published_at,
                tags,
            )
        })
        .collect();
    if !rss.is_empty() || RSS_ITEM.is_match(xml) {
        return rss;
    }
    ATOM_ENTRY
        .captures_iter(xml)
        .filter_map(|entry| {
            let body = entry.get(1)?.as_str();
            let field = |re: &Regex| {
                re.captures(body)
                    .and_then(|c| c.get(1))
                    .map(|m| xml_text(m.as_str()))
            };
            let attr = |re: &Regex, attrs: &str| {
                re.captures(attrs)
                    .and_then(|c| c.get(1).or_else(|| c.get(2)))
                    .map(|m| xml_text(m.as_str()))
            };
            // The entry's page: `rel="alternate"` or no rel.
            let link = ATOM_LINK
                .captures_iter(body)
                .filter_map(|c| c.get(1).map(|m| m.as_str()))
                .filter(|attrs| attr(&ATOM_REL, attrs).is_none_or(|r| r == "alternate"))
                .find_map(|attrs| attr(&ATOM_HREF, attrs))?;
            let published_at = field(&ATOM_PUBLISHED)
                .or_else(|| field(&ATOM_UPDATED))
                .and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok())
                .map(|d| d.with_timezone(&source.tz).fixed_offset());
            let tags = ATOM_TERM
                .captures_iter(body)
                .filter_map(|c| c.get(1).or_else(|| c.get(2)))
                .map(|m| collapse(&xml_text(m.as_str())))
                .collect();
            feed_item(
                source,
                lang,
                page,
                &link,
                field(&RSS_TITLE),
                published_at,
                tags,
            )
        })
        .collect()
}

fn feed_item(
    source: &Source,
    lang: Lang,
    page: &Url,
    link: &str,
    title: Option<String>,
    published_at: Option<DateTime<FixedOffset>>,
    tags: Vec<String>,
) -> Option<ListingItem> {
    let url = source.site.resolve_link(lang, page, link)?;
    let doc_id = source.doc_id_of(url.path())?;
    Some(ListingItem {
        doc_id,
        url,
        hint: ListingHint {
            section: Some("rss".into()),
            title: title.map(|t| collapse(&t)).filter(|t| !t.is_empty()),
            published_at,
            tags: tags
                .into_iter()
                .filter(|t: &String| !t.is_empty())
                .collect(),
        },
    })
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

/// An RFC 2822 date (RSS `pubDate`) in the site's time zone.
pub fn rss_datetime(text: &str, tz: &chrono_tz::Tz) -> Option<DateTime<FixedOffset>> {
    let parsed = DateTime::parse_from_rfc2822(text.trim()).ok()?;
    Some(parsed.with_timezone(tz).fixed_offset())
}

static TIME_OF_DAY: LazyLock<Regex> = LazyLock::new(|| regex(r"\b([0-2]?[0-9]):([0-5][0-9])\b"));

/// A listing's date (`05.05.2023`, `5 May 2023`, `5 мая 2023 года`, `May 5, 2023`,
/// `2023-05-05`, a `datetime` attribute) and time (`15:04`, may be empty) as a date-time in
/// the site's time zone, with the offset it had then (tz database).
pub fn listing_datetime(
    date: &str,
    time: &str,
    tz: &chrono_tz::Tz,
) -> Option<DateTime<FixedOffset>> {
    let date_text = collapse(date);
    let date = parse_listing_date(&date_text)?;
    let time = TIME_OF_DAY
        .captures(time)
        .or_else(|| TIME_OF_DAY.captures(date_text.get(10..).unwrap_or("")))
        .and_then(|c| NaiveTime::from_hms_opt(c[1].parse().ok()?, c[2].parse().ok()?, 0))
        .unwrap_or(NaiveTime::MIN);
    local(NaiveDateTime::new(date, time), tz)
}

/// A local date-time of `tz` with its offset.
pub fn local(at: NaiveDateTime, tz: &chrono_tz::Tz) -> Option<DateTime<FixedOffset>> {
    tz.from_local_datetime(&at)
        .earliest()
        .map(|dt| dt.fixed_offset())
}

fn parse_listing_date(text: &str) -> Option<NaiveDate> {
    // 2023-05-05, 2023/05/05, 05.05.2023 (possibly followed by a time).
    if let Some(head) = text.get(..10) {
        for format in ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y"] {
            if let Ok(date) = NaiveDate::parse_from_str(head, format) {
                return Some(date);
            }
        }
    }
    let words: Vec<String> = text
        .split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let month_of = |name: &str| shared::months::number(name.trim_end_matches('.'));
    let year_of = |w: &str| w.trim_end_matches(['г', '.']).parse::<i32>().ok();
    match words.as_slice() {
        // 5 May 2023, 5 мая 2023 (года)
        [day, month, year, ..] if day.parse::<u32>().is_ok() => {
            NaiveDate::from_ymd_opt(year_of(year)?, month_of(month)?, day.parse().ok()?)
        }
        // May 5, 2023
        [month, day, year, ..] => {
            NaiveDate::from_ymd_opt(year_of(year)?, month_of(month)?, day.parse().ok()?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, base: &str) -> Source {
        Source::load(name, None, Some(base), None, None).unwrap()
    }

    fn mid() -> Source {
        source("mid.ru", "http://127.0.0.1:8080")
    }

    fn at(url: &str) -> Url {
        Url::parse(url).unwrap()
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
        let page = at("http://127.0.0.1:8080/en/press_service/minister_speeches/");
        let items = parse_listing(
            LISTING_EN,
            &page,
            "/press_service/minister_speeches/",
            Lang::En,
            &mid(),
        );
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
        let page = at("http://127.0.0.1:8080/ru/press_service/spokesman/kommentarii/");
        let items = parse_listing(html, &page, "/x/", Lang::Ru, &mid());
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].hint.published_at.unwrap().to_rfc3339(),
            "2023-05-05T15:04:00+03:00"
        );
        assert_eq!(items[0].hint.tags, vec!["С.В.Лавров"]);
        let moscow = chrono_tz::Europe::Moscow;
        // 2012: Moscow was UTC+4.
        assert_eq!(
            listing_datetime("01.06.2012", "12:00", &moscow)
                .unwrap()
                .to_rfc3339(),
            "2012-06-01T12:00:00+04:00"
        );
        // 2009 summer time: UTC+4; winter: UTC+3.
        assert_eq!(
            listing_datetime("1 July 2009", "", &moscow)
                .unwrap()
                .to_rfc3339(),
            "2009-07-01T00:00:00+04:00"
        );
        assert_eq!(
            listing_datetime("5 мая 2023 года", "bad", &moscow)
                .unwrap()
                .to_rfc3339(),
            "2023-05-05T00:00:00+03:00"
        );
        assert!(listing_datetime("31.02.2023", "10:00", &moscow).is_none());
        assert!(listing_datetime("yesterday", "10:00", &moscow).is_none());
        assert!(listing_datetime("", "", &moscow).is_none());
        // Other formats and zones.
        let beijing = chrono_tz::Asia::Shanghai;
        assert_eq!(
            listing_datetime("2025-03-12", "", &beijing)
                .unwrap()
                .to_rfc3339(),
            "2025-03-12T00:00:00+08:00"
        );
        assert_eq!(
            listing_datetime("2025/11/09 10:05", "", &moscow)
                .unwrap()
                .to_rfc3339(),
            "2025-11-09T10:05:00+03:00"
        );
        assert_eq!(
            listing_datetime("March 18, 2025", "16:05", &moscow)
                .unwrap()
                .to_rfc3339(),
            "2025-03-18T16:05:00+03:00"
        );
    }

    #[test]
    fn garbage_listing_gives_nothing() {
        let page = at("http://127.0.0.1:8080/en/x/");
        assert!(parse_listing("", &page, "/x/", Lang::En, &mid()).is_empty());
        assert!(
            parse_listing(
                "<ul class=announce><li class=announce__item><a class=announce__link href='::::'>",
                &page,
                "/x/",
                Lang::En,
                &mid()
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
        let page = at("http://127.0.0.1:8080/en/rss.php");
        let items = parse_feed(xml, &page, Lang::En, &mid());
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
        assert!(parse_feed("not xml at all <item>", &page, Lang::En, &mid()).is_empty());
    }

    #[test]
    fn kremlin_atom_feed_and_day_headed_listing() {
        let kremlin = source("kremlin.ru", "ru=http://127.0.0.1:1,en=http://127.0.0.1:2");
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>President of Russia</title>
<link rel="self" href="http://en.kremlin.ru/events/president/news/feed"/>
<entry><title>Meeting with &amp; talks</title>
<link rel="alternate" type="text/html" href="http://en.kremlin.ru/events/president/news/76455"/>
<id>http://en.kremlin.ru/events/president/news/76455</id>
<published>2025-11-28T12:00:00+03:00</published><category term="Foreign policy"/></entry>
<entry><title>Elsewhere</title><link href="http://evil.example/events/president/news/1"/></entry>
</feed>"#;
        let page = at("http://127.0.0.1:2/events/president/news/feed");
        let items = parse_feed(atom, &page, Lang::En, &kremlin);
        assert_eq!(items.len(), 1, "{items:#?}");
        assert_eq!(items[0].doc_id, "76455");
        assert_eq!(
            items[0].url.as_str(),
            "http://127.0.0.1:2/events/president/news/76455"
        );
        assert_eq!(items[0].hint.title.as_deref(), Some("Meeting with & talks"));
        assert_eq!(
            items[0].hint.published_at.unwrap().to_rfc3339(),
            "2025-11-28T12:00:00+03:00"
        );
        assert_eq!(items[0].hint.tags, vec!["Foreign policy"]);
        let html = r#"<div class="events">
<h2 class="events__title"><time datetime="2025-11-28">28 ноября 2025 года</time></h2>
<div class="hentry h-entry hentry_event"><h3 class="hentry__title"><a href="/events/president/news/76455">Встреча</a></h3></div>
<div class="hentry h-entry hentry_event"><h3 class="hentry__title"><a href="/events/president/transcripts/press_conferences/76440">Пресс-конференция</a></h3></div>
<h2 class="events__title"><time datetime="2025-11-27">27 ноября 2025 года</time></h2>
<div class="hentry h-entry hentry_event"><h3 class="hentry__title"><a href="/events/president/news/76431/photos">Фото</a></h3></div>
<div class="hentry h-entry hentry_event"><h3 class="hentry__title"><a href="http://kremlin.ru/events/president/news/76420">Абсолютная</a></h3></div>
</div>"#;
        let page = at("http://127.0.0.1:1/events/president/news");
        let items = parse_listing(html, &page, "/events/president/news", Lang::Ru, &kremlin);
        let got: Vec<(&str, &str, String)> = items
            .iter()
            .map(|i| {
                (
                    i.doc_id.as_str(),
                    i.url.as_str(),
                    i.hint.published_at.unwrap().to_rfc3339(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "76455",
                    "http://127.0.0.1:1/events/president/news/76455",
                    "2025-11-28T00:00:00+03:00".to_string()
                ),
                (
                    "76440",
                    "http://127.0.0.1:1/events/president/transcripts/press_conferences/76440",
                    "2025-11-28T00:00:00+03:00".to_string()
                ),
                (
                    "76420",
                    "http://127.0.0.1:1/events/president/news/76420",
                    "2025-11-27T00:00:00+03:00".to_string()
                ),
            ]
        );
    }

    #[test]
    fn fmprc_listing_with_relative_links() {
        let fmprc = source("fmprc.gov.cn", "http://127.0.0.1:3");
        let html = r#"<ul class="nav"><li><a href="/eng/wjb/">The Ministry</a></li></ul>
<div class="newsBd"><ul class="list1">
<li><a href="./202503/t20250312_11584410.html" target="_blank">Foreign Ministry Spokesperson Mao Ning’s Regular Press Conference on March 12, 2025</a><span>2025-03-12</span></li>
<li><a href="/eng/xw/fyrbt/fyrbt/202503/t20250329_11586003.html">Remarks</a><span>2025-03-29</span></li>
</ul></div>"#;
        let page = at("http://127.0.0.1:3/eng/xw/fyrbt/lxjzh/");
        let items = parse_listing(html, &page, "/xw/fyrbt/lxjzh/", Lang::En, &fmprc);
        assert_eq!(items.len(), 2, "{items:#?}");
        assert_eq!(items[0].doc_id, "11584410");
        assert_eq!(
            items[0].url.as_str(),
            "http://127.0.0.1:3/eng/xw/fyrbt/lxjzh/202503/t20250312_11584410.html"
        );
        assert_eq!(
            items[0].hint.published_at.unwrap().to_rfc3339(),
            "2025-03-12T00:00:00+08:00"
        );
        assert_eq!(items[1].doc_id, "11586003");
    }
}
