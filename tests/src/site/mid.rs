//! mid.ru in the fixture site: robots.txt, `/{lang}/rss.php`, listings `/{lang}{section}` and
//! article pages `/{lang}{section}{id}/`.

use super::*;

pub(super) fn route(
    state: &SiteState,
    base_url: &str,
    path: &str,
    query: Option<&str>,
) -> Option<Resource> {
    if path == "/robots.txt" {
        return Some(Resource::generated(
            "text/plain; charset=UTF-8",
            ROBOTS.to_string(),
            DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(19_000),
        ));
    }
    let rest = path.strip_prefix('/')?;
    let (lang, rest) = rest.split_once('/')?;
    if !LANGS.contains(&lang) {
        return None;
    }
    let rest = format!("/{rest}");
    if rest == "/rss.php" {
        return Some(feed(state, base_url, lang));
    }
    let with_slash = if rest.ends_with('/') {
        rest
    } else {
        format!("{rest}/")
    };
    if is_listing_section(state, &with_slash) {
        return Some(listing(state, lang, &with_slash, query));
    }
    // Article: {section}{id}/
    let trimmed = with_slash.trim_end_matches('/');
    let (section, id) = trimmed.rsplit_once('/')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let section = format!("{section}/");
    let statement = state
        .statements
        .iter()
        .find(|s| s.visible && s.meta.doc_id == id && s.meta.sections.contains(&section))?;
    let page = statement.pages.get(lang)?;
    Some(Resource::page(page))
}

fn is_listing_section(state: &SiteState, section: &str) -> bool {
    SECTIONS.contains(&section)
        || state
            .statements
            .iter()
            .any(|s| s.meta.sections.iter().any(|x| x == section))
}

pub(super) fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn parse_ru_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%d.%m.%Y").ok()
}

/// Listing date: `05.05.2023` (Russian) or `5 May 2023` (other languages).
pub(super) fn listing_date(lang: &str, t: NaiveDateTime) -> String {
    if lang == "ru" {
        t.format("%d.%m.%Y").to_string()
    } else {
        let month = shared::months::EN[t.month0() as usize];
        format!("{} {month} {}", t.day(), t.year())
    }
}

fn listing(state: &SiteState, lang: &str, section: &str, query: Option<&str>) -> Resource {
    let from = query_param(query, "activeFrom").and_then(parse_ru_date);
    let to = query_param(query, "activeTo").and_then(parse_ru_date);
    let page_no: usize = query_param(query, "PAGEN_1")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let matching: Vec<&Statement> = state
        .statements
        .iter()
        .filter(|s| s.visible && s.pages.contains_key(lang))
        .filter(|s| s.meta.sections.iter().any(|x| x == section))
        .filter(|s| from.is_none_or(|d| s.published.date() >= d))
        .filter(|s| to.is_none_or(|d| s.published.date() <= d))
        .collect();
    let pages = matching.len().div_ceil(LISTING_PAGE_SIZE).max(1);
    let items = matching
        .iter()
        .skip((page_no - 1) * LISTING_PAGE_SIZE)
        .take(LISTING_PAGE_SIZE);
    let link_class = if lang == "en" {
        "announce__link announce__link_fix_en"
    } else {
        "announce__link"
    };
    let mut html = String::new();
    html.push_str(&page_head(lang, section_title(lang, section)));
    html.push_str(&format!(
        "<main class=\"main\">\n<div class=\"page-body\">\n<h1 class=\"page-title\">{}</h1>\n<ul class=\"announce announce_articles\">\n",
        escape(section_title(lang, section))
    ));
    for s in items {
        let title = s.meta.titles.get(lang).map(String::as_str).unwrap_or("");
        let tags = s
            .meta
            .tags
            .get(lang)
            .map(|t| t.join(", "))
            .unwrap_or_default();
        html.push_str(&format!(
            "  <li class=\"announce__item\">\n    <div class=\"announce__date-wrap\"><span class=\"announce__date\">{date}</span> <span class=\"announce__time\">{time}</span></div>\n    <a class=\"{link_class}\" href=\"/{lang}{section}{id}/\">{title}</a>\n    <div class=\"announce__meta-tags\">{tags}</div>\n  </li>\n",
            date = listing_date(lang, s.published),
            time = s.published.format("%H:%M"),
            id = s.meta.doc_id,
            title = escape(title),
            tags = escape(&tags),
        ));
    }
    html.push_str("</ul>\n");
    if pages > 1 {
        html.push_str("<div class=\"pagination\">");
        for p in 1..=pages {
            html.push_str(&format!(
                "<a class=\"pagination__item\" href=\"/{lang}{section}?PAGEN_1={p}\">{p}</a> "
            ));
        }
        html.push_str("</div>\n");
    }
    html.push_str("</div>\n</main>\n");
    html.push_str(PAGE_FOOT);
    Resource::generated("text/html; charset=UTF-8", html, state.changed_at)
}

fn section_title(lang: &str, section: &str) -> &'static str {
    let ru = lang == "ru";
    match section {
        "/press_service/minister_speeches/" if ru => "Выступления Министра",
        "/press_service/minister_speeches/" => "Minister's speeches",
        "/press_service/deputy_ministers_speeches/" if ru => "Выступления заместителей Министра",
        "/press_service/deputy_ministers_speeches/" => "Deputy ministers' speeches",
        "/press_service/spokesman/briefings/" if ru => "Брифинги официального представителя",
        "/press_service/spokesman/briefings/" => "Briefings",
        "/press_service/spokesman/answers/" if ru => "Ответы на вопросы СМИ",
        "/press_service/spokesman/answers/" => "Answers to media questions",
        "/press_service/spokesman/official_statement/" if ru => "Официальные заявления",
        "/press_service/spokesman/official_statement/" => "Official statements",
        "/foreign_policy/news/" if ru => "Новости",
        "/foreign_policy/news/" => "News",
        _ if ru => "Комментарии",
        _ => "Comments",
    }
}

pub(super) fn page_head(lang: &str, title: &str) -> String {
    let (search, langs) = if lang == "ru" {
        ("Расширенный поиск", "EN RU DE FR ES PT")
    } else {
        ("Advanced settings", "EN RU DE FR ES PT")
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} - Министерство иностранных дел Российской Федерации</title>\n</head>\n<body>\n<header class=\"header\"><nav class=\"menu\"><a href=\"/{lang}/\">MID</a></nav><div class=\"lang-switcher\">{langs}</div><div class=\"search\">{search}</div></header>\n",
        escape(title)
    )
}

pub(super) const PAGE_FOOT: &str = "<footer class=\"footer\">© Министерство иностранных дел Российской Федерации</footer>\n</body>\n</html>\n";

fn feed(state: &SiteState, base_url: &str, lang: &str) -> Resource {
    let moscow = chrono_tz::Europe::Moscow;
    let channel = if lang == "ru" {
        "Министерство иностранных дел Российской Федерации"
    } else {
        "The Ministry of Foreign Affairs of the Russian Federation"
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n<channel>\n<title>{channel}</title>\n<link>{base_url}/{lang}/</link>\n<description>{channel}</description>\n<language>{lang}</language>\n<lastBuildDate>{}</lastBuildDate>\n",
        state.changed_at.with_timezone(&moscow).to_rfc2822()
    );
    let items = state
        .statements
        .iter()
        .filter(|s| s.visible && s.meta.in_feed)
        .filter_map(|s| s.pages.get(lang).map(|p| (s, p)))
        .take(FEED_SIZE);
    for (s, page) in items {
        let link = format!("{base_url}{}", s.meta.canonical_path(lang));
        let title = s.meta.titles.get(lang).map(String::as_str).unwrap_or("");
        xml.push_str(&format!(
            "<item>\n<title>{}</title>\n<link>{link}</link>\n<description>{}</description>\n<pubDate>{}</pubDate>\n<guid>{link}</guid>\n</item>\n",
            escape(title),
            escape(&page.description),
            s.published_utc.with_timezone(&moscow).to_rfc2822(),
        ));
    }
    xml.push_str("</channel>\n</rss>\n");
    Resource::generated("application/rss+xml; charset=UTF-8", xml, state.changed_at)
}
