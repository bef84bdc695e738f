//! Full-text search as the sink understands it, free of I/O: the web-search syntax of `q`
//! (`word`, `"a phrase"`, `OR`, `-word`) read once into [`Terms`], written out as an SQLite
//! FTS5 query ([`Terms::fts5`]) or, through [`lexemes`], as a PostgreSQL `tsquery`; and the
//! search vector of a record, made by the same code as the query's words.

pub mod lexemes;
pub mod tsvector;

use shared::text::is_alphanumeric;

/// Most words or phrases in one search.
const MAX_TERMS: usize = 32;

/// A phrase: words as typed, in order (one word is a phrase of one).
pub type Phrase = Vec<String>;

/// What a search asks for: every group must match, a group when one of its phrases does,
/// and no excluded phrase may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// Groups of alternatives (`a OR b` is one group of two).
    pub groups: Vec<Vec<Phrase>>,
    /// Phrases after `-`.
    pub excluded: Vec<Phrase>,
}

enum Token {
    Term { words: Phrase, negated: bool },
    Or,
}

/// The words of `text`: its runs of letters and digits, as written.
pub fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_alphanumeric(c))
        .filter(|w| !w.is_empty())
}

impl Terms {
    /// Reads web-search syntax. `None` when nothing positive is left to search for (only
    /// exclusions, only `OR`, no words). At most [`MAX_TERMS`] words or phrases are read.
    pub fn parse(q: &str) -> Option<Terms> {
        let mut groups: Vec<Vec<Phrase>> = Vec::new();
        let mut excluded: Vec<Phrase> = Vec::new();
        let mut join_next = false;
        let mut terms = 0;
        for token in tokens(q) {
            match token {
                Token::Or => join_next = !groups.is_empty(),
                Token::Term { words, negated } => {
                    terms += 1;
                    if terms > MAX_TERMS {
                        break;
                    }
                    match groups.last_mut() {
                        _ if negated => excluded.push(words),
                        Some(group) if join_next => group.push(words),
                        _ => groups.push(vec![words]),
                    }
                    join_next = false;
                }
            }
        }
        (!groups.is_empty()).then_some(Terms { groups, excluded })
    }

    /// The SQLite FTS5 query: every phrase quoted, so no input can be an FTS5 syntax error
    /// or operator.
    pub fn fts5(&self) -> String {
        let quote = |words: &Phrase| format!("\"{}\"", words.join(" "));
        let mut expr = self
            .groups
            .iter()
            .map(|group| {
                let alternatives: Vec<String> = group.iter().map(quote).collect();
                if alternatives.len() > 1 {
                    format!("({})", alternatives.join(" OR "))
                } else {
                    alternatives.concat()
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        for phrase in &self.excluded {
            expr = format!("({expr}) NOT {}", quote(phrase));
        }
        expr
    }
}

/// The tokens of web-search syntax: words and quoted phrases (maybe after `-`), and `OR`.
fn tokens(q: &str) -> impl Iterator<Item = Token> + '_ {
    let mut chars = q.chars().peekable();
    std::iter::from_fn(move || {
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            chars.peek()?;
            let negated = chars.next_if_eq(&'-').is_some();
            let mut raw = String::new();
            if chars.next_if_eq(&'"').is_some() {
                raw.extend(chars.by_ref().take_while(|&c| c != '"'));
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '"') {
                    raw.push(c);
                }
                if raw == "OR" && !negated {
                    return Some(Token::Or);
                }
            }
            let words: Phrase = words_of(&raw).map(str::to_string).collect();
            if !words.is_empty() {
                return Some(Token::Term { words, negated });
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts5(q: &str) -> Option<String> {
        Terms::parse(q).map(|terms| terms.fts5())
    }

    #[test]
    fn search_syntax_becomes_quoted_fts5() {
        assert_eq!(fts5("sanctions").unwrap(), "\"sanctions\"");
        assert_eq!(
            fts5("\"Security Council\" Ukraine").unwrap(),
            "\"Security Council\" AND \"Ukraine\""
        );
        assert_eq!(
            fts5("NATO OR OTAN -expansion").unwrap(),
            "((\"NATO\" OR \"OTAN\")) NOT \"expansion\""
        );
        assert_eq!(fts5("U.S.").unwrap(), "\"U S\"");
        assert_eq!(fts5("санкции").unwrap(), "\"санкции\"");
        assert_eq!(fts5("x\" OR 1=1; --").unwrap(), "\"x\" AND \"OR 1 1\"");
        assert!(fts5("-only").is_none());
        assert!(fts5("OR").is_none());
        assert!(fts5("\"\"").is_none());
    }

    #[test]
    fn terms_group_alternatives_and_keep_exclusions_apart() {
        let terms = Terms::parse("a OR \"b c\" d -e -\"f g\" OR").unwrap();
        let phrase = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Phrase>();
        assert_eq!(
            terms.groups,
            vec![
                vec![phrase(&["a"]), phrase(&["b", "c"])],
                vec![phrase(&["d"])]
            ]
        );
        assert_eq!(terms.excluded, vec![phrase(&["e"]), phrase(&["f", "g"])]);
        // A leading OR joins nothing; an unclosed quote runs to the end.
        let terms = Terms::parse("OR x \"y z").unwrap();
        assert_eq!(
            terms.groups,
            vec![vec![phrase(&["x"])], vec![phrase(&["y", "z"])]]
        );
    }

    #[test]
    fn at_most_max_terms_are_read() {
        let q = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(Terms::parse(&q).unwrap().groups.len(), MAX_TERMS);
    }
}
