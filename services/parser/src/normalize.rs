//! Whitespace and text normalisation shared by every extractor.
//!
//! * Every run of whitespace (spaces, tabs, newlines, `&nbsp;` U+00A0, thin and figure spaces)
//!   becomes one ASCII space; the result is trimmed.
//! * Zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF) and soft hyphens (U+00AD)
//!   are removed.
//! * Typography (’ « » – — …) is kept exactly as written.
//! * A `<br>` inside a paragraph becomes [`LINE_BREAK`] (a newline), each line normalised on
//!   its own; empty lines are dropped.

/// What a `<br>` inside a paragraph becomes in `paragraphs`: a newline. Lines around it are
/// trimmed, so `a <br> b` gives `"a\nb"`.
pub const LINE_BREAK: char = '\n';

/// Whether `c` counts as whitespace for normalisation (includes `&nbsp;`).
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}')
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
    )
}

/// Collapses whitespace to single spaces and trims; removes invisible characters.
pub fn normalize_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    // Copy runs of ordinary characters as slices; only separators are looked at one by one.
    let mut run_start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        // Every non-ASCII space or invisible character is below U+0100 or at U+1680 and
        // above; Cyrillic and other letters in between need no table lookup.
        let separator = match c as u32 {
            0..=0x7f => matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'),
            0x80..=0xff | 0x1680.. => is_space(c) || is_invisible(c),
            _ => false,
        };
        if !separator {
            if run_start.is_none() {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                run_start = Some(i);
            }
            continue;
        }
        if let Some(start) = run_start.take() {
            out.push_str(&text[start..i]);
        }
        if !is_invisible(c) {
            pending_space = !out.is_empty();
        }
    }
    if let Some(start) = run_start {
        out.push_str(&text[start..]);
    }
    out
}

/// Normalises text that may contain [`LINE_BREAK`] markers from `<br>`: each line is
/// normalised with [`normalize_ws`], empty lines are dropped, lines are joined by a newline.
pub fn normalize_lines(text: &str) -> String {
    if !text.contains(LINE_BREAK_MARK) {
        return normalize_ws(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split(LINE_BREAK_MARK) {
        let line = normalize_ws(line);
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(LINE_BREAK);
        }
        out.push_str(&line);
    }
    out
}

/// Private marker the DOM walker writes for `<br>` (a source newline is ordinary whitespace).
pub(crate) const LINE_BREAK_MARK: char = '\u{e000}';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_nbsp_tabs_and_newlines() {
        assert_eq!(normalize_ws("  a\u{a0}\u{a0}b\t\n c  "), "a b c");
        assert_eq!(normalize_ws("\u{feff}x\u{200b}y"), "xy");
        assert_eq!(normalize_ws("a \u{200b} b"), "a b");
        assert_eq!(normalize_ws("Лавров\u{a0}– «да»"), "Лавров – «да»");
        assert_eq!(normalize_ws(" \u{a0} "), "");
    }

    #[test]
    fn keeps_typography() {
        let s = "Lavrov’s «remarks» – and — more…";
        assert_eq!(normalize_ws(s), s);
    }

    #[test]
    fn br_marks_become_newlines() {
        let text = format!(
            " first line {LINE_BREAK_MARK}  second\u{a0}line {LINE_BREAK_MARK}{LINE_BREAK_MARK} "
        );
        assert_eq!(normalize_lines(&text), "first line\nsecond line");
        assert_eq!(normalize_lines("no\nbreaks"), "no breaks");
    }
}
