//! The statements a soak publishes, in each source's own markup: mid.ru's (the synthetic
//! corpus), kremlin.ru's (a Russian and an English page, one per host) and fmprc.gov.cn's
//! (English), each with the element where its article text starts, so that the generator can
//! put its marker paragraph there.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDateTime};

use crate::site::{Corpus, Statement, StatementMeta};

/// The sources a soak publishes on, and their markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// mid.ru: ids 4000000 and up ([`Corpus::generated_statement`]).
    Mid,
    /// kremlin.ru: ids 800000 and up, Russian and English, news and transcripts.
    Kremlin,
    /// fmprc.gov.cn: ids 13000000 and up, English, conferences and remarks.
    Fmprc,
}

/// Index (in [`Corpus::generated_statement`]'s numbering) of the first generated mid.ru
/// statement: ids 4000000 and up, clear of the bundled and synthetic corpora.
const MID_FIRST_INDEX: usize = 1_000_000;
const KREMLIN_FIRST_ID: usize = 800_000;
const FMPRC_FIRST_ID: usize = 13_000_000;

/// The sources a soak runs, in order.
pub const SOURCES: [&str; 3] = ["mid.ru", "kremlin.ru", "fmprc.gov.cn"];

impl Markup {
    /// The markup of `source`; None for a source the soak cannot publish on.
    pub fn of(source: &str) -> Option<Markup> {
        match source {
            "mid.ru" => Some(Markup::Mid),
            "kremlin.ru" => Some(Markup::Kremlin),
            "fmprc.gov.cn" => Some(Markup::Fmprc),
            _ => None,
        }
    }

    /// The opening tag of the element holding the article text (the marker goes right after
    /// it).
    pub fn article_start(self) -> &'static str {
        self.text_starts()[0]
    }

    /// The opening tags of every element whose text the source's profile may take as the
    /// body, the article's first: a page designed to fail loses everything after each of
    /// them up to its first `</div>` (kremlin.ru takes the lead when the article is empty).
    pub fn text_starts(self) -> &'static [&'static str] {
        match self {
            Markup::Mid => &["<div class=\"text article-content\">"],
            Markup::Kremlin => &[KREMLIN_BODY, KREMLIN_LEAD],
            Markup::Fmprc => &[FMPRC_BODY],
        }
    }

    /// The `n`-th statement this source publishes, at `published` (Moscow local time),
    /// held back until released.
    pub fn statement(self, n: usize, published: NaiveDateTime) -> Statement {
        match self {
            Markup::Mid => Corpus::generated_statement(MID_FIRST_INDEX + n, published),
            Markup::Kremlin => kremlin(n, published),
            Markup::Fmprc => fmprc(n, published),
        }
    }
}

const KREMLIN_BODY: &str =
    "<div class=\"entry-content e-content read__internal_content\" itemprop=\"articleBody\">";
/// The lead of a kremlin.ru page (its own `<div>` inside: the lead text ends at the first
/// `</div>`).
const KREMLIN_LEAD: &str =
    "<div class=\"read__lead entry-summary p-summary\" itemprop=\"description\"><div>";
const FMPRC_BODY: &str = "<div class=\"TRS_UEDITOR trs_paper_default trs_web\">";

/// Some meta fields every generated statement shares.
fn meta(doc_id: String, published: NaiveDateTime, section: &str) -> StatementMeta {
    StatementMeta {
        paths: BTreeMap::new(),
        listed: None,
        doc_id,
        published: published.format("%Y-%m-%dT%H:%M").to_string(),
        sections: vec![section.to_string()],
        titles: BTreeMap::new(),
        tags: BTreeMap::new(),
        charset: BTreeMap::new(),
        in_feed: true,
        held_back: true,
    }
}

const KREMLIN_EN: [(&str, &str); 4] = [
    (
        "Meeting with Governor of the region, number",
        "The President held a working meeting with the Governor. They discussed the social and economic situation in the region, housing construction and the repair of schools.",
    ),
    (
        "Telephone conversation with the President of the partner state, number",
        "The leaders discussed bilateral trade and the schedule of upcoming contacts. They agreed to continue the dialogue at various levels.",
    ),
    (
        "Meeting of the Security Council, number",
        "The President held an operational meeting with permanent members of the Security Council. The participants discussed current domestic and foreign policy issues.",
    ),
    (
        "Greetings to participants of the forum, number",
        "The President sent greetings to the participants, organisers and guests of the forum. The message was read out at the opening ceremony.",
    ),
];

const KREMLIN_RU: [(&str, &str); 4] = [
    (
        "Встреча с губернатором области, номер",
        "Президент провёл рабочую встречу с губернатором. Обсуждались социально-экономическая ситуация в регионе, жилищное строительство и ремонт школ.",
    ),
    (
        "Телефонный разговор с Президентом государства-партнёра, номер",
        "Лидеры обсудили двустороннюю торговлю и график предстоящих контактов. Договорились продолжить диалог на различных уровнях.",
    ),
    (
        "Совещание с постоянными членами Совета Безопасности, номер",
        "Президент провёл оперативное совещание с постоянными членами Совета Безопасности. Участники обсудили текущие вопросы внутренней и внешней политики.",
    ),
    (
        "Приветствие участникам форума, номер",
        "Президент направил приветствие участникам, организаторам и гостям форума. Послание зачитано на церемонии открытия.",
    ),
];

/// kremlin.ru's `n`-th statement: one page per host, in the markup of its article pages.
fn kremlin(n: usize, published: NaiveDateTime) -> Statement {
    let id = KREMLIN_FIRST_ID + n;
    let section = if n.is_multiple_of(3) {
        "/events/president/transcripts/"
    } else {
        "/events/president/news/"
    };
    let mut meta = meta(id.to_string(), published, section);
    let path = format!("{section}{id}");
    let mut pages = BTreeMap::new();
    for (lang, texts) in [("en", &KREMLIN_EN), ("ru", &KREMLIN_RU)] {
        let (title, lead) = texts[n % texts.len()];
        let title = format!("{title} {id}");
        meta.paths.insert(lang.to_string(), path.clone());
        meta.titles.insert(lang.to_string(), title.clone());
        pages.insert(
            lang.to_string(),
            kremlin_page(lang, id, &title, lead, published, &path),
        );
    }
    Statement::from_html(meta, pages)
        .unwrap_or_else(|e| panic!("generated kremlin.ru statement {id}: {e}"))
}

fn kremlin_page(
    lang: &str,
    id: usize,
    title: &str,
    lead: &str,
    published: NaiveDateTime,
    path: &str,
) -> String {
    let (site, host, other_host, other) = if lang == "en" {
        ("President of Russia", "en.kremlin.ru", "kremlin.ru", "ru")
    } else {
        ("Президент России", "kremlin.ru", "en.kremlin.ru", "en")
    };
    let (speaker, words) = if lang == "en" {
        (
            "Vladimir Putin",
            "Good afternoon, colleagues. Let us begin with the main item on the agenda: the results of the year and the plans for the next one.",
        )
    } else {
        (
            "В.Путин",
            "Добрый день, уважаемые коллеги. Начнём с главного вопроса повестки: итогов года и планов на следующий.",
        )
    };
    let date = published.format("%Y-%m-%d");
    let time = published.format("%H:%M");
    let shown = if lang == "en" {
        published.format("%B %-d, %Y").to_string()
    } else {
        format!(
            "{} {} {} года",
            published.day(),
            shared::months::RU_GENITIVE[published.month0() as usize],
            published.year()
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}" class="no-js">
<head>
    <meta charset="utf-8">
    <title>{title} • {site}</title>
    <link rel="canonical" href="http://{host}{path}">
    <link rel="alternate" hreflang="{other}" href="http://{other_host}{path}">
</head>
<body class="page page_read">
<div class="wrapper">
    <header class="header" role="banner"><a class="header__logo" href="/"><span class="header__title">{site}</span></a></header>
    <main class="main" role="main">
    <div class="read hentry h-entry" itemscope itemtype="http://schema.org/Article">
        <div class="read__top">
            <h1 class="entry-title p-name" itemprop="headline">{title}</h1>
            {KREMLIN_LEAD}<p>{lead}</p></div></div>
            <div class="read__meta">
            <time class="read__published" datetime="{date}" itemprop="datePublished">{shown}</time>
            <div class="read__time">{time}</div>
            <div class="read__place p-location"><i class="read__icon read__icon_place"></i>Moscow</div>
            </div>
        </div>
        <div class="read__cut">
            {KREMLIN_BODY}
                <p>{lead}</p>
                <p><b>{speaker}:</b> {words}</p>
                <p>{words} ({id})</p>
            </div>
            <div class="read__bottommeta hidden-copy"><p class="read__link masha-ignore"><a id="material_link" href="http://{host}/d/{id}">{host}/d/{id}</a></p></div>
        </div>
    </div>
    </main>
    <footer class="footer" role="contentinfo"><p class="footer__copyright">Presidential Executive Office</p></footer>
</div>
</body>
</html>
"#
    )
}

const FMPRC_TOPICS: [&str; 4] = [
    "the Situation in the Middle East",
    "the Outcome of the Ministerial Meeting",
    "the Upcoming State Visit",
    "the Anniversary of Diplomatic Relations",
];

const FMPRC_TEXTS: [&str; 4] = [
    "China calls on all parties to exercise restraint and to resolve differences through dialogue and consultation.",
    "The meeting reached broad consensus on deepening practical cooperation in trade, connectivity and people-to-people exchanges.",
    "The visit will further enhance political mutual trust and open new prospects for cooperation between the two countries.",
    "Over the years, the two sides have respected each other and treated each other as equals, setting an example of friendly relations.",
];

/// fmprc.gov.cn's `n`-th statement: an English page at a CMS path of its listing's section.
fn fmprc(n: usize, published: NaiveDateTime) -> Statement {
    let id = FMPRC_FIRST_ID + n;
    let conference = n.is_multiple_of(2);
    let section = if conference {
        "/eng/xw/fyrbt/lxjzh/"
    } else {
        "/eng/xw/fyrbt/fyrbt/"
    };
    let title = if conference {
        format!(
            "Foreign Ministry Spokesperson's Regular Press Conference on {}, No. {id}",
            published.format("%B %-d, %Y")
        )
    } else {
        format!(
            "Foreign Ministry Spokesperson's Remarks on {}, No. {id}",
            FMPRC_TOPICS[n % FMPRC_TOPICS.len()]
        )
    };
    let path = format!(
        "{section}{}/t{}_{id}.html",
        published.format("%Y%m"),
        published.format("%Y%m%d")
    );
    let mut meta = meta(id.to_string(), published, section);
    meta.paths.insert("en".into(), path);
    meta.titles.insert("en".into(), title.clone());
    meta.tags.insert("en".into(), Vec::new());
    meta.in_feed = false;
    let text = FMPRC_TEXTS[n % FMPRC_TEXTS.len()];
    let turns = if conference {
        format!(
            "<p>Spokesperson: {text}</p>\n            <p>Question: Could you share more details? ({id})</p>\n            <p>Spokesperson: We will release information in due course.</p>"
        )
    } else {
        format!(
            "<p>{text}</p>\n            <p>China stands ready to work with the international community to this end. ({id})</p>"
        )
    };
    let page = format!(
        r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
    <title>{title}_Ministry of Foreign Affairs of the People's Republic of China</title>
    <meta name="ArticleTitle" content="{title}">
</head>
<body>
<div class="header"><div class="logo"><a href="/eng/">Ministry of Foreign Affairs</a></div></div>
<div class="crumb"><a href="/eng/">Home</a> &gt; <a href="/eng/xw/">News</a></div>
<div class="news-main">
    <h1>{title}</h1>
    <p class="news-time"><span>Updated: {updated}</span></p>
    <div class="news-main-content">
    <div class="content_text">
        {FMPRC_BODY}
            {turns}
        </div>
    </div>
    </div>
</div>
<div class="footer"><p>Copyright © 1998-2026 Ministry of Foreign Affairs of the People's Republic of China. All rights reserved.</p></div>
</body>
</html>
"#,
        updated = published.format("%B %-d, %Y %H:%M"),
    );
    Statement::from_html(meta, BTreeMap::from([("en".to_string(), page)]))
        .unwrap_or_else(|e| panic!("generated fmprc.gov.cn statement {id}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_markup_has_its_article_start_in_every_page() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(15, 4, 0))
            .unwrap_or_default();
        for source in SOURCES {
            let markup = Markup::of(source).unwrap_or_else(|| panic!("{source}"));
            for n in 0..4 {
                let s = markup.statement(n, at);
                assert!(s.meta().held_back);
                assert!(!s.meta().titles.is_empty());
                for lang in s.meta().titles.keys() {
                    let path = s.meta().canonical_path(lang);
                    assert!(path.contains(&s.meta().doc_id), "{path}");
                    let html = s.page_html(lang);
                    for start in markup.text_starts() {
                        assert_eq!(html.matches(start).count(), 1, "{source}: {start}");
                    }
                }
            }
        }
        let kremlin = Markup::Kremlin.statement(0, at);
        assert_eq!(
            kremlin.meta().titles.keys().collect::<Vec<_>>(),
            ["en", "ru"]
        );
        assert!(kremlin.page_html("ru").contains("30 ноября 2026 года"));
        let fmprc = Markup::Fmprc.statement(0, at);
        assert_eq!(
            fmprc.meta().canonical_path("en"),
            "/eng/xw/fyrbt/lxjzh/202611/t20261130_13000000.html"
        );
        assert_eq!(Markup::of("example.org"), None);
    }
}
