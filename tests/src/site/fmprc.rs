//! fmprc.gov.cn in the fixture site (per fmprc-gov-cn.md), English.
//!
//! Paths: `/robots.txt` redirects to the home page (no rules); `/eng/` (home); listings
//! `/eng/xw/fyrbt/lxjzh/` (conferences) and `/eng/xw/fyrbt/fyrbt/` (remarks), also as
//! `index.html`, pages `index_N.html` (20 items, newest first by the listed date; `var countPage
//! = N`), each entry a relative link whose text is the title, then the date `YYYY-MM-DD`;
//! article pages at `paths.en`. An unknown item redirects to the generic "system" page
//! (`/web/system/index_17321.shtml`, answered with 200: a soft 404). No feed.

use super::*;

/// The listing sections.
pub const SECTIONS: [&str; 2] = ["/eng/xw/fyrbt/lxjzh/", "/eng/xw/fyrbt/fyrbt/"];
/// Where an unknown item is redirected.
pub const SYSTEM_PAGE: &str = "/web/system/index_17321.shtml";
/// Items per listing page.
const PAGE_SIZE: usize = 20;

pub(super) fn route(state: &SiteState, path: &str, query: Option<&str>) -> Option<Resource> {
    let _ = query;
    if path == "/robots.txt" {
        return Some(Resource::redirect("/eng/"));
    }
    if path == "/eng/" || path == "/eng/index.html" {
        return Some(home(state));
    }
    if path == SYSTEM_PAGE {
        let body = state.pages.get("system.html").cloned().unwrap_or_else(|| {
            Bytes::from_static(b"<html><head><title>Ministry of Foreign Affairs of the People's Republic of China</title></head><body>System</body></html>")
        });
        let mut r =
            Resource::generated("text/html; charset=UTF-8", String::new(), state.changed_at);
        r.etag = etag_of(&body);
        r.body = body;
        return Some(r);
    }
    for section in SECTIONS {
        let Some(rest) = path.strip_prefix(section) else {
            continue;
        };
        if rest.is_empty() || rest == "index.html" {
            return Some(listing(state, section, 1));
        }
        if let Some(n) = rest
            .strip_prefix("index_")
            .and_then(|r| r.strip_suffix(".html"))
        {
            let n: usize = n.parse().ok()?;
            return Some(listing(state, section, n + 1));
        }
    }
    let statement = state
        .statements
        .iter()
        .find(|s| s.visible && s.meta.paths.get("en").map(String::as_str) == Some(path));
    match statement {
        Some(s) => s.pages.get("en").map(Resource::page),
        // An item URL that is not (or no longer) there: the generic page, with 200.
        None if path.starts_with("/eng/") && path.contains("/t") && path.ends_with(".html") => {
            Some(Resource::redirect(SYSTEM_PAGE))
        }
        None => None,
    }
}

/// The date a listing shows: `listed`, else the day of `published`.
fn listed_date(s: &Statement) -> String {
    s.meta
        .listed
        .clone()
        .unwrap_or_else(|| s.published.format("%Y-%m-%d").to_string())
}

fn listing(state: &SiteState, section: &str, page_no: usize) -> Resource {
    let mut items: Vec<&Statement> = state
        .statements
        .iter()
        .filter(|s| s.visible && s.pages.contains_key("en"))
        .filter(|s| s.meta.sections.iter().any(|x| x == section))
        .collect();
    items.sort_by_key(|s| std::cmp::Reverse((listed_date(s), s.published)));
    let pages = items.len().div_ceil(PAGE_SIZE).max(1);
    let title = if section.ends_with("lxjzh/") {
        "Regular Press Conferences"
    } else {
        "Spokesperson's Remarks"
    };
    let mut html = head(title);
    html.push_str(&format!(
        "<div class=\"list_box\">\n<h2 class=\"list_title\">{title}</h2>\n<div class=\"newsBd\">\n<ul class=\"list1\">\n"
    ));
    for s in items
        .into_iter()
        .skip((page_no - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
    {
        let path = s.meta.canonical_path("en");
        let href = match path.strip_prefix(section) {
            Some(rest) => format!("./{rest}"),
            None => path.clone(),
        };
        let t = s.meta.titles.get("en").map(String::as_str).unwrap_or("");
        html.push_str(&format!(
            "<li><a href=\"{href}\" target=\"_blank\">{}</a><span>{}</span></li>\n",
            escape(t),
            listed_date(s)
        ));
    }
    html.push_str(&format!(
        "</ul>\n</div>\n<div class=\"page\" id=\"pages\"></div>\n<script>var countPage = {pages};var currentPage = {};</script>\n</div>\n",
        page_no - 1
    ));
    html.push_str(FOOT);
    Resource::generated("text/html; charset=UTF-8", html, state.changed_at)
}

fn home(state: &SiteState) -> Resource {
    let mut html = head("Home");
    for section in SECTIONS {
        html.push_str(&format!("<p><a href=\"{section}\">{section}</a></p>\n"));
    }
    html.push_str(FOOT);
    Resource::generated("text/html; charset=UTF-8", html, state.changed_at)
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n<title>{}_Ministry of Foreign Affairs of the People's Republic of China</title>\n</head>\n<body>\n<div class=\"header\"><div class=\"top_nav\">IPC · Visas · English · 简体中文 · Français · Русский · Español · عربي</div>\n<ul class=\"nav\"><li><a href=\"/eng/wjb/\">The Ministry</a></li><li><a href=\"/eng/xw/\">News</a></li><li><a href=\"/eng/zy/\">Resources</a></li></ul></div>\n<div class=\"main\">\n<div class=\"position\">Home &gt; News &gt; {}</div>\n",
        escape(title),
        escape(title)
    )
}

const FOOT: &str = "</div>\n<div class=\"footer\">Copyright © Ministry of Foreign Affairs of the People's Republic of China · No. 2, Chaoyangmen Nandajie, Chaoyang District, Beijing, 100701</div>\n</body>\n</html>\n";
