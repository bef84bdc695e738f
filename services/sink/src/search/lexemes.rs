//! The words of a record and of a query as PostgreSQL's search indexes hold them: lower case,
//! stop words left out, Snowball stems (numbers and words with digits as written), the
//! language's own stop list and stemmer (in Russian, Latin words with the English ones) —
//! what PostgreSQL's text search configurations of the same names do. The sink makes the
//! search vector of every record ([`document_vector`]) and the `tsquery` of every search
//! ([`tsquery`]) with this one code, so they always agree, and the server's CPU is left to the
//! index: `to_tsvector` cost a write about 0.35–0.7 ms of the server's time, mostly its
//! tokeniser's per-character work.
//!
//! Words are runs of letters and digits ([`super::words_of`]), everywhere: in a body, a title
//! and a query. Every word takes a position, stop words too, so a phrase keeps its distances
//! (`"minister of foreign affairs"` is `'minist' <2> 'foreign' <-> 'affair'`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

use foldhash::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};
use shared::Lang;
use shared::text::lowercase;

use super::tsvector::{TsVector, Weight, Writer};
use super::{Phrase, Terms, words_of};

/// Highest position PostgreSQL keeps (later words share it).
const MAX_POSITION: u16 = 16_383;
/// Most positions PostgreSQL keeps for one lexeme.
const MAX_POSITIONS_PER_LEXEME: usize = 256;
/// Longest lexeme PostgreSQL accepts, in bytes (longer words are not indexed).
const MAX_LEXEME_BYTES: usize = 2_046;

/// A language's stop words and stemmer.
struct Dictionary {
    stop_words: HashSet<&'static str>,
    stemmer: Stemmer,
}

impl Dictionary {
    fn new(stop_list: &'static str, algorithm: Algorithm) -> Dictionary {
        Dictionary {
            stop_words: stop_list
                .lines()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .collect(),
            stemmer: Stemmer::create(algorithm),
        }
    }
}

/// The dictionaries, in the order of [`Lang::ALL`]. The stop lists are PostgreSQL's (from
/// the Snowball project).
static DICTIONARIES: LazyLock<[Dictionary; 6]> = LazyLock::new(|| {
    [
        Dictionary::new(include_str!("stop/english.stop"), Algorithm::English),
        Dictionary::new(include_str!("stop/russian.stop"), Algorithm::Russian),
        Dictionary::new(include_str!("stop/german.stop"), Algorithm::German),
        Dictionary::new(include_str!("stop/french.stop"), Algorithm::French),
        Dictionary::new(include_str!("stop/spanish.stop"), Algorithm::Spanish),
        Dictionary::new(include_str!("stop/portuguese.stop"), Algorithm::Portuguese),
    ]
});

fn lang_index(lang: Lang) -> usize {
    Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)
}

fn dictionary(lang: Lang) -> &'static Dictionary {
    &DICTIONARIES[lang_index(lang)]
}

/// Words remembered per thread and language before the memory is emptied (an archive's
/// vocabulary is mostly a few tens of thousands of words; a Snowball stem costs about a
/// microsecond, finding a remembered word a few nanoseconds).
const REMEMBERED_WORDS: usize = 50_000;

/// The lexemes of the words met so far in one language, each lexeme numbered once.
#[derive(Default)]
struct Lexicon {
    /// Lexeme number by word as written; `None` for a stop word.
    by_word: HashMap<Box<str>, Option<u32>>,
    /// Lexeme number by lexeme (two spellings of a word share one).
    numbers: HashMap<Box<str>, u32>,
    /// Lexemes by number.
    lexemes: Vec<Box<str>>,
}

impl Lexicon {
    /// The number of `word`'s lexeme in `lang`; `None` for a stop word.
    fn number(&mut self, lang: Lang, word: &str) -> Option<u32> {
        if let Some(number) = self.by_word.get(word) {
            return *number;
        }
        let number = stem(lang, &lowercase(word)).map(|lexeme| {
            *self
                .numbers
                .entry(lexeme.as_str().into())
                .or_insert_with(|| {
                    self.lexemes.push(lexeme.into());
                    u32::try_from(self.lexemes.len() - 1).unwrap_or(u32::MAX)
                })
        });
        self.by_word.insert(word.into(), number);
        number
    }
}

thread_local! {
    /// Each language's [`Lexicon`] (in the order of [`Lang::ALL`]) on this thread.
    static LEXICONS: RefCell<[Lexicon; 6]> = RefCell::default();
}

/// Runs `f` with `lang`'s lexicon on this thread, emptied first when it has grown too large.
fn with_lexicon<T>(lang: Lang, f: impl FnOnce(&mut Lexicon) -> T) -> T {
    LEXICONS.with_borrow_mut(|lexicons| {
        let lexicon = &mut lexicons[lang_index(lang)];
        if lexicon.by_word.len() >= REMEMBERED_WORDS {
            *lexicon = Lexicon::default();
        }
        f(lexicon)
    })
}

/// The lexeme `word` is searched by in `lang`; `None` for a stop word or a word too long to
/// index. `word` is one run of letters and digits.
pub fn lexeme(lang: Lang, word: &str) -> Option<String> {
    with_lexicon(lang, |lexicon| {
        let number = lexicon.number(lang, word)?;
        Some(lexicon.lexemes[number as usize].to_string())
    })
}

/// [`lexeme`] of a word already in lower case, without the cache.
fn stem(lang: Lang, lower: &str) -> Option<String> {
    if lower.len() > MAX_LEXEME_BYTES {
        return None;
    }
    if lower.chars().any(char::is_numeric) {
        return Some(lower.to_string());
    }
    let dictionary = if lang == Lang::Ru && lower.is_ascii() {
        dictionary(Lang::En)
    } else {
        dictionary(lang)
    };
    if dictionary.stop_words.contains(lower) {
        return None;
    }
    // Russian stems ё as е (as PostgreSQL's Russian stemmer does).
    let lower: Cow<'_, str> = if lang == Lang::Ru && lower.contains('ё') {
        Cow::Owned(lower.replace('ё', "е"))
    } else {
        Cow::Borrowed(lower)
    };
    Some(dictionary.stemmer.stem(&lower).into_owned())
}

/// A word of a vector: its lexeme's number, position and weight.
type Entry = (u32, u16, Weight);

/// The search vector of a record: the title's words with weight A, then the body's with
/// weight B, positions counted over both.
pub fn document_vector(lang: Lang, title: &str, body: &str) -> TsVector {
    with_lexicon(lang, |lexicon| {
        // (lexeme number, position, weight) of every word that is not a stop word.
        let mut entries: Vec<Entry> = Vec::with_capacity(body.len() / 8);
        let mut position: u16 = 0;
        for (text, weight) in [(title, Weight::A), (body, Weight::B)] {
            for word in words_of(text) {
                position = position.saturating_add(1).min(MAX_POSITION);
                if let Some(number) = lexicon.number(lang, word) {
                    entries.push((number, position, weight));
                }
            }
        }
        entries.sort_unstable();
        // Each lexeme's entries, the lexemes in byte order as the server keeps them.
        let mut lexemes: Vec<(&str, &[Entry])> = entries
            .chunk_by(|a, b| a.0 == b.0)
            .map(|same| (&*lexicon.lexemes[same[0].0 as usize], same))
            .collect();
        lexemes.sort_unstable_by_key(|&(lexeme, _)| lexeme.as_bytes());
        let mut vector = Writer::new(lexemes.len(), entries.len() * 3 + lexemes.len() * 10);
        for (lexeme, same) in lexemes {
            vector.lexeme(lexeme);
            let mut last = 0;
            for (i, &(_, position, weight)) in same.iter().enumerate() {
                // Words past the last position all share it: PostgreSQL keeps it once.
                if position == last || i >= MAX_POSITIONS_PER_LEXEME {
                    continue;
                }
                last = position;
                vector.position(position, weight);
            }
        }
        vector.finish()
    })
}

/// A search as PostgreSQL `tsquery` text for one language's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsQuery {
    /// The `tsquery` text (every lexeme quoted).
    pub text: String,
    /// The lexemes of the phrases a match may contain (not the excluded ones), each once:
    /// where a snippet may start.
    pub lexemes: Vec<String>,
}

/// `terms` as a `tsquery` for `lang`'s records; `None` when nothing but stop words is left to
/// search for in `lang`.
pub fn tsquery(lang: Lang, terms: &Terms) -> Option<TsQuery> {
    let mut lexemes: Vec<String> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    for group in &terms.groups {
        let alternatives: Vec<String> = group
            .iter()
            .filter_map(|words| {
                let phrase = phrase(lang, words)?;
                for lexeme in phrase.1 {
                    if !lexemes.contains(&lexeme) {
                        lexemes.push(lexeme);
                    }
                }
                Some(phrase.0)
            })
            .collect();
        match alternatives.len() {
            0 => {}
            1 => groups.extend(alternatives),
            _ => groups.push(format!("( {} )", alternatives.join(" | "))),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let mut text = groups.join(" & ");
    for words in &terms.excluded {
        if let Some((excluded, _)) = phrase(lang, words) {
            let _ = write!(text, " & !{excluded}");
        }
    }
    Some(TsQuery { text, lexemes })
}

/// One phrase as `tsquery` text (`'a'`, or `( 'a' <-> 'b' <2> 'c' )` with the stop words'
/// distances) and its lexemes; `None` when it has only stop words.
fn phrase(lang: Lang, words: &Phrase) -> Option<(String, Vec<String>)> {
    let mut text = String::new();
    let mut lexemes = Vec::new();
    let mut distance = 0;
    for word in words.iter().flat_map(|w| words_of(w)) {
        distance += 1;
        let Some(lexeme) = lexeme(lang, word) else {
            continue;
        };
        if !lexemes.is_empty() {
            if distance == 1 {
                text.push_str(" <-> ");
            } else {
                let _ = write!(text, " <{distance}> ");
            }
        }
        push_quoted(&mut text, &lexeme);
        lexemes.push(lexeme);
        distance = 0;
    }
    match lexemes.len() {
        0 => None,
        1 => Some((text, lexemes)),
        _ => Some((format!("( {text} )"), lexemes)),
    }
}

/// Appends `lexeme` in single quotes, quotes and backslashes escaped as PostgreSQL reads them.
fn push_quoted(out: &mut String, lexeme: &str) {
    out.push('\'');
    for c in lexeme.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(lang: Lang, q: &str) -> Option<String> {
        tsquery(lang, &Terms::parse(q)?).map(|t| t.text)
    }

    /// The vector's lexemes with their positions, sorted, for comparing.
    fn entries(vector: &str) -> Vec<String> {
        let mut entries: Vec<String> = vector.split(' ').map(str::to_string).collect();
        entries.sort();
        entries
    }

    #[test]
    fn words_become_lowercase_stems_without_stop_words() {
        assert_eq!(lexeme(Lang::En, "Sanctions"), Some("sanction".into()));
        assert_eq!(lexeme(Lang::En, "the"), None);
        assert_eq!(lexeme(Lang::En, "G20"), Some("g20".into()));
        assert_eq!(lexeme(Lang::En, "2022"), Some("2022".into()));
        assert_eq!(lexeme(Lang::Ru, "Санкции"), Some("санкц".into()));
        assert_eq!(lexeme(Lang::Ru, "и"), None);
        // Latin words in a Russian text: English stop words and stems.
        assert_eq!(lexeme(Lang::Ru, "policies"), Some("polici".into()));
        assert_eq!(lexeme(Lang::Ru, "the"), None);
        assert_eq!(lexeme(Lang::Ru, "Ёлка"), lexeme(Lang::Ru, "елка"));
        assert_eq!(lexeme(Lang::De, "und"), None);
        assert_eq!(lexeme(Lang::En, &"a".repeat(3_000)), None);
    }

    #[test]
    fn a_vector_weighs_the_title_above_the_body_and_counts_every_word() {
        let vector = document_vector(
            Lang::En,
            "Lavrov's remarks",
            "The Minister's remarks on foreign-policy, 2.5 times",
        )
        .to_text();
        assert_eq!(
            entries(&vector),
            vec![
                "'2':11B",
                "'5':12B",
                "'foreign':9B",
                "'lavrov':1A",
                "'minist':5B",
                "'polici':10B",
                "'remark':3A,7B",
                "'time':13B",
            ]
        );
        assert_eq!(document_vector(Lang::En, "", "").to_text(), "");
    }

    #[test]
    fn a_vector_keeps_what_postgresql_keeps() {
        let body = "word ".repeat(20_000);
        let vector = document_vector(Lang::En, "", &body).to_text();
        let positions: Vec<&str> = vector.trim_start_matches("'word':").split(',').collect();
        assert_eq!(positions.len(), MAX_POSITIONS_PER_LEXEME);
        assert_eq!(positions[0], "1B");
        let late = document_vector(Lang::En, "", &format!("{}late", "x ".repeat(20_000))).to_text();
        assert!(late.contains("'late':16383B"), "{late}");
    }

    #[test]
    fn queries_become_tsquery_text() {
        assert_eq!(query(Lang::En, "Sanctions").unwrap(), "'sanction'");
        assert_eq!(
            query(
                Lang::En,
                "\"minister of foreign affairs\" NATO OR OTAN -expansion"
            )
            .unwrap(),
            "( 'minist' <2> 'foreign' <-> 'affair' ) & ( 'nato' | 'otan' ) & !'expans'"
        );
        assert_eq!(query(Lang::En, "G-20").unwrap(), "( 'g' <-> '20' )");
        // A trailing stop word adds nothing ("s" is one).
        assert_eq!(query(Lang::En, "U.S.").unwrap(), "'u'");
        assert_eq!(query(Lang::Ru, "санкции").unwrap(), "'санкц'");
        // Only stop words: nothing to search for in that language.
        assert_eq!(query(Lang::En, "the OR of"), None);
        assert_eq!(
            query(Lang::En, "\"the\" sanctions -\"of\"").unwrap(),
            "'sanction'"
        );
        // Input never escapes its quotes.
        assert_eq!(query(Lang::En, "x' | !'y").unwrap(), "'x' & 'y'");
    }

    #[test]
    fn a_query_knows_the_lexemes_a_match_contains() {
        let terms = Terms::parse("\"strategic stability\" OR talks -sanctions talks").unwrap();
        let query = tsquery(Lang::En, &terms).unwrap();
        assert_eq!(query.lexemes, vec!["strateg", "stabil", "talk"]);
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        let mut out = String::new();
        push_quoted(&mut out, "o'neil\\x");
        assert_eq!(out, "'o''neil\\\\x'");
    }
}
