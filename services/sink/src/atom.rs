//! The full-text Atom feed (RFC 4287). Every text is XML-escaped; characters XML 1.0 forbids
//! are dropped.

use chrono::{DateTime, SecondsFormat, Utc};
use shared::SpeechRecord;

/// Escapes `text` for XML content and attributes, dropping characters XML cannot carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
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

/// The record's text as escaped HTML: one `<p>` per paragraph (or per turn).
fn content_html(record: &SpeechRecord) -> String {
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
    html
}

/// Renders the feed. `self_url` is the feed's own URL (with its filters).
pub fn render(records: &[SpeechRecord], self_url: &str, now: DateTime<Utc>) -> String {
    let updated = records.iter().map(record_time).max().unwrap_or(now);
    let mut xml = String::new();
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str("  <title>Statements of the Russian Ministry of Foreign Affairs</title>\n");
    xml.push_str("  <subtitle>Full texts from mid.ru, collected by ministry-feed</subtitle>\n");
    xml.push_str(&format!("  <id>{}</id>\n", escape(self_url)));
    xml.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(self_url)
    ));
    xml.push_str(&format!("  <updated>{}</updated>\n", time(updated)));
    xml.push_str(
        "  <author><name>Ministry of Foreign Affairs of the Russian Federation</name></author>\n",
    );
    xml.push_str("  <generator>ministry-feed sink</generator>\n");
    for record in records {
        xml.push_str("  <entry>\n");
        xml.push_str(&format!(
            "    <id>tag:ministry-feed,2024:{}</id>\n",
            escape(&record.id)
        ));
        xml.push_str(&format!(
            "    <title type=\"text\">{}</title>\n",
            escape(&record.title)
        ));
        xml.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" hreflang=\"{}\" href=\"{}\"/>\n",
            record.lang,
            escape(&record.url)
        ));
        let published = time(record_time(record));
        xml.push_str(&format!("    <published>{published}</published>\n"));
        xml.push_str(&format!(
            "    <updated>{}</updated>\n",
            time(record.fetched_at.max(record_time(record)))
        ));
        for speaker in &record.speakers {
            xml.push_str(&format!(
                "    <author><name>{}</name></author>\n",
                escape(speaker)
            ));
        }
        xml.push_str(&format!(
            "    <category term=\"{}\" label=\"{}\"/>\n",
            record.kind,
            record.kind.as_str().replace('_', " ")
        ));
        for tag in &record.tags {
            xml.push_str(&format!("    <category term=\"{}\"/>\n", escape(tag)));
        }
        xml.push_str(&format!(
            "    <content type=\"html\" xml:lang=\"{}\">{}</content>\n",
            record.lang,
            escape(&content_html(record))
        ));
        xml.push_str("  </entry>\n");
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

    #[test]
    fn empty_feed_is_well_formed() {
        let xml = render(&[], "http://x/v1/feed.atom?lang=en&kind=speech", Utc::now());
        assert!(xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
        assert!(xml.contains("lang=en&amp;kind=speech"));
        assert!(xml.trim_end().ends_with("</feed>"));
    }
}
