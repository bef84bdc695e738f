//! The full-text Atom feed (RFC 4287). Every text is XML-escaped; characters XML 1.0 forbids
//! are dropped.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use shared::SpeechRecord;

/// Escapes `text` for XML content and attributes, dropping characters XML cannot carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(&mut out, text);
    out
}

/// Whether XML 1.0 can carry `c` (tab, newline and carriage return are the only control
/// characters it allows).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || !((c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}')
}

/// The replacements of `&`, `<`, `>`, `"` and `'` for XML.
const ONCE: [&str; 5] = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"];
/// The same escaped again: HTML carried as XML text (the feed's `type="html"` content).
const TWICE: [&str; 5] = [
    "&amp;amp;",
    "&amp;lt;",
    "&amp;gt;",
    "&amp;quot;",
    "&amp;apos;",
];

/// [`escape`], appended to `out`: runs of plain characters are copied at once.
fn escape_into(out: &mut String, text: &str) {
    escape_with(out, text, &ONCE);
}

/// Escapes `text` twice, in one pass: for HTML, then that HTML for XML (the feed's
/// `type="html"` content), dropping characters XML cannot carry.
fn escape_twice_into(out: &mut String, text: &str) {
    escape_with(out, text, &TWICE);
}

/// Appends `text` to `out` with the five special characters replaced from `table` and the
/// characters XML cannot carry dropped.
fn escape_with(out: &mut String, text: &str, table: &[&str; 5]) {
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        let replacement = match c {
            '&' => table[0],
            '<' => table[1],
            '>' => table[2],
            '"' => table[3],
            '\'' => table[4],
            c if xml_char(c) => continue,
            _ => "",
        };
        out.push_str(&text[plain..i]);
        out.push_str(replacement);
        plain = i + c.len_utf8();
    }
    out.push_str(&text[plain..]);
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// When a record was published (or fetched, when the page showed no date).
fn record_time(record: &SpeechRecord) -> DateTime<Utc> {
    record
        .published_at
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(record.fetched_at)
}

/// Appends the record's text as HTML escaped for XML: one `<p>` per paragraph (or per turn,
/// a turn's blank lines starting new paragraphs).
fn push_content(xml: &mut String, record: &SpeechRecord) {
    const P: &str = "&lt;p&gt;";
    const END_P: &str = "&lt;/p&gt;";
    if record.paragraphs.is_empty() {
        for turn in &record.turns {
            xml.push_str(P);
            xml.push_str("&lt;b&gt;");
            escape_twice_into(xml, &turn.speaker);
            xml.push_str(":&lt;/b&gt; ");
            // Characters XML cannot carry go first, as a blank line they hid still splits.
            let text: Cow<'_, str> = if turn.text.chars().all(xml_char) {
                Cow::Borrowed(&turn.text)
            } else {
                Cow::Owned(turn.text.chars().filter(|&c| xml_char(c)).collect())
            };
            for (i, part) in text.split("\n\n").enumerate() {
                if i > 0 {
                    xml.push_str(END_P);
                    xml.push_str(P);
                }
                escape_twice_into(xml, part);
            }
            xml.push_str(END_P);
        }
    } else {
        for paragraph in &record.paragraphs {
            xml.push_str(P);
            escape_twice_into(xml, paragraph);
            xml.push_str(END_P);
        }
    }
}

/// A generous guess of the feed's size, so that it is built without reallocating.
fn size_hint(records: &[SpeechRecord]) -> usize {
    let text: usize = records
        .iter()
        .map(|r| {
            r.paragraphs.iter().map(String::len).sum::<usize>()
                + r.turns.iter().map(|t| t.text.len() + 64).sum::<usize>()
                + r.paragraphs.len() * 24
                + 1024
        })
        .sum();
    text + text / 8 + 1024
}

/// Renders the feed. `self_url` is the feed's own URL (with its filters).
pub fn render(records: &[SpeechRecord], self_url: &str, now: DateTime<Utc>) -> String {
    use std::fmt::Write as _;
    let updated = records.iter().map(record_time).max().unwrap_or(now);
    let mut xml = String::with_capacity(size_hint(records));
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str("  <title>Statements of the Russian Ministry of Foreign Affairs</title>\n");
    xml.push_str("  <subtitle>Full texts from mid.ru, collected by ministry-feed</subtitle>\n");
    xml.push_str("  <id>");
    escape_into(&mut xml, self_url);
    xml.push_str("</id>\n  <link rel=\"self\" type=\"application/atom+xml\" href=\"");
    escape_into(&mut xml, self_url);
    xml.push_str("\"/>\n  <updated>");
    xml.push_str(&time(updated));
    xml.push_str("</updated>\n");
    xml.push_str(
        "  <author><name>Ministry of Foreign Affairs of the Russian Federation</name></author>\n",
    );
    xml.push_str("  <generator>ministry-feed sink</generator>\n");
    for record in records {
        xml.push_str("  <entry>\n    <id>tag:ministry-feed,2024:");
        escape_into(&mut xml, &record.id);
        xml.push_str("</id>\n    <title type=\"text\">");
        escape_into(&mut xml, &record.title);
        let _ = write!(
            xml,
            "</title>\n    <link rel=\"alternate\" type=\"text/html\" hreflang=\"{}\" href=\"",
            record.lang
        );
        escape_into(&mut xml, &record.url);
        let published = record_time(record);
        let _ = write!(
            xml,
            "\"/>\n    <published>{}</published>\n    <updated>{}</updated>\n",
            time(published),
            time(record.fetched_at.max(published))
        );
        for speaker in &record.speakers {
            xml.push_str("    <author><name>");
            escape_into(&mut xml, speaker);
            xml.push_str("</name></author>\n");
        }
        let _ = writeln!(
            xml,
            "    <category term=\"{}\" label=\"{}\"/>",
            record.kind,
            record.kind.as_str().replace('_', " ")
        );
        for tag in &record.tags {
            xml.push_str("    <category term=\"");
            escape_into(&mut xml, tag);
            xml.push_str("\"/>\n");
        }
        let _ = write!(
            xml,
            "    <content type=\"html\" xml:lang=\"{}\">",
            record.lang
        );
        push_content(&mut xml, record);
        xml.push_str("</content>\n  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
    }

    /// The content as the feed made it before it was rendered in one pass: HTML escaped,
    /// then escaped again for XML.
    fn content_escaped_in_two_passes(record: &SpeechRecord) -> String {
        let mut html = String::new();
        if record.paragraphs.is_empty() {
            for turn in &record.turns {
                html.push_str("<p><b>");
                html.push_str(&escape(&turn.speaker));
                html.push_str(":</b> ");
                html.push_str(&escape(&turn.text).replace("\n\n", "</p><p>"));
                html.push_str("</p>");
            }
        } else {
            for paragraph in &record.paragraphs {
                html.push_str("<p>");
                html.push_str(&escape(paragraph));
                html.push_str("</p>");
            }
        }
        escape(&html)
    }

    fn record(paragraphs: &[&str], turns: &[(&str, &str)]) -> SpeechRecord {
        let mut record = base_record();
        record.paragraphs = paragraphs.iter().map(|p| p.to_string()).collect();
        record.turns = turns
            .iter()
            .map(|(speaker, text)| shared::Turn {
                speaker: speaker.to_string(),
                text: text.to_string(),
                interpreted: false,
                outlet: None,
            })
            .collect();
        record
    }

    fn base_record() -> SpeechRecord {
        serde_json::from_value(serde_json::json!({
            "schema_version": 1, "id": "mid.ru:1:en", "source": "mid.ru", "doc_id": "1",
            "lang": "en", "url": "https://mid.ru/en/1/?a=1&b=\"2\"", "title": "T <&> 'x'",
            "kind": "press_conference", "speakers": ["A & B"], "paragraphs": [], "turns": [],
            "tags": ["t<1>"], "translations": {}, "content_hash": "sha256:x",
            "fetched_at": "2024-03-01T00:00:00Z", "parser_version": "t"
        }))
        .expect("a record")
    }

    #[test]
    fn content_is_escaped_twice_in_one_pass() {
        let records = [
            record(&["a <b>&amp;</b> \"q\" 'x'\u{1}", "Привет, мир", ""], &[]),
            record(
                &[],
                &[
                    ("Question & <answer>", "one\n\ntwo\n\n\nthree\n\u{2}\nfour"),
                    ("Sergey Lavrov", "plain"),
                ],
            ),
            record(&[], &[]),
        ];
        for record in &records {
            let mut one_pass = String::new();
            push_content(&mut one_pass, record);
            assert_eq!(one_pass, content_escaped_in_two_passes(record));
        }
        let xml = render(
            &records,
            "http://x/v1/feed.atom?lang=en&kind=speech",
            Utc::now(),
        );
        assert!(xml.contains("<title type=\"text\">T &lt;&amp;&gt; &apos;x&apos;</title>"));
        assert!(xml.contains("href=\"https://mid.ru/en/1/?a=1&amp;b=&quot;2&quot;\""));
        assert!(xml.contains("<author><name>A &amp; B</name></author>"));
        assert!(xml.contains("<category term=\"press_conference\" label=\"press conference\"/>"));
        assert!(xml.contains("<category term=\"t&lt;1&gt;\"/>"));
        assert!(xml.contains("&lt;p&gt;&lt;b&gt;Question &amp;amp; &amp;lt;answer&amp;gt;:&lt;/b&gt; one&lt;/p&gt;&lt;p&gt;two"));
        assert_eq!(xml.matches('<').count(), xml.matches('>').count());
    }

    #[test]
    fn empty_feed_is_well_formed() {
        let xml = render(&[], "http://x/v1/feed.atom?lang=en&kind=speech", Utc::now());
        assert!(xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
        assert!(xml.contains("lang=en&amp;kind=speech"));
        assert!(xml.trim_end().ends_with("</feed>"));
    }
}
