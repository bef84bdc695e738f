//! Character tests and case mapping for the sources' text, as the standard library answers
//! them, with fast paths for ASCII and the Russian alphabet (the parser lowers titles and
//! tests word boundaries around every cue; the sink splits every record into words for search).

/// The text in lower case, exactly as [`str::to_lowercase`] writes it, with a fast path for
/// the letters of the sources' languages: ASCII and the basic Cyrillic block map by adding a
/// constant, where the standard library searches the whole Unicode case table for every
/// non-ASCII letter. (Titles, labels and keys are lowered several times per page.)
#[inline]
pub fn lowercase(text: &str) -> String {
    // Σ lowers by context (word-final ς): only the standard library knows that rule.
    if text.contains('Σ') {
        return text.to_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '\0'..='\u{7f}' => out.push(c),
            // А..Я → а..я; Ѐ..Џ → ѐ..џ (Ё → ё); а..я and ѐ..џ are already lower case.
            '\u{410}'..='\u{42f}' => out.push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c)),
            '\u{400}'..='\u{40f}' => out.push(char::from_u32(u32::from(c) + 0x50).unwrap_or(c)),
            '\u{430}'..='\u{45f}' => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// [`char::is_alphanumeric`], answered without a table search for ASCII and the Russian
/// alphabet (word boundaries are tested around every cue, name and title word).
#[inline]
pub fn is_alphanumeric(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | 'А'..='я' | 'Ё' | 'ё' => true,
        '\0'..='\u{7f}' => false,
        _ => c.is_alphanumeric(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_alphanumeric_is_the_standard_test() {
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            assert_eq!(
                is_alphanumeric(c),
                c.is_alphanumeric(),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    /// Every character lowers as the standard library lowers it, alone and in a word.
    #[test]
    fn lowercase_is_the_standard_lower_case() {
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            let alone = c.to_string();
            assert_eq!(
                lowercase(&alone),
                alone.to_lowercase(),
                "U+{:04X}",
                u32::from(c)
            );
            let word = format!("Ab{c}Яё");
            assert_eq!(
                lowercase(&word),
                word.to_lowercase(),
                "U+{:04X}",
                u32::from(c)
            );
        }
        for text in ["ΟΔΟΣ ΣΑΣ", "Сергей ЛАВРОВ: Ёлка", "İstanbul", "ǅ ß ẞ"]
        {
            assert_eq!(lowercase(text), text.to_lowercase(), "{text}");
        }
    }
}
