//! Reader of the expectation tables `tests/fixtures/EXPECTED-{source}.md` written for the
//! sources beyond mid.ru (kremlin.ru, fmprc.gov.cn, mfa.eldoria.example): every field a record
//! must have, per page, as the fixture author read the page. Tests compare parsed records with
//! them field by field, so the tables stay the one place the expectations live.

use std::collections::BTreeMap;
use std::path::Path;

/// One turn as a table row gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedTurn {
    /// Canonical speaker.
    pub speaker: String,
    /// The asking outlet, if the label named one.
    pub outlet: Option<String>,
    /// Whether the label marked the turn interpreted.
    pub interpreted: bool,
    /// The beginning of the turn's text (paragraph breaks written ` ¶ `), up to 60 characters;
    /// the whole text when it is not cut (`…`).
    pub text_begins: String,
    /// Whether `text_begins` is the whole text.
    pub complete: bool,
}

/// Every field the table gives for one language version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedRecord {
    /// `{source}:{doc_id}:{lang}`.
    pub id: String,
    /// Document id.
    pub doc_id: String,
    /// Language code.
    pub lang: String,
    /// Kind name.
    pub kind: String,
    /// Canonical speakers.
    pub speakers: Vec<String>,
    /// `YYYY-MM-DD`, if any.
    pub event_date: Option<String>,
    /// RFC 3339 with the offset.
    pub published_at: Option<String>,
    /// Document number, if any.
    pub doc_number: Option<String>,
    /// Title.
    pub title: String,
    /// Record URL.
    pub url: String,
    /// Place.
    pub location: Option<String>,
    /// Language → URL.
    pub translations: BTreeMap<String, String>,
    /// Tags in order.
    pub tags: Vec<String>,
    /// Number of paragraphs.
    pub paragraphs: usize,
    /// First paragraph.
    pub first: String,
    /// Last paragraph.
    pub last: String,
    /// Turns in order.
    pub turns: Vec<ExpectedTurn>,
    /// Every paragraph in order, when the table lists them (`- text:` followed by `- ¶ …`
    /// lines); empty when it gives only the first and the last.
    pub texts: Vec<String>,
}

fn code(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('`')
        .and_then(|t| t.strip_suffix('`'))
        .unwrap_or(text)
}

fn nullable(text: &str) -> Option<String> {
    let text = code(text);
    (text != "null").then(|| text.to_string())
}

fn quoted(text: &str) -> String {
    let text = text.trim();
    text.strip_prefix('“')
        .and_then(|t| t.strip_suffix('”'))
        .unwrap_or(text)
        .to_string()
}

/// `key: value` pairs of a `- a: `x`; b: `y`` line.
fn facts(line: &str) -> BTreeMap<String, String> {
    line.trim_start_matches("- ")
        .split("; ")
        .filter_map(|pair| pair.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Reads `EXPECTED-{source}.md`; panics with the line when the file does not have the format.
pub fn load(path: &Path) -> Vec<ExpectedRecord> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut records = Vec::new();
    let mut doc: BTreeMap<String, String> = BTreeMap::new();
    let mut doc_id = String::new();
    let mut current: Option<ExpectedRecord> = None;
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("## ") {
            records.extend(current.take());
            // Document sections are headed by the bare (numeric) id; other headings are prose.
            let id = id.trim();
            doc_id = if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
                id.to_string()
            } else {
                String::new()
            };
            doc.clear();
            continue;
        }
        if doc_id.is_empty() {
            continue;
        }
        if line.starts_with("- kind: ") {
            doc = facts(line);
        } else if let Some(rest) = line.strip_prefix("- **") {
            records.extend(current.take());
            let (lang, id) = rest
                .split_once("** — id ")
                .unwrap_or_else(|| panic!("{}: bad language line {line:?}", path.display()));
            let speakers: Vec<String> = serde_json::from_str(code(&doc["speakers"]))
                .unwrap_or_else(|e| panic!("{}: speakers of {doc_id}: {e}", path.display()));
            current = Some(ExpectedRecord {
                id: code(id).to_string(),
                doc_id: doc_id.clone(),
                lang: lang.to_string(),
                kind: code(&doc["kind"]).to_string(),
                speakers,
                event_date: nullable(&doc["event_date"]),
                published_at: nullable(&doc["published_at"]),
                doc_number: nullable(&doc["doc_number"]),
                ..ExpectedRecord::default()
            });
        } else if let Some(record) = current.as_mut() {
            let item = line.trim_start();
            if let Some(v) = item.strip_prefix("- title: ") {
                record.title = v.to_string();
            } else if let Some(v) = item.strip_prefix("- url: ") {
                record.url = v.to_string();
            } else if let Some(v) = item.strip_prefix("- location: ") {
                record.location = nullable(v);
            } else if let Some(v) = item.strip_prefix("- translations: ") {
                let inner = code(v).trim_start_matches('{').trim_end_matches('}');
                record.translations = inner
                    .split(", ")
                    .filter_map(|pair| pair.split_once(": "))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            } else if let Some(v) = item.strip_prefix("- tags: ") {
                record.tags = serde_json::from_str(code(v))
                    .unwrap_or_else(|e| panic!("{}: tags {v:?}: {e}", path.display()));
            } else if let Some(v) = item.strip_prefix("- paragraphs: ") {
                record.paragraphs = v
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{}: paragraphs {v:?}: {e}", path.display()));
            } else if let Some(v) = item.strip_prefix("- ¶ ") {
                record.texts.push(v.to_string());
            } else if let Some(v) = item.strip_prefix("- first: ") {
                record.first = quoted(v);
            } else if let Some(v) = item.strip_prefix("- last: ") {
                record.last = quoted(v);
            } else if item.starts_with("| ")
                && !item.starts_with("| #")
                && !item.starts_with("| ---")
            {
                let cells: Vec<&str> = item.trim_matches('|').split(" | ").map(str::trim).collect();
                let [_, _, speaker, outlet, interpreted, text] = cells[..] else {
                    panic!("{}: bad turn row {line:?}", path.display());
                };
                let (text_begins, complete) = match text.strip_suffix('…') {
                    Some(cut) => (cut.to_string(), false),
                    None => (text.to_string(), true),
                };
                record.turns.push(ExpectedTurn {
                    speaker: speaker.to_string(),
                    outlet: (outlet != "–").then(|| outlet.to_string()),
                    interpreted: interpreted.contains("true"),
                    text_begins,
                    complete,
                });
            }
        }
    }
    records.extend(current);
    records
}

/// Every difference between a record (as JSON) and its expectation, one line each.
pub fn differences(record: &serde_json::Value, want: &ExpectedRecord) -> Vec<String> {
    let mut out = Vec::new();
    let s = |key: &str| record[key].as_str().map(str::to_string);
    let mut check = |field: &str, got: String, expected: String| {
        if got != expected {
            out.push(format!("{field}: got {got:?}, expected {expected:?}"));
        }
    };
    check("id", s("id").unwrap_or_default(), want.id.clone());
    let source = want.id.split(':').next().unwrap_or_default().to_string();
    check("source", s("source").unwrap_or_default(), source);
    check(
        "doc_id",
        s("doc_id").unwrap_or_default(),
        want.doc_id.clone(),
    );
    check("lang", s("lang").unwrap_or_default(), want.lang.clone());
    check("url", s("url").unwrap_or_default(), want.url.clone());
    check("title", s("title").unwrap_or_default(), want.title.clone());
    check("kind", s("kind").unwrap_or_default(), want.kind.clone());
    check(
        "speakers",
        format!("{:?}", strings(&record["speakers"])),
        format!("{:?}", want.speakers),
    );
    check(
        "location",
        format!("{:?}", s("location")),
        format!("{:?}", want.location),
    );
    check(
        "event_date",
        format!("{:?}", s("event_date")),
        format!("{:?}", want.event_date),
    );
    check(
        "published_at",
        format!("{:?}", s("published_at")),
        format!("{:?}", want.published_at),
    );
    check(
        "doc_number",
        format!("{:?}", s("doc_number")),
        format!("{:?}", want.doc_number),
    );
    let translations: BTreeMap<String, String> = record["translations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    check(
        "translations",
        format!("{translations:?}"),
        format!("{:?}", want.translations),
    );
    check(
        "tags",
        format!("{:?}", strings(&record["tags"])),
        format!("{:?}", want.tags),
    );
    check("quality", s("quality").unwrap_or_default(), "full".into());
    let paragraphs = strings(&record["paragraphs"]);
    check(
        "paragraphs",
        paragraphs.len().to_string(),
        want.paragraphs.to_string(),
    );
    check(
        "first paragraph",
        paragraphs.first().cloned().unwrap_or_default(),
        want.first.clone(),
    );
    check(
        "last paragraph",
        paragraphs.last().cloned().unwrap_or_default(),
        want.last.clone(),
    );
    if !want.texts.is_empty() {
        for (i, (got, exp)) in paragraphs.iter().zip(&want.texts).enumerate() {
            check(&format!("paragraph {}", i + 1), got.clone(), exp.clone());
        }
        check(
            "paragraph texts listed",
            paragraphs.len().to_string(),
            want.texts.len().to_string(),
        );
    }
    let turns = record["turns"].as_array().cloned().unwrap_or_default();
    check(
        "turns",
        turns.len().to_string(),
        want.turns.len().to_string(),
    );
    for (i, (got, exp)) in turns.iter().zip(&want.turns).enumerate() {
        let n = i + 1;
        check(
            &format!("turn {n} speaker"),
            got["speaker"].as_str().unwrap_or_default().into(),
            exp.speaker.clone(),
        );
        check(
            &format!("turn {n} outlet"),
            format!("{:?}", got["outlet"].as_str()),
            format!("{:?}", exp.outlet.as_deref()),
        );
        check(
            &format!("turn {n} interpreted"),
            got["interpreted"].as_bool().unwrap_or(false).to_string(),
            exp.interpreted.to_string(),
        );
        let text = got["text"]
            .as_str()
            .unwrap_or_default()
            .replace("\n\n", " ¶ ");
        let ok = if exp.complete {
            text == exp.text_begins
        } else {
            text.starts_with(&exp.text_begins)
        };
        let want_text = if exp.complete {
            exp.text_begins.clone()
        } else {
            format!("{}…", exp.text_begins)
        };
        let got_text = if ok { want_text.clone() } else { text };
        check(&format!("turn {n} text"), got_text, want_text);
    }
    out
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
