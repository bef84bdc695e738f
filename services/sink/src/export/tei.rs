//! A speech record as a TEI document in the style of the parliamentary corpora (ParlaMint):
//! a header with title, date, place, source URL and licence note; a person list with the
//! canonical names; each turn an utterance (`<u who="#person">`) whose paragraphs are
//! segments (`<seg>`); questions and interpreted turns marked with `ana`. Valid against
//! `services/sink/schemas/tei-speech.rng`. Every text is escaped. Pure functions, no I/O.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use shared::SpeechRecord;

use crate::atom::escape;

/// The label the parser gives to a question's turn.
pub const QUESTION: &str = "Question";
/// The person id of everyone who asks a question.
const QUESTIONER_ID: &str = "questioner";

/// The file name of a record's TEI document in the dataset: its id with `:` as `_`.
pub fn file_name(record_id: &str) -> String {
    let safe: String = record_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.xml")
}

/// An XML id (an NCName) for the whole document, derived from the record id.
fn document_id(record_id: &str) -> String {
    let mut id: String = record_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert_str(0, "doc.");
    }
    id
}

/// The people speaking in a record: name → person id, ids unique in the document.
struct People {
    ids: BTreeMap<String, String>,
    /// Names in order of first appearance.
    order: Vec<String>,
}

impl People {
    fn of(record: &SpeechRecord) -> People {
        let mut people = People {
            ids: BTreeMap::new(),
            order: Vec::new(),
        };
        let names = record
            .speakers
            .iter()
            .chain(record.turns.iter().map(|t| &t.speaker));
        for name in names {
            if people.ids.contains_key(name) {
                continue;
            }
            let id = if name == QUESTION {
                QUESTIONER_ID.to_string()
            } else {
                let base =
                    slug(name).unwrap_or_else(|| format!("speaker-{}", people.order.len() + 1));
                let mut id = base.clone();
                let mut n = 2;
                while id == QUESTIONER_ID || people.ids.values().any(|v| *v == id) {
                    id = format!("{base}-{n}");
                    n += 1;
                }
                id
            };
            people.ids.insert(name.clone(), id);
            people.order.push(name.clone());
        }
        people
    }

    fn id(&self, name: &str) -> &str {
        self.ids.get(name).map_or(QUESTIONER_ID, String::as_str)
    }
}

/// `Sergey Lavrov` → `sergey-lavrov`; `None` when the name has no ASCII letter to start with
/// (the caller numbers such speakers instead).
fn slug(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    let ascii_share = name.chars().filter(char::is_ascii_alphabetic).count() * 2;
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    (out.starts_with(|c: char| c.is_ascii_alphabetic()) && ascii_share >= letters).then_some(out)
}

/// The index of the paragraph where the transcript starts (paragraphs before it are an
/// introduction outside the turns), 0 when it cannot be told.
fn transcript_start(record: &SpeechRecord) -> usize {
    let Some(first) = record
        .turns
        .first()
        .and_then(|t| t.text.split("\n\n").next())
        .filter(|s| !s.is_empty())
    else {
        return 0;
    };
    record
        .paragraphs
        .iter()
        .position(|p| p.ends_with(first))
        .unwrap_or(0)
}

fn push_segs<'a>(
    xml: &mut String,
    indent: &str,
    id_prefix: &str,
    texts: impl Iterator<Item = &'a str>,
) {
    for (i, text) in texts.enumerate() {
        xml.push_str(&format!(
            "{indent}<seg xml:id=\"{id_prefix}.{}\">{}</seg>\n",
            i + 1,
            escape(text)
        ));
    }
}

/// The licence note of the header.
fn licence_note(record: &SpeechRecord) -> String {
    format!(
        "The text is the publication of {} at the source URL below; its reuse is governed by that site's terms. The TEI encoding was made by ministry-feed, which claims no rights in the text.",
        record.source
    )
}

/// The TEI document of `record`.
pub fn render(record: &SpeechRecord) -> String {
    let people = People::of(record);
    let lang = record.lang.as_str();
    let doc_id = document_id(&record.id);
    let mut x =
        String::with_capacity(4096 + record.paragraphs.iter().map(String::len).sum::<usize>() * 2);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<TEI xmlns=\"http://www.tei-c.org/ns/1.0\" xml:id=\"{doc_id}\" xml:lang=\"{lang}\">\n"
    ));
    x.push_str("  <teiHeader>\n    <fileDesc>\n      <titleStmt>\n");
    x.push_str(&format!(
        "        <title type=\"main\">{}</title>\n",
        escape(&record.title)
    ));
    x.push_str("      </titleStmt>\n      <publicationStmt>\n");
    x.push_str("        <publisher>ministry-feed</publisher>\n");
    x.push_str(&format!(
        "        <idno type=\"record\">{}</idno>\n",
        escape(&record.id)
    ));
    x.push_str("        <availability status=\"unknown\">\n");
    x.push_str(&format!(
        "          <p>{}</p>\n",
        escape(&licence_note(record))
    ));
    x.push_str("        </availability>\n      </publicationStmt>\n");
    x.push_str("      <sourceDesc>\n        <bibl>\n");
    x.push_str(&format!(
        "          <title>{}</title>\n",
        escape(&record.title)
    ));
    x.push_str(&format!(
        "          <publisher>{}</publisher>\n",
        escape(&record.source)
    ));
    x.push_str(&format!(
        "          <idno type=\"URI\">{}</idno>\n",
        escape(&record.url)
    ));
    if let Some(number) = &record.doc_number {
        x.push_str(&format!(
            "          <idno type=\"docNumber\">{}</idno>\n",
            escape(number)
        ));
    }
    if let Some(published) = record.published_at {
        let when = published.to_rfc3339_opts(SecondsFormat::Secs, false);
        x.push_str(&format!(
            "          <date type=\"published\" when=\"{when}\">{when}</date>\n"
        ));
    }
    x.push_str("        </bibl>\n      </sourceDesc>\n    </fileDesc>\n");
    x.push_str("    <encodingDesc>\n      <classDecl>\n        <taxonomy xml:id=\"ana\">\n");
    for (id, description) in [
        ("question", "A question put to the speakers."),
        (
            "answer",
            "A turn of a named speaker in a question-and-answer transcript.",
        ),
        (
            "interpreted",
            "The turn was spoken through an interpreter; the text is the interpretation.",
        ),
    ] {
        x.push_str(&format!(
            "          <category xml:id=\"cat.{id}\"><catDesc>{description}</catDesc></category>\n"
        ));
    }
    x.push_str("        </taxonomy>\n      </classDecl>\n    </encodingDesc>\n");
    x.push_str("    <profileDesc>\n");
    if record.location.is_some() || record.event_date.is_some() {
        x.push_str("      <settingDesc>\n        <setting>\n");
        if let Some(place) = &record.location {
            x.push_str(&format!(
                "          <placeName>{}</placeName>\n",
                escape(place)
            ));
        }
        if let Some(date) = record.event_date {
            x.push_str(&format!("          <date when=\"{date}\">{date}</date>\n"));
        }
        x.push_str("        </setting>\n      </settingDesc>\n");
    }
    x.push_str(&format!(
        "      <langUsage>\n        <language ident=\"{lang}\"/>\n      </langUsage>\n"
    ));
    x.push_str("      <textClass>\n        <keywords>\n");
    x.push_str(&format!(
        "          <term type=\"kind\">{}</term>\n",
        record.kind.as_str()
    ));
    for tag in &record.tags {
        x.push_str(&format!(
            "          <term type=\"tag\">{}</term>\n",
            escape(tag)
        ));
    }
    x.push_str("        </keywords>\n      </textClass>\n");
    if !people.order.is_empty() {
        x.push_str("      <particDesc>\n        <listPerson>\n");
        for name in &people.order {
            let id = people.id(name);
            let role = if id == QUESTIONER_ID {
                " role=\"questioner\""
            } else {
                ""
            };
            x.push_str(&format!(
                "          <person xml:id=\"{id}\"{role}><persName>{}</persName></person>\n",
                escape(name)
            ));
        }
        x.push_str("        </listPerson>\n      </particDesc>\n");
    }
    x.push_str("    </profileDesc>\n  </teiHeader>\n");
    x.push_str(&format!("  <text xml:lang=\"{lang}\">\n    <body>\n"));

    // The paragraphs outside turns: one utterance of the sole speaker, else an anonymous block.
    let intro_end = if record.turns.is_empty() {
        record.paragraphs.len()
    } else {
        transcript_start(record)
    };
    let div_type = if record.turns.is_empty() {
        "statement"
    } else {
        "transcript"
    };
    x.push_str(&format!("      <div type=\"{div_type}\">\n"));
    if intro_end > 0 {
        let texts = record.paragraphs[..intro_end].iter().map(String::as_str);
        match record.speakers.as_slice() {
            [sole] => {
                x.push_str(&format!(
                    "        <u who=\"#{}\" xml:id=\"u.0\">\n",
                    people.id(sole)
                ));
                push_segs(&mut x, "          ", "u.0", texts);
                x.push_str("        </u>\n");
            }
            _ => {
                x.push_str("        <ab xml:id=\"u.0\">\n");
                push_segs(&mut x, "          ", "u.0", texts);
                x.push_str("        </ab>\n");
            }
        }
    }
    for (i, turn) in record.turns.iter().enumerate() {
        let mut ana = vec![if turn.speaker == QUESTION {
            "#cat.question"
        } else {
            "#cat.answer"
        }];
        if turn.interpreted {
            ana.push("#cat.interpreted");
        }
        let id = format!("u.{}", i + 1);
        x.push_str(&format!(
            "        <u who=\"#{}\" xml:id=\"{id}\" ana=\"{}\">\n",
            people.id(&turn.speaker),
            ana.join(" ")
        ));
        push_segs(
            &mut x,
            "          ",
            &id,
            turn.text.split("\n\n").filter(|s| !s.is_empty()),
        );
        x.push_str("        </u>\n");
    }
    x.push_str("      </div>\n    </body>\n  </text>\n</TEI>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use shared::{Kind, Lang, Turn};

    fn record() -> SpeechRecord {
        SpeechRecord {
            schema_version: 1,
            id: "mid.ru:1:en".into(),
            source: "mid.ru".into(),
            doc_id: "1".into(),
            lang: Lang::En,
            url: "https://mid.ru/en/1/?a=1&b=<2>".into(),
            title: "Briefing by \"M.\" <Zakharova> & co".into(),
            kind: Kind::Briefing,
            speakers: vec!["Maria Zakharova".into()],
            location: Some("Moscow".into()),
            event_date: None,
            published_at: DateTime::parse_from_rfc3339("2024-03-01T10:00:00+03:00").ok(),
            doc_number: None,
            paragraphs: vec![
                "Opening <remarks> \u{1}.".into(),
                "Question: Why?".into(),
                "Maria Zakharova: Because.".into(),
                "Second & last.".into(),
            ],
            turns: vec![
                Turn {
                    speaker: "Question".into(),
                    text: "Why?".into(),
                    interpreted: false,
                    outlet: None,
                },
                Turn {
                    speaker: "Maria Zakharova".into(),
                    text: "Because.\n\nSecond & last.".into(),
                    interpreted: true,
                    outlet: None,
                },
            ],
            tags: vec!["A&B".into()],
            translations: Default::default(),
            quality: Default::default(),
            content_hash: "sha256:x".into(),
            fetched_at: Utc::now(),
            parser_version: "t".into(),
        }
    }

    #[test]
    fn turns_become_utterances_of_listed_people() {
        let xml = render(&record());
        assert!(
            xml.contains(
                "<person xml:id=\"maria-zakharova\"><persName>Maria Zakharova</persName></person>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<person xml:id=\"questioner\" role=\"questioner\">"));
        assert!(xml.contains("<u who=\"#questioner\" xml:id=\"u.1\" ana=\"#cat.question\">"));
        assert!(xml.contains(
            "<u who=\"#maria-zakharova\" xml:id=\"u.2\" ana=\"#cat.answer #cat.interpreted\">"
        ));
        assert!(xml.contains("<seg xml:id=\"u.2.2\">Second &amp; last.</seg>"));
        // The opening paragraph, before the first turn, is the sole speaker's.
        assert!(xml.contains("<u who=\"#maria-zakharova\" xml:id=\"u.0\">"));
        assert!(xml.contains("<seg xml:id=\"u.0.1\">Opening &lt;remarks&gt; .</seg>"));
        assert_eq!(xml.matches("<seg ").count(), 4);
    }

    #[test]
    fn untrusted_text_is_escaped() {
        let xml = render(&record());
        assert!(xml.contains("Briefing by &quot;M.&quot; &lt;Zakharova&gt; &amp; co"));
        assert!(xml.contains("https://mid.ru/en/1/?a=1&amp;b=&lt;2&gt;"));
        assert!(!xml.contains('\u{1}'));
    }

    #[test]
    fn person_ids_are_unique_names() {
        let mut r = record();
        r.speakers = vec![
            "Sergey Lavrov".into(),
            "Sergey  Lavrov".into(),
            "С.В.Лавров".into(),
            "Question".into(),
        ];
        r.turns.clear();
        let people = People::of(&r);
        assert_eq!(people.id("Sergey Lavrov"), "sergey-lavrov");
        assert_eq!(people.id("Sergey  Lavrov"), "sergey-lavrov-2");
        assert_eq!(people.id("С.В.Лавров"), "speaker-3");
        assert_eq!(people.id("Question"), "questioner");
        let xml = render(&r);
        // Several speakers and no turns: the paragraphs are an anonymous block.
        assert!(
            xml.contains("<div type=\"statement\">\n        <ab xml:id=\"u.0\">"),
            "{xml}"
        );
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("mid.ru:1950001:en"), "mid.ru_1950001_en.xml");
        assert_eq!(file_name("../x/y"), ".._x_y.xml");
        assert_eq!(document_id("1:x"), "doc.1_x");
    }
}
