//! kremlin.ru in the fixture site (per kremlin-ru.md). One server per host: the Russian
//! version (kremlin.ru) and the English one (en.kremlin.ru), each serving the statements that
//! have a page in its language.
//!
//! Paths: `/robots.txt`; listings `/events/president/news` and `/events/president/transcripts`
//! (20 items, newest first, grouped under day headings `h2.events__title` with
//! `<time datetime="YYYY-MM-DD">`, items `div.hentry` with `h3.hentry__title > a`), their pages
//! `…/page/N` and days `…/by-date/DD.MM.YYYY`; Atom feeds `…/feed` and `/events/all/feed`
//! (20 newest); article pages at `paths.{lang}` and `/events/president/{news|transcripts}/{id}`.

use super::*;

/// The listing sections.
pub const SECTIONS: [&str; 2] = ["/events/president/news/", "/events/president/transcripts/"];

const ROBOTS: &str = "User-agent: *\nDisallow: /search\nDisallow: /static/tmp/\n";
/// Items per listing page and per feed.
const PAGE_SIZE: usize = 20;

pub(super) fn route(
    state: &SiteState,
    base_url: &str,
    lang: &str,
    path: &str,
    query: Option<&str>,
) -> Option<Resource> {
    let _ = query;
    if path == "/robots.txt" {
        return Some(Resource::generated(
            "text/plain; charset=UTF-8",
            ROBOTS.to_string(),
            DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(19_000),
        ));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed == "/events/all/feed" {
        return Some(feed(state, base_url, lang, None));
    }
    for section in SECTIONS {
        let s = section.trim_end_matches('/');
        if trimmed == s {
            return Some(listing(state, lang, section, None, 1));
        }
        if trimmed == format!("{s}/feed") {
            return Some(feed(state, base_url, lang, Some(section)));
        }
        if let Some(day) = trimmed.strip_prefix(&format!("{s}/by-date/")) {
            let day = NaiveDate::parse_from_str(day, "%d.%m.%Y").ok()?;
            return Some(listing(state, lang, section, Some(day), 1));
        }
        if let Some(n) = trimmed.strip_prefix(&format!("{s}/page/")) {
            let n: usize = n.parse().ok().filter(|n| *n >= 1)?;
            return Some(listing(state, lang, section, None, n));
        }
    }
    // An item: its path, or the id under either section.
    let id = trimmed.rsplit('/').next()?;
    let statement = state.statements.iter().find(|s| {
        s.visible
            && s.pages.contains_key(lang)
            && (s.meta.paths.get(lang).map(String::as_str) == Some(trimmed)
                || (s.meta.doc_id == id && SECTIONS.iter().any(|x| trimmed == format!("{x}{id}"))))
    })?;
    statement.pages.get(lang).map(Resource::page)
}

/// The statements of `section` (all sections: `None`) with a page in `lang`, newest first.
fn listed<'a>(state: &'a SiteState, lang: &str, section: Option<&str>) -> Vec<&'a Statement> {
    state
        .statements
        .iter()
        .filter(|s| s.visible && s.pages.contains_key(lang))
        .filter(|s| section.is_none_or(|x| s.meta.sections.iter().any(|m| m == x)))
        .collect()
}

fn day_text(lang: &str, day: NaiveDate) -> String {
    if lang == "ru" {
        format!(
            "{} {} {} года",
            day.day(),
            shared::months::RU_GENITIVE[day.month0() as usize],
            day.year()
        )
    } else {
        day.format("%B %-d, %Y").to_string()
    }
}

fn listing(
    state: &SiteState,
    lang: &str,
    section: &str,
    day: Option<NaiveDate>,
    page_no: usize,
) -> Resource {
    let ru = lang == "ru";
    let title = match (section, ru) {
        ("/events/president/news/", true) => "Новости",
        ("/events/president/news/", false) => "News",
        (_, true) => "Стенограммы",
        (_, false) => "Transcripts",
    };
    let items: Vec<&Statement> = listed(state, lang, Some(section))
        .into_iter()
        .filter(|s| day.is_none_or(|d| s.published.date() == d))
        .skip((page_no - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let mut html = head(lang, title);
    html.push_str("<div class=\"events\">\n<div class=\"events__wrapper\">\n");
    let mut current: Option<NaiveDate> = None;
    for s in items {
        let date = s.published.date();
        if current != Some(date) {
            current = Some(date);
            html.push_str(&format!(
                "<h2 class=\"events__title\"><time datetime=\"{}\">{}</time></h2>\n",
                date.format("%Y-%m-%d"),
                day_text(lang, date)
            ));
        }
        let path = s.meta.canonical_path(lang);
        let item_title = s.meta.titles.get(lang).map(String::as_str).unwrap_or("");
        html.push_str(&format!(
            "<div class=\"hentry h-entry hentry_event\" data-id=\"{id}\">\n  <h3 class=\"hentry__title\"><a href=\"{path}\" rel=\"bookmark\"><span class=\"entry-title p-name\">{t}</span></a></h3>\n  <div class=\"hentry__meta\"><span class=\"hentry__time\">{time}</span></div>\n</div>\n",
            id = s.meta.doc_id,
            t = escape(item_title),
            time = s.published.format("%H:%M"),
        ));
    }
    html.push_str(&format!(
        "</div>\n<a class=\"button button_green more\" href=\"{}page/{}\">{}</a>\n</div>\n",
        section.trim_end_matches('/').to_string() + "/",
        page_no + 1,
        if ru {
            "Показать ещё"
        } else {
            "Show more"
        }
    ));
    html.push_str(FOOT);
    Resource::generated("text/html; charset=UTF-8", html, state.changed_at)
}

fn head(lang: &str, title: &str) -> String {
    let (site, switch) = if lang == "ru" {
        (
            "Президент России",
            "<a href=\"http://en.kremlin.ru/\">English</a>",
        )
    } else {
        (
            "President of Russia",
            "<a href=\"http://kremlin.ru/\">Русский</a>",
        )
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} • {site}</title>\n</head>\n<body>\n<header class=\"header\"><nav class=\"nav\"><a href=\"/events/president/news\">{}</a></nav><div class=\"search\"><input type=\"search\"></div><div class=\"lang\">{switch}</div></header>\n<main class=\"main\">\n<h1 class=\"title\">{}</h1>\n",
        escape(title),
        if lang == "ru" {
            "Новости"
        } else {
            "News"
        },
        escape(title)
    )
}

const FOOT: &str = "</main>\n<footer class=\"footer\">Kremlin, Moscow · Creative Commons Attribution 4.0</footer>\n</body>\n</html>\n";

fn feed(state: &SiteState, base_url: &str, lang: &str, section: Option<&str>) -> Resource {
    let moscow = chrono_tz::Europe::Moscow;
    let self_path = match section {
        Some(s) => format!("{}/feed", s.trim_end_matches('/')),
        None => "/events/all/feed".to_string(),
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n<title>{}</title>\n<id>{base_url}{self_path}</id>\n<link rel=\"self\" href=\"{base_url}{self_path}\"/>\n<updated>{}</updated>\n",
        if lang == "ru" {
            "Президент России"
        } else {
            "President of Russia"
        },
        state.changed_at.with_timezone(&moscow).to_rfc3339()
    );
    let entries = listed(state, lang, section)
        .into_iter()
        .filter(|s| s.meta.in_feed)
        .take(PAGE_SIZE);
    for s in entries {
        let link = format!("{base_url}{}", s.meta.canonical_path(lang));
        let title = s.meta.titles.get(lang).map(String::as_str).unwrap_or("");
        let at = s.published_utc.with_timezone(&moscow).to_rfc3339();
        let summary = s
            .pages
            .get(lang)
            .map(|p| p.description.clone())
            .unwrap_or_default();
        xml.push_str(&format!(
            "<entry>\n<title>{}</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"{link}\"/>\n<id>{link}</id>\n<published>{at}</published>\n<updated>{at}</updated>\n<summary>{}</summary>\n</entry>\n",
            escape(title),
            escape(&summary),
        ));
    }
    xml.push_str("</feed>\n");
    Resource::generated("application/atom+xml; charset=utf-8", xml, state.changed_at)
}
