//! The `[parse]` table of a source profile: everything the parser's generic engine needs to
//! know about a site's article pages. Selectors are CSS (as `scraper` reads them), patterns are
//! Rust regexes; both are checked when the profile is loaded, and compiled once by the parser.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::messages::{Kind, Lang};

/// How article pages of a source are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseProfile {
    /// Where the parts of an article page are.
    pub selectors: PageSelectors,
    /// Page chrome that never reaches a record.
    #[serde(default)]
    pub chrome: Chrome,
    /// Month names, date and time formats of the pages and titles.
    pub dates: DateRules,
    /// The site's `<title>` suffixes and the grammar of the end of a title (place, date).
    #[serde(default)]
    pub title: TitleRules,
    /// Kind cues per language (`[parse.kinds]`, `en = [...]`): a title is matched against
    /// the cues of its language, or against every cue when its language has none.
    #[serde(default)]
    pub kinds: BTreeMap<Lang, Vec<KindCue>>,
    /// Turn labels of question-and-answer transcripts.
    #[serde(default)]
    pub turns: TurnRules,
    /// Where the place and the event date come from when the title does not give them.
    #[serde(default)]
    pub page_facts: PageFacts,
    /// The officials registry of the source: a JSON file next to the profile (same format as
    /// `--officials`; see the parser's README), e.g. `mid.ru.officials.json`.
    #[serde(default)]
    pub officials: Option<String>,
    /// Regex of a document number printed as a plain first or last paragraph
    /// (`^(?:\d{1,7}-)?\d{2}-\d{2}-\d{4}$`): such a paragraph is the number, not body text.
    #[serde(default)]
    pub doc_number_pattern: Option<String>,
    /// Titles (lower case, site suffix removed) of the site's system pages answered with 200:
    /// "страница не найдена", "page not found". Such a page is never a statement; an entry of
    /// two words or more also matches a short title holding it ("Ошибка 404. Страница не
    /// найдена").
    #[serde(default)]
    pub system_titles: Vec<String>,
    /// The least text (characters of every paragraph) a page read by the generic fallback
    /// extractor must have to be a statement; less is dead-lettered (default 300).
    #[serde(default = "fallback_min_chars")]
    pub fallback_min_chars: usize,
}

fn fallback_min_chars() -> usize {
    300
}

/// CSS selectors of the parts of an article page. Each field lists selectors in order of
/// preference: the first selector with a non-empty match (first in document order) wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSelectors {
    /// The headline (`h1.photo-content__title`).
    pub title: Vec<String>,
    /// The date line (`.photo-content__date`); a time inside it counts.
    #[serde(default)]
    pub date: Vec<String>,
    /// A separate time element (`.photo-content__time`).
    #[serde(default)]
    pub time: Vec<String>,
    /// The place of the event (`div.read__place`), used when the title names none.
    #[serde(default)]
    pub place: Vec<String>,
    /// The body container (`div.text.article-content`): its paragraphs are the text.
    pub body: Vec<String>,
    /// Tag lists: every link inside is a tag, else the comma-separated text.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The document number (never body text).
    #[serde(default)]
    pub doc_number: Vec<String>,
    /// Links to the other language versions.
    #[serde(default = "default_alternates")]
    pub alternates: Vec<Alternate>,
}

fn default_alternates() -> Vec<Alternate> {
    vec![Alternate {
        selector: "link[rel~=alternate][hreflang]".into(),
        lang_attr: Some("hreflang".into()),
    }]
}

/// Links to other language versions of the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternate {
    /// Elements with an `href` (`link[rel~=alternate][hreflang]`).
    pub selector: String,
    /// Attribute holding the language code (`hreflang`); without it, the language is the one
    /// whose base URL the link falls under.
    #[serde(default)]
    pub lang_attr: Option<String>,
}

/// Page chrome.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chrome {
    /// An element whose `class` or `id` contains one of these is chrome (`share`, `menu`).
    #[serde(default)]
    pub class_fragments: Vec<String>,
    /// Elements dropped wholesale (`span.read__tooltip`, `.masha-ignore`).
    #[serde(default)]
    pub selectors: Vec<String>,
    /// Regexes of whole short paragraphs that are chrome ("1 of 1 photos in album",
    /// `©.*`); matched case-insensitively against paragraphs of at most 120 bytes.
    #[serde(default)]
    pub lines: Vec<String>,
    /// Headings of a table of contents ("contents"), dropped when the text has `#` links.
    #[serde(default)]
    pub toc_headings: Vec<String>,
    /// Navigation paragraphs ("back to contents"), lower case.
    #[serde(default)]
    pub back_links: Vec<String>,
}

/// Dates and times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateRules {
    /// Month numbers by lower-case name (`january = 1`, `мая = 5`, `jan = 1`).
    pub months: BTreeMap<String, u32>,
    /// Regexes of a date on a page's date line, with groups `day`, `month` (number or name)
    /// and `year`; `{months}` stands for every month name. The earliest match wins.
    pub patterns: Vec<String>,
    /// Regex of a time with groups `hour` and `minute`.
    pub time: String,
}

/// The title grammar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TitleRules {
    /// Suffixes the site appends to `<title>` (` - Министерство …`), written with single
    /// spaces.
    #[serde(default)]
    pub suffixes: Vec<String>,
    /// Regexes of a date ending the title, tried in order, with groups `date` (the whole
    /// date), `day`, `month`, `year`; `{months}` stands for every month name.
    #[serde(default)]
    pub tail: Vec<String>,
    /// Characters that open the place before the date (`,`, `(`): the place is the text
    /// between the last of them and the comma before the date.
    #[serde(default)]
    pub place_delimiters: Vec<String>,
    /// Longest place, in words.
    #[serde(default = "five")]
    pub place_max_words: usize,
    /// A gazetteer: a text file next to the profile listing places (cities, capitals,
    /// regions, countries) in every language of the site, one a line, `#` comments
    /// (`places.txt`). With it, the text before the date is a place only when the gazetteer
    /// knows it, it is a single capitalised word, or two or three capitalised words opening
    /// with a place prefix (a line ending in ` *`, e.g. `Nizhny *`): "Istanbul Process on
    /// Afghanistan" is not a place.
    #[serde(default)]
    pub places: Option<String>,
}

fn five() -> usize {
    5
}

impl Default for TitleRules {
    fn default() -> Self {
        TitleRules {
            suffixes: Vec::new(),
            tail: Vec::new(),
            place_delimiters: Vec::new(),
            place_max_words: five(),
            places: None,
        }
    }
}

/// How a kind cue must sit in the title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CueMatch {
    /// Starts a word; any ending (Russian cases: "выступлени").
    #[default]
    Stem,
    /// A whole word or words.
    Word,
    /// Only at the very start of the title, as a stem.
    TitleStart,
}

/// One kind cue: the earliest cue in the lower-cased title decides the kind, the longest at
/// the same position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindCue {
    /// Lower-case text of the cue. Parts joined by ` … ` may have words between them
    /// (`replies … to … questions`: "replies by the minister to readers’ questions"), at most
    /// eight words per gap.
    pub cue: String,
    /// The kind it gives.
    pub kind: Kind,
    /// How it must sit (default `stem`).
    #[serde(default, rename = "match")]
    pub rule: CueMatch,
}

/// Turn labels: a paragraph opens a turn when it starts with a label and a colon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnRules {
    /// First words (lower case) of question labels ("question", "вопрос", "q").
    #[serde(default)]
    pub question_words: Vec<String>,
    /// Longest question label, in words.
    #[serde(default = "six")]
    pub question_max_words: usize,
    /// Whole labels (lower case) of questions that are not a first word ("q", "в").
    #[serde(default)]
    pub question_labels: Vec<String>,
    /// Whole labels (lower case) of answers ("answer", "ответ", "a"): the answer is the first
    /// official the title names, else "Answer".
    #[serde(default)]
    pub answer_labels: Vec<String>,
    /// First words (lower case) of paragraph openers that are never speakers ("note",
    /// "примечание", "справочно"): "Note: …" continues the turn it is in.
    #[serde(default)]
    pub not_labels: Vec<String>,
    /// Words in a parenthesis closing the label that mark an interpreted turn ("перевод",
    /// "interpret", "retranslated", "как переведено"), lower case.
    #[serde(default)]
    pub interpretation_markers: Vec<String>,
    /// News outlets named as askers ("CCTV", "Reuters"): such a label is a question, and the
    /// outlet is kept on the turn.
    #[serde(default)]
    pub outlets: Vec<String>,
    /// Whether any other name-like label (not an official, not a listed outlet) is an outlet
    /// asking a question (fmprc.gov.cn: only spokespersons answer), rather than a person.
    #[serde(default)]
    pub other_labels_are_outlets: bool,
    /// Longest label of a person or outlet not in the registry, in words.
    #[serde(default = "four")]
    pub name_max_words: usize,
    /// Lower-case words allowed inside such a label ("of", "the": "President of Indonesia
    /// Prabowo Subianto"); every other word starts with a capital.
    #[serde(default)]
    pub name_particles: Vec<String>,
}

fn six() -> usize {
    6
}

fn four() -> usize {
    4
}

impl Default for TurnRules {
    fn default() -> Self {
        TurnRules {
            question_words: Vec::new(),
            question_max_words: six(),
            question_labels: Vec::new(),
            answer_labels: Vec::new(),
            not_labels: Vec::new(),
            interpretation_markers: Vec::new(),
            outlets: Vec::new(),
            other_labels_are_outlets: false,
            name_max_words: four(),
            name_particles: Vec::new(),
        }
    }
}

/// Facts taken from the page when the title does not carry them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageFacts {
    /// The event date is the page's date when the title has none (kremlin.ru: the page's
    /// date is the event's).
    #[serde(default)]
    pub event_date_from_page: bool,
    /// The official who speaks when the title names none (kremlin.ru: "Meeting with …" is
    /// Vladimir Putin's): first in `speakers`, and the speaker of answer labels.
    #[serde(default)]
    pub implicit_speaker: Option<String>,
    /// Who the implicit speaker was in other periods (kremlin.ru: Dmitry Medvedev, President
    /// from 2008-05-07 to 2012-05-07): the period holding the page's date replaces
    /// `implicit_speaker`.
    #[serde(default)]
    pub implicit_speaker_periods: Vec<SpeakerPeriod>,
    /// Title words that make the implicit speaker the host even when the title names another
    /// official, as the counterpart (kremlin.ru: "Meeting with Foreign Minister Sergei
    /// Lavrov", "Встреча с Председателем Правительства Дмитрием Медведевым"); lower case,
    /// matched at the start of a word.
    #[serde(default)]
    pub host_cues: Vec<String>,
}

/// An implicit speaker of a period (`parse.page_facts.implicit_speaker_periods`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeakerPeriod {
    /// Canonical name of the official.
    pub name: String,
    /// First day of the period.
    pub from: chrono::NaiveDate,
    /// Day the period ends (not included).
    pub until: chrono::NaiveDate,
}

impl PageFacts {
    /// The implicit speaker of a page of `date` (or of today's period when the page has none).
    pub fn implicit_speaker_on(&self, date: Option<chrono::NaiveDate>) -> Option<&str> {
        date.and_then(|d| {
            self.implicit_speaker_periods
                .iter()
                .find(|p| p.from <= d && d < p.until)
        })
        .map(|p| p.name.as_str())
        .or(self.implicit_speaker.as_deref())
    }

    /// Whether `title_lower` (a lower-cased title) has one of the host cues at a word start.
    pub fn names_a_host_event(&self, title_lower: &str) -> bool {
        self.host_cues.iter().any(|cue| {
            title_lower.match_indices(cue.as_str()).any(|(at, _)| {
                !title_lower[..at]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric)
            })
        })
    }
}

impl DateRules {
    /// Regex alternation of every month name, longest first.
    pub fn month_alternation(&self) -> String {
        let mut names: Vec<String> = self.months.keys().map(|n| regex::escape(n)).collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
        names.join("|")
    }

    /// `pattern` with `{months}` replaced by [`DateRules::month_alternation`].
    pub fn expand(&self, pattern: &str) -> String {
        if pattern.contains("{months}") {
            pattern.replace("{months}", &self.month_alternation())
        } else {
            pattern.to_string()
        }
    }

    /// The month number of a name (any case, trailing dot allowed) or of a number.
    pub fn month_number(&self, name: &str) -> Option<u32> {
        let trimmed = name.trim_end_matches('.');
        if let Ok(n) = trimmed.parse::<u32>() {
            return (1..=12).contains(&n).then_some(n);
        }
        let lower = trimmed.to_lowercase();
        self.months.get(&lower).copied()
    }
}
