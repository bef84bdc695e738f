//! Language pairs: each document that exists in two languages as one pair, paragraphs and
//! turns aligned ([`super::align`]), written as JSON (Lines) or TMX 1.4.

use serde_json::{Value, json};
use shared::{Lang, SpeechRecord};

use super::align::{Alignment, align_paragraphs, align_turns};
use super::{ExportError, Item, get_item};
use crate::atom::escape;
use crate::store::AnyStore;

/// One document in two languages, `a` before `b` in the order of [`Lang::ALL`].
#[derive(Debug, Clone)]
pub struct Pair<'a> {
    /// The first language version.
    pub a: &'a SpeechRecord,
    /// The second language version.
    pub b: &'a SpeechRecord,
    /// How their paragraphs align.
    pub paragraphs: Alignment,
    /// Their turns paired by speaker order: (index in a, index in b).
    pub turns: Vec<(usize, usize)>,
}

fn lang_rank(lang: Lang) -> usize {
    Lang::ALL
        .iter()
        .position(|l| *l == lang)
        .unwrap_or(usize::MAX)
}

/// Aligns two language versions of one document (in either order).
pub fn pair<'a>(one: &'a SpeechRecord, other: &'a SpeechRecord) -> Pair<'a> {
    let (a, b) = if lang_rank(one.lang) <= lang_rank(other.lang) {
        (one, other)
    } else {
        (other, one)
    };
    let speakers = |r: &'a SpeechRecord| -> Vec<&'a str> {
        r.turns.iter().map(|t| t.speaker.as_str()).collect()
    };
    Pair {
        a,
        b,
        paragraphs: align_paragraphs(&a.paragraphs, &b.paragraphs),
        turns: align_turns(&speakers(a), &speakers(b)),
    }
}

fn joined(paragraphs: &[String], range: std::ops::Range<usize>) -> String {
    paragraphs
        .get(range)
        .map(|p| p.join("\n\n"))
        .unwrap_or_default()
}

fn side(record: &SpeechRecord) -> Value {
    json!({ "id": record.id, "lang": record.lang, "title": record.title, "url": record.url })
}

impl Pair<'_> {
    /// The pair as one JSON object (one line of `pairs.jsonl`, one item of `GET /v1/pairs`).
    pub fn to_json(&self) -> Value {
        let paragraphs: Vec<Value> = self
            .paragraphs
            .links
            .iter()
            .map(|link| {
                json!({
                    "a": link.a.clone().collect::<Vec<_>>(),
                    "b": link.b.clone().collect::<Vec<_>>(),
                    "a_text": joined(&self.a.paragraphs, link.a.clone()),
                    "b_text": joined(&self.b.paragraphs, link.b.clone()),
                })
            })
            .collect();
        let turns: Vec<Value> = self
            .turns
            .iter()
            .filter_map(|&(i, j)| {
                let (ta, tb) = (self.a.turns.get(i)?, self.b.turns.get(j)?);
                Some(json!({
                    "speaker": ta.speaker,
                    "a": i,
                    "b": j,
                    "a_text": ta.text,
                    "b_text": tb.text,
                }))
            })
            .collect();
        json!({
            "source": self.a.source,
            "doc_id": self.a.doc_id,
            "kind": self.a.kind,
            "published_at": self.a.published_at,
            "a": side(self.a),
            "b": side(self.b),
            "paragraph_alignment": self.paragraphs.method.as_str(),
            "paragraphs": paragraphs,
            "turns": turns,
        })
    }

    /// The pair's translation units for TMX: one per link with text on both sides.
    pub fn tmx_units(&self) -> String {
        let mut xml = String::new();
        for (n, link) in self.paragraphs.links.iter().enumerate() {
            if link.a.is_empty() || link.b.is_empty() {
                continue;
            }
            xml.push_str(&format!(
                "    <tu tuid=\"{}:{}:{}-{}:{n}\">\n      <prop type=\"x-document\">{}:{}</prop>\n      <prop type=\"x-alignment\">{}</prop>\n",
                escape(&self.a.source),
                escape(&self.a.doc_id),
                self.a.lang,
                self.b.lang,
                escape(&self.a.source),
                escape(&self.a.doc_id),
                self.paragraphs.method.as_str()
            ));
            for (record, range) in [(self.a, &link.a), (self.b, &link.b)] {
                xml.push_str(&format!(
                    "      <tuv xml:lang=\"{}\"><seg>{}</seg></tuv>\n",
                    record.lang,
                    escape(&joined(&record.paragraphs, range.clone()))
                ));
            }
            xml.push_str("    </tu>\n");
        }
        xml
    }
}

/// The start of a TMX 1.4 document (header and the opening of the body).
pub fn tmx_head() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\">\n  <header creationtool=\"ministry-feed\" creationtoolversion=\"{}\" segtype=\"paragraph\" o-tmf=\"ministry-feed\" adminlang=\"en\" srclang=\"*all*\" datatype=\"plaintext\"/>\n  <body>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The end of a TMX document.
pub const TMX_TAIL: &str = "  </body>\n</tmx>\n";

/// The other language versions of `item` to pair it with, read from the store. A document
/// is a pair when both versions are stored and either links to the other. With a language
/// filter (the listing holds only that language) every other language is looked up; without
/// one, the versions `item` links to, each pair given once: by its first version in the order
/// of [`Lang::ALL`], or by the second when the first does not link back.
pub async fn partners(
    store: &AnyStore,
    item: &Item,
    lang_filter: Option<Lang>,
) -> Result<Vec<Item>, ExportError> {
    let record = &item.record;
    let candidates: Vec<Lang> = match lang_filter {
        Some(_) => Lang::ALL.to_vec(),
        None => record.translations.keys().copied().collect(),
    };
    let mut found = Vec::new();
    for lang in candidates {
        if lang == record.lang {
            continue;
        }
        let id = SpeechRecord::make_id(&record.source, &record.doc_id, lang);
        let Some(other) = get_item(store, &id).await? else {
            continue;
        };
        let links = |from: &SpeechRecord, to: Lang| from.translations.contains_key(&to);
        if !links(record, lang) && !links(&other.record, record.lang) {
            continue;
        }
        if lang_filter.is_none()
            && lang_rank(lang) < lang_rank(record.lang)
            && links(&other.record, record.lang)
        {
            // The first version links here and gives the pair.
            continue;
        }
        found.push(other);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use shared::{Kind, Turn};

    fn record(lang: Lang, paragraphs: &[&str], speakers: &[&str]) -> SpeechRecord {
        SpeechRecord {
            schema_version: 1,
            id: format!("mid.ru:7:{lang}"),
            source: "mid.ru".into(),
            doc_id: "7".into(),
            lang,
            url: format!("https://mid.ru/{lang}/7/"),
            title: "T".into(),
            kind: Kind::Interview,
            speakers: vec![],
            location: None,
            event_date: None,
            published_at: None,
            doc_number: None,
            paragraphs: paragraphs.iter().map(|s| s.to_string()).collect(),
            turns: speakers
                .iter()
                .map(|s| Turn {
                    speaker: s.to_string(),
                    text: format!("{s} <&>"),
                    interpreted: false,
                    outlet: None,
                })
                .collect(),
            tags: vec![],
            translations: Default::default(),
            quality: Default::default(),
            content_hash: "sha256:x".into(),
            fetched_at: Utc::now(),
            parser_version: "t".into(),
        }
    }

    #[test]
    fn pairs_are_ordered_and_aligned() {
        let ru = record(Lang::Ru, &["Один.", "Два."], &["Question", "Sergey Lavrov"]);
        let en = record(Lang::En, &["One.", "Two."], &["Question", "Sergey Lavrov"]);
        let p = pair(&ru, &en);
        assert_eq!((p.a.lang, p.b.lang), (Lang::En, Lang::Ru));
        let v = p.to_json();
        assert_eq!(v["paragraph_alignment"], "position");
        assert_eq!(v["paragraphs"][1]["a_text"], "Two.");
        assert_eq!(v["paragraphs"][1]["b_text"], "Два.");
        assert_eq!(v["turns"][1]["speaker"], "Sergey Lavrov");
        assert_eq!(v["a"]["id"], "mid.ru:7:en");
    }

    #[test]
    fn tmx_units_escape_text() {
        let en = record(Lang::En, &["A <b> & c", "x"], &[]);
        let ru = record(Lang::Ru, &["А <б> & в"], &[]);
        let units = pair(&en, &ru).tmx_units();
        assert_eq!(units.matches("<tu ").count(), 1, "{units}");
        assert!(units.contains("<tuv xml:lang=\"ru\"><seg>А &lt;б&gt; &amp; в</seg></tuv>"));
    }
}
