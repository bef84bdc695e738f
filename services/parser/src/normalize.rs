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

/// What a character is to [`normalize_ws`]: a space, an invisible character (removed), or
/// `None`: ordinary text.
fn separator(c: char) -> Option<Separator> {
    let space = if c.is_ascii() {
        matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
    } else {
        is_space(c)
    };
    if space {
        Some(Separator::Space)
    } else if is_invisible(c) {
        Some(Separator::Invisible)
    } else {
        None
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Separator {
    Space,
    Invisible,
}

/// Whether a byte of UTF-8 text may start a separator: the ASCII spaces, and the lead bytes
/// of every non-ASCII space or invisible character (U+0085, U+00A0, U+00AD: `C2`; U+1680:
/// `E1`; U+2000–U+2060: `E2`; U+3000: `E3`; U+FEFF: `EF`). Other bytes, Cyrillic letters'
/// included, are ordinary text, so runs of them are skipped without decoding characters.
fn may_start_separator(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | 0xc2 | 0xe1..=0xe3 | 0xef
    )
}

/// Bytes of text passed over per step by [`skip_plain`].
const PLAIN_STEP: usize = 16;

/// The first position, from `at` on in steps of [`PLAIN_STEP`] bytes, whose window may hold
/// something other than plain text: a byte that may start a separator other than a space, or
/// a space followed by one that may (a lone space between words is plain). Every window is
/// read with the byte after it, so a space at its end is judged with its successor. Compiles
/// to vector compares; may stop inside a character, whose continuation bytes start nothing.
fn skip_plain(bytes: &[u8], mut at: usize) -> usize {
    while let Some(Ok(window)) = bytes
        .get(at..at + PLAIN_STEP + 1)
        .map(<&[u8; PLAIN_STEP + 1]>::try_from)
    {
        let mut special = false;
        for i in 0..PLAIN_STEP {
            let (b, next) = (window[i], window[i + 1]);
            special |= (b != b' ') & starts_separator_branchless(b)
                | (b == b' ') & starts_separator_branchless(next);
        }
        if special {
            break;
        }
        at += PLAIN_STEP;
    }
    at
}

/// [`may_start_separator`] without branches, so that a window is tested in vector registers.
fn starts_separator_branchless(b: u8) -> bool {
    (b == b' ')
        | (b == b'\t')
        | (b == b'\n')
        | (b == b'\r')
        | (b == b'\x0c')
        | (b == 0xc2)
        | (b.wrapping_sub(0xe1) < 3)
        | (b == 0xef)
}

/// Collapses whitespace to single spaces and trims; removes invisible characters.
pub fn normalize_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    // Ordinary text is copied in runs: `run_start..` is the run not yet copied.
    let mut run_start = 0;
    let mut at = 0;
    loop {
        // Inside a run (or where none starts with a space), whole windows of plain text are
        // passed over at once.
        if at > run_start || text.as_bytes().get(at).is_some_and(|&b| b != b' ') {
            at = skip_plain(text.as_bytes(), at);
        }
        let Some(offset) = text.as_bytes()[at..]
            .iter()
            .position(|&b| may_start_separator(b))
        else {
            break;
        };
        let start = at + offset;
        // `start` is a lead byte, so a character starts there.
        let Some(c) = text[start..].chars().next() else {
            break;
        };
        at = start + c.len_utf8();
        // A single space between words is kept in the run: most text is copied in one piece.
        if c == ' '
            && run_start < start
            && text
                .as_bytes()
                .get(at)
                .is_some_and(|&b| !may_start_separator(b))
        {
            continue;
        }
        let Some(kind) = separator(c) else {
            continue;
        };
        if run_start < start {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push_str(&text[run_start..start]);
        }
        run_start = at;
        if kind == Separator::Space {
            pending_space = !out.is_empty();
        }
    }
    if run_start < text.len() {
        if pending_space {
            out.push(' ');
        }
        out.push_str(&text[run_start..]);
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

pub use shared::text::{is_alphanumeric, lowercase};

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

    /// The byte scan finds exactly the separators a character-by-character reading finds.
    #[test]
    fn every_character_is_classified_as_by_characters() {
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            let expected = match separator(c) {
                Some(Separator::Space) => "a b",
                Some(Separator::Invisible) => "ab",
                None => "",
            };
            let got = normalize_ws(&format!("a{c}b"));
            if expected.is_empty() {
                assert_eq!(got, format!("a{c}b"), "U+{:04X}", u32::from(c));
            } else {
                assert_eq!(got, expected, "U+{:04X}", u32::from(c));
            }
        }
    }

    #[test]
    fn the_branchless_byte_test_is_the_byte_test() {
        for b in 0..=u8::MAX {
            assert_eq!(
                starts_separator_branchless(b),
                may_start_separator(b),
                "{b:#x}"
            );
        }
    }

    /// The reading the byte scan must agree with: character by character.
    fn normalize_by_chars(text: &str) -> String {
        let mut out = String::new();
        let mut pending_space = false;
        for c in text.chars() {
            match separator(c) {
                Some(Separator::Space) => pending_space = !out.is_empty(),
                Some(Separator::Invisible) => {}
                None => {
                    if pending_space {
                        out.push(' ');
                        pending_space = false;
                    }
                    out.push(c);
                }
            }
        }
        out
    }

    proptest::proptest! {
        /// Long texts of words, spaces, typography and invisible characters in any order
        /// (the window scan of plain text only starts on texts over 16 bytes).
        #[test]
        fn long_texts_normalize_as_by_characters(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "word", "слово", " ", "  ", "\n", "\t", "\u{a0}", "\u{200b}", "\u{ad}",
                    "«", "»", "—", "…", "’", "x", "Ж", " \u{202f}", "\u{2007}", "\u{feff}", "1.",
                ]),
                0..80,
            )
        ) {
            let text: String = pieces.concat();
            proptest::prop_assert_eq!(normalize_ws(&text), normalize_by_chars(&text));
        }
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
