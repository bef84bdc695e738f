//! The benchmark's corpora: the fixture statement pages as they are, and real-size pages
//! made from them (20–40 KB, as mid.ru serves them): the same statement inside the site's
//! full chrome — a mega-menu, sidebars listing other statements' titles, a site-map footer.

use std::path::{Path, PathBuf};

/// One page as the fetcher would hand it over.
pub struct Page {
    /// The raw bytes.
    pub bytes: Vec<u8>,
    /// Its Content-Type header.
    pub content_type: String,
    /// The URL it was fetched from.
    pub fetch_url: String,
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            html_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/site/statements")
}

/// Every fixture statement page (tests/fixtures/site/statements).
pub fn fixtures() -> Vec<Page> {
    fixtures_where(|_| true)
}

/// The 42 pages of the first parse figure (2026-11-28, ratio 1.46×): the mid.ru statements
/// 1950001–1950013 and 1960001–1960009, unchanged since. The pages added later (1970001 on:
/// earlier eras' markup, long transcripts) are a different corpus, so "not worse than that
/// figure" is measured on these.
pub fn first_figure() -> Vec<Page> {
    fixtures_where(|dir| dir.starts_with("195") || dir.starts_with("196"))
}

/// The fixture pages whose statement directory's name passes `keep`.
fn fixtures_where(keep: impl Fn(&str) -> bool) -> Vec<Page> {
    let root = fixtures_root();
    let mut files = Vec::new();
    html_files(&root, &mut files);
    files.retain(|path| {
        path.parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| keep(&dir.to_string_lossy()))
    });
    files.sort();
    assert!(
        !files.is_empty(),
        "no fixture pages under {}",
        root.display()
    );
    files
        .into_iter()
        .map(|path| {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let lang = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let meta: serde_json::Value = std::fs::read(dir.join("meta.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let charset = meta["charset"][&lang].as_str().unwrap_or("utf-8");
            let doc_id = meta["doc_id"].as_str().unwrap_or("0");
            Page {
                bytes: std::fs::read(&path).unwrap_or_default(),
                content_type: format!("text/html; charset={charset}"),
                fetch_url: format!("https://mid.ru/{lang}/foreign_policy/news/{doc_id}/"),
            }
        })
        .collect()
}

/// The titles of every fixture statement in `lang` (what the site's sidebars list).
fn titles(lang: &str) -> Vec<String> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(fixtures_root()) else {
        return files;
    };
    for entry in entries.flatten() {
        let meta: serde_json::Value = std::fs::read(entry.path().join("meta.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if let Some(title) = meta["titles"][lang].as_str() {
            files.push(title.to_string());
        }
    }
    files.sort();
    files
}

/// Words of the site's chrome per language.
struct Chrome {
    sections: [&'static str; 8],
    items: [&'static str; 12],
    latest: &'static str,
    most_read: &'static str,
    announcements: &'static str,
    address: &'static str,
    rights: &'static str,
}

const EN: Chrome = Chrome {
    sections: [
        "The Ministry",
        "Foreign policy",
        "Press service",
        "Countries and regions",
        "Consular services",
        "Archive",
        "Diplomatic service",
        "Documents",
    ],
    items: [
        "Minister's speeches",
        "Briefings by the Spokeswoman",
        "Interviews and articles",
        "Statements and comments",
        "News",
        "Visits and talks",
        "International treaties",
        "Multilateral diplomacy",
        "Historical documents",
        "Photo gallery",
        "Video materials",
        "Announcements",
    ],
    latest: "Latest news",
    most_read: "Most read",
    announcements: "Announcements",
    address: "32/34 Smolenskaya-Sennaya Square, Moscow, 119200. Reception: +7 499 244-16-06. Press service: +7 499 244-41-19.",
    rights: "© Ministry of Foreign Affairs. Materials may be reproduced with a reference to the source.",
};

const RU: Chrome = Chrome {
    sections: [
        "Министерство",
        "Внешняя политика",
        "Пресс-служба",
        "Страны и регионы",
        "Консульские услуги",
        "Архив",
        "Дипломатическая служба",
        "Документы",
    ],
    items: [
        "Выступления Министра",
        "Брифинги официального представителя",
        "Интервью и статьи",
        "Заявления и комментарии",
        "Новости",
        "Визиты и переговоры",
        "Международные договоры",
        "Многосторонняя дипломатия",
        "Исторические документы",
        "Фотогалерея",
        "Видеоматериалы",
        "Анонсы",
    ],
    latest: "Последние новости",
    most_read: "Самое читаемое",
    announcements: "Анонсы",
    address: "119200, г. Москва, Смоленская-Сенная площадь, д. 32/34. Приёмная: +7 499 244-16-06. Пресс-служба: +7 499 244-41-19.",
    rights: "© Министерство иностранных дел. При использовании материалов ссылка на источник обязательна.",
};

fn mega_menu(lang: &str, c: &Chrome) -> String {
    let mut out = String::from("\n<nav class=\"mega-menu\" aria-label=\"site\">\n");
    for (s, section) in c.sections.iter().enumerate() {
        out.push_str(&format!(
            "<div class=\"mega-menu__column\"><div class=\"mega-menu__title\"><a href=\"/{lang}/section{s}/\">{section}</a></div><ul class=\"mega-menu__list\">\n"
        ));
        for (i, item) in c.items.iter().enumerate() {
            out.push_str(&format!(
                "<li class=\"mega-menu__item\"><a class=\"mega-menu__link\" href=\"/{lang}/section{s}/list{i}/\">{item}</a></li>\n"
            ));
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str("</nav>\n");
    out
}

fn sidebar_item(lang: &str, titles: &[String], n: usize) -> String {
    let title = &titles[n % titles.len()];
    let day = 1 + n % 28;
    let month = 1 + n % 12;
    format!(
        "<li class=\"sidebar__item\"><span class=\"sidebar__date\">{day:02}.{month:02}.2021</span> <a class=\"sidebar__link\" href=\"/{lang}/foreign_policy/news/{}/\">{title}</a><span class=\"sidebar__tags\"><a href=\"/{lang}/tags/{}/\">#{}</a></span></li>\n",
        1_960_100 + n,
        n % 40,
        n % 40
    )
}

fn footer(lang: &str, c: &Chrome) -> String {
    let mut out =
        String::from("\n<footer class=\"footer footer_full\"><div class=\"footer__sitemap\">\n");
    for (s, section) in c.sections.iter().enumerate() {
        out.push_str(&format!(
            "<div class=\"footer__column\"><h3>{section}</h3><ul>\n"
        ));
        for (i, item) in c.items.iter().enumerate().take(9) {
            out.push_str(&format!(
                "<li><a class=\"footer__link\" href=\"/{lang}/map/{s}/{i}/\">{item}</a></li>\n"
            ));
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str(&format!(
        "</div><address class=\"footer__address\">{}</address><div class=\"footer__social\"><a href=\"https://t.me/MID_Russia\">Telegram</a> <a href=\"https://vk.com/midrf\">VK</a> <a href=\"https://ok.ru/mid\">OK</a> <a href=\"https://rutube.ru/channel/mid\">Rutube</a></div><p class=\"footer__copyright\">{}</p></footer>\n",
        c.address, c.rights
    ));
    out
}

/// Inserts `extra` before the last `marker` of `html`, else before `</body>`.
fn insert_before(html: &mut String, marker: &str, extra: &str) {
    let at = html
        .rfind(marker)
        .or_else(|| html.rfind("</body>"))
        .unwrap_or(html.len());
    html.insert_str(at, extra);
}

/// The real-size version `variant` of a fixture page: decoded to UTF-8 (its charset
/// declarations rewritten), wrapped in the full chrome, its sidebar filled with other
/// statements' titles until the page reaches its size (20–40 KB by variant and page).
pub fn real_size(page: &Page, variant: usize) -> Page {
    let decoded = parser::charset::decode(&page.bytes, Some(&page.content_type)).into_owned();
    let mut html = decoded
        .replace("charset=windows-1251", "charset=utf-8")
        .replace("charset=\"windows-1251\"", "charset=\"utf-8\"");
    let lang = if page.fetch_url.contains("/ru/") {
        "ru"
    } else {
        "en"
    };
    let chrome = if lang == "ru" { &RU } else { &EN };
    let titles = titles(lang);
    if !html.contains("rel=\"canonical\"") {
        // Saved pages name their URL (as the site's do), so `parser parse` needs no --url.
        let link = format!("<link href=\"{}\" rel=\"canonical\">\n", page.fetch_url);
        insert_before(&mut html, "</head>", &link);
    }
    insert_before(&mut html, "</header>", &mega_menu(lang, chrome));
    insert_before(&mut html, "</body>", &footer(lang, chrome));
    let target = 20_000 + (variant * 7_919 + page.bytes.len() * 31) % 20_000;
    let mut sidebar = format!(
        "\n<section class=\"sidebar__block\"><h2 class=\"sidebar__title\">{}</h2><ul class=\"sidebar__list\">\n",
        chrome.latest
    );
    let mut n = variant * 13;
    while html.len() + sidebar.len() < target.saturating_sub(600) {
        sidebar.push_str(&sidebar_item(lang, &titles, n));
        n += 1;
        if n.is_multiple_of(15) {
            let heading = if n.is_multiple_of(30) {
                chrome.most_read
            } else {
                chrome.announcements
            };
            sidebar.push_str(&format!(
                "</ul></section>\n<section class=\"sidebar__block\"><h2 class=\"sidebar__title\">{heading}</h2><ul class=\"sidebar__list\">\n"
            ));
        }
    }
    sidebar.push_str("</ul></section>\n");
    insert_before(&mut html, "</aside>", &sidebar);
    Page {
        bytes: html.into_bytes(),
        content_type: "text/html; charset=utf-8".into(),
        fetch_url: page.fetch_url.clone(),
    }
}
