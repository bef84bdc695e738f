//! The title grammar: the site suffix, and the place and date at the end of a title.
//!
//! Tails understood (the date must end the title; a closing parenthesis or dot may follow):
//!
//! | tail | location | event_date |
//! | --- | --- | --- |
//! | `…, Moscow, April 19, 2022` | `Moscow` | 2022-04-19 |
//! | `…, Nur-Sultan, Kazakhstan, September 14, 2022` | `Nur-Sultan, Kazakhstan` | 2022-09-14 |
//! | `…, Москва, 19 апреля 2022 года` | `Москва` | 2022-04-19 |
//! | `… (Moscow, July 18, 2024)` | `Moscow` | 2024-07-18 |
//! | `… (Москва, 4 октября 2024 года)` | `Москва` | 2024-10-04 |
//! | `… (13 марта 2024 года)` | null | 2024-03-13 |
//! | `…, Sochi, 20 May 2013` | `Sochi` | 2013-05-20 |
//! | `… MOSCOW, JANUARY 23, 2003` | `MOSCOW` | 2003-01-23 |
//! | `… published on April 29, 2013` / `…, April 19, 2022` | null | the date |
//!
//! A location is the text between the previous comma or opening parenthesis and the date:
//! at most five words, starting with a capital letter, without digits, and never the start
//! of the title itself. When the profile has a gazetteer (`parse.title.places`), that text
//! must also be a place the gazetteer knows, a single capitalised word (a town it does not
//! list), or two or three capitalised words opening with one of the gazetteer's place
//! prefixes (lines ending in ` *`: `Nizhny *` admits "Nizhny Tagil"): in "…Heart of Asia –
//! Istanbul Process on Afghanistan, March 30, 2021" the grammar offers "Istanbul Process on
//! Afghanistan", which is no place.

use std::collections::HashSet;

use chrono::NaiveDate;
use regex::Regex;
use shared::profile::{ProfileError, SourceProfile, compile_regex};

use crate::dates::DateGrammar;
use crate::normalize::{lowercase, normalize_ws};

/// Place and date from the end of a title.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TitleTail {
    /// The place as written, if the title names one before the date.
    pub location: Option<String>,
    /// The date that ends the title.
    pub event_date: Option<NaiveDate>,
}

/// A source's title grammar, compiled once (`[parse.title]`).
#[derive(Debug, Clone)]
pub struct TitleGrammar {
    suffixes: Vec<String>,
    tail: Vec<Regex>,
    delimiters: Vec<char>,
    max_words: usize,
    /// The profile's gazetteer, when it has one.
    places: Option<Gazetteer>,
}

/// Places a title may name: whole names and the first words of many-word names, as
/// [`place_key`]s.
#[derive(Debug, Clone, Default)]
struct Gazetteer {
    names: HashSet<String>,
    prefixes: HashSet<String>,
}

impl Gazetteer {
    /// Reads a gazetteer file: one name a line, `#` comments, `Prefix *` lines for prefixes.
    fn parse(text: &str) -> Self {
        let mut gazetteer = Gazetteer::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(prefix) = line.strip_suffix(" *") {
                gazetteer.prefixes.insert(place_key(prefix));
            } else if !line.is_empty() {
                gazetteer.names.insert(place_key(line));
            }
        }
        gazetteer
    }

    /// Whether `candidate` (capitalised, at most the grammar's word count) is a place.
    fn admits(&self, candidate: &str) -> bool {
        if self.names.contains(&place_key(candidate)) {
            return true;
        }
        let words: Vec<&str> = candidate.split_whitespace().collect();
        let plain = |w: &&str| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().all(|c| c.is_alphabetic() || c == '-')
        };
        match words.len() {
            // A town it does not list: one capitalised word.
            1 => words.iter().all(plain),
            2 | 3 => {
                words.iter().all(plain)
                    && words[0]
                        .split('-')
                        .next()
                        .is_some_and(|first| self.prefixes.contains(&place_key(first)))
            }
            _ => false,
        }
    }
}

/// How a place is compared with the gazetteer: lower case, `ё` as `е`, dots dropped,
/// hyphens as spaces, single spaces.
pub fn place_key(name: &str) -> String {
    lowercase(name)
        .replace('ё', "е")
        .replace(['.', '’', '\''], "")
        .replace(['-', '‐', '–'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl TitleGrammar {
    /// Compiles the title rules of `profile` (month names from `dates`).
    pub fn compile(profile: &SourceProfile, dates: &DateGrammar) -> Result<Self, ProfileError> {
        let rules = &profile.parse.title;
        let tail = rules
            .tail
            .iter()
            .enumerate()
            .map(|(i, p)| {
                compile_regex(profile, &format!("parse.title.tail[{i}]"), &dates.expand(p))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TitleGrammar {
            suffixes: rules.suffixes.clone(),
            tail,
            delimiters: rules
                .place_delimiters
                .iter()
                .filter_map(|d| d.chars().next())
                .collect(),
            max_words: rules.place_max_words,
            places: profile.places_text.as_deref().map(Gazetteer::parse),
        })
    }

    /// Removes the site suffix from a `<title>` text and normalises whitespace.
    pub fn strip_site_suffix(&self, title: &str) -> String {
        let title = normalize_ws(title);
        // The suffixes are written normalised.
        for suffix in &self.suffixes {
            if let Some(stripped) = title.strip_suffix(suffix.as_str()) {
                return stripped.trim().to_string();
            }
            if title == suffix.trim_start_matches(['-', '–', '|', '_', '•', ' ']) {
                return String::new();
            }
        }
        title
    }

    /// Parses the place and date at the end of `title` (see the module table): the first
    /// tail pattern that matches gives the date.
    pub fn parse_tail(&self, title: &str, dates: &DateGrammar) -> TitleTail {
        let found = self.tail.iter().find_map(|pattern| {
            let caps = pattern.captures(title)?;
            let date = dates.date_of(&caps)?;
            Some((caps.name("date")?.start(), date))
        });
        let Some((start, date)) = found else {
            return TitleTail::default();
        };
        TitleTail {
            location: self.location_before(&title[..start]),
            event_date: Some(date),
        }
    }

    fn location_before(&self, prefix: &str) -> Option<String> {
        let prefix = prefix.trim_end();
        let prefix = prefix.strip_suffix(',')?.trim_end();
        let cut = prefix.rfind(self.delimiters.as_slice())?;
        let delimiter_len = prefix[cut..].chars().next().map_or(1, char::len_utf8);
        let candidate = prefix[cut + delimiter_len..].trim();
        let words = candidate.split_whitespace().count();
        let first = candidate.chars().next()?;
        if words == 0
            || words > self.max_words
            || !first.is_uppercase()
            || candidate
                .chars()
                .any(|c| c.is_ascii_digit() || c == '«' || c == '"' || c == '“')
        {
            return None;
        }
        let Some(places) = &self.places else {
            return Some(candidate.to_string());
        };
        if !places.admits(candidate) {
            return None;
        }
        // "…, Nur-Sultan, Kazakhstan, September 14, 2022": a city the gazetteer knows before a
        // region or country it knows is part of the place.
        if prefix[cut..].starts_with(',') && places.names.contains(&place_key(candidate)) {
            let before = prefix[..cut].trim_end();
            if let Some(prev_cut) = before.rfind(self.delimiters.as_slice()) {
                let prev_len = before[prev_cut..].chars().next().map_or(1, char::len_utf8);
                let prev = before[prev_cut + prev_len..].trim();
                if places.names.contains(&place_key(prev)) {
                    return Some(format!("{prev}, {candidate}"));
                }
            }
        }
        Some(candidate.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grammar(name: &str) -> (TitleGrammar, DateGrammar) {
        let profile = SourceProfile::builtin(name).unwrap();
        let dates = DateGrammar::compile(&profile).unwrap();
        (TitleGrammar::compile(&profile, &dates).unwrap(), dates)
    }

    fn parse_tail(title: &str) -> TitleTail {
        let (g, d) = grammar("mid.ru");
        g.parse_tail(title, &d)
    }

    fn strip_site_suffix(title: &str) -> String {
        grammar("mid.ru").0.strip_site_suffix(title)
    }

    fn tail(title: &str) -> (Option<String>, Option<String>) {
        let t = parse_tail(title);
        (t.location, t.event_date.map(|d| d.to_string()))
    }

    fn both(loc: &str, date: &str) -> (Option<String>, Option<String>) {
        (Some(loc.into()), Some(date.into()))
    }

    #[test]
    fn suffix_is_removed_and_typography_kept() {
        assert_eq!(
            strip_site_suffix(
                "Foreign Minister Sergey Lavrov’s remarks\u{a0} - Министерство иностранных дел Российской Федерации"
            ),
            "Foreign Minister Sergey Lavrov’s remarks"
        );
        assert_eq!(strip_site_suffix("  «Title» – x "), "«Title» – x");
    }

    #[test]
    fn real_titles_english() {
        assert_eq!(
            tail(
                "Briefing by Foreign Ministry Spokesperson Maria Zakharova, Moscow, April 19, 2017"
            ),
            both("Moscow", "2017-04-19")
        );
        assert_eq!(
            tail(
                "Briefing by Foreign Ministry Spokesperson Maria Zakharova on the sidelines of the International Public Diplomacy Forum, Dialogue on the Volga: Peace and Mutual Understanding in the 21st Century, Volgograd, November 1, 2019"
            ),
            both("Volgograd", "2019-11-01")
        );
        assert_eq!(
            tail(
                "Briefing by Foreign Ministry Spokeswoman Maria Zakharova (Moscow, November 22, 2023)"
            ),
            both("Moscow", "2023-11-22")
        );
        assert_eq!(
            tail(
                "Foreign Minister Sergey Lavrov’s address to the participants of the Face to Face with the World: Intercivilisational and Intercultural Dialogue as a Foundation for Peaceful Coexistence of States videoconference (Moscow, July 18, 2024)"
            ),
            both("Moscow", "2024-07-18")
        );
        assert_eq!(
            tail(
                "Speech of and answers to questions of mass media by Russian Foreign Minister Sergey Lavrov during joint press conference summarizing the results of negotiations with Secretary General of the Council of Europe Thorbjørn Jagland, Sochi, 20 May 2013"
            ),
            both("Sochi", "2013-05-20")
        );
        assert_eq!(
            tail(
                "Statement by H.E. Ambassador Anatoly Antonov, Head of the Delegation of the Russian Federation at the Third Session of the Preparatory Committee for the 2010 Review Conference ..., New York, 4 May 2009"
            ),
            both("New York", "2009-05-04")
        );
        assert_eq!(
            tail(
                "INTERVIEW WITH RUSSIAN FOREIGN MINISTER IGOR IVANOV GRANTED TO THE NEWSPAPER TRUD-7 PUBLISHED UNDER THE HEADLINE \"IGOR IVANOV: WE HAVE COME TO THINK IN A MORE PRAGMATIC FASHION\" ON JANUARY 23, 2003"
            ),
            (None, Some("2003-01-23".into()))
        );
        assert_eq!(
            tail("STATEMENT BY RUSSIAN FOREIGN MINISTER IGOR IVANOV, MOSCOW, JANUARY 23, 2003"),
            both("MOSCOW", "2003-01-23")
        );
        assert_eq!(
            tail("Foreign Minister Sergey Lavrov’s replies to questions from Interfax news agency"),
            (None, None)
        );
        assert_eq!(tail("Press release"), (None, None));
    }

    #[test]
    fn real_titles_russian() {
        assert_eq!(
            tail(
                "Выступление и ответы на вопросы СМИ Министра иностранных дел Российской Федерации С.В.Лаврова по итогам СМИД ШОС, Панаджи, 5 мая 2023 года"
            ),
            both("Панаджи", "2023-05-05")
        );
        assert_eq!(
            tail(
                "Ответы Министра иностранных дел Российской Федерации С.В.Лаврова на вопросы телеканала «Россия 1», Москва, 22 февраля 2022 года"
            ),
            both("Москва", "2022-02-22")
        );
        assert_eq!(
            tail(
                "Интервью Министра иностранных дел Российской Федерации С.В.Лаврова журналу «Foreign Policy», опубликованное 29 апреля 2013 года"
            ),
            (None, Some("2013-04-29".into()))
        );
        assert_eq!(
            tail(
                "Брифинг официального представителя МИД России М.В.Захаровой (13 марта 2024 года)"
            ),
            (None, Some("2024-03-13".into()))
        );
        assert_eq!(
            tail(
                "Вступительное слово С.В.Лаврова на шестом заседании Московского формата консультаций по Афганистану (Москва, 4 октября 2024 года)"
            ),
            both("Москва", "2024-10-04")
        );
        assert_eq!(
            tail(
                "Брифинг заместителя Министра иностранных дел Российской Федерации С.А.Рябкова по итогам российско-американских переговоров по гарантиям безопасности Российской Федерации, Женева, 10 января 2022 года"
            ),
            both("Женева", "2022-01-10")
        );
        assert_eq!(
            tail(
                "Российско-американский брифинг о ходе реализации Договора о СНВ ..., Нью-Йорк, 7 мая 2015 года"
            ),
            both("Нью-Йорк", "2015-05-07")
        );
        assert_eq!(
            tail(
                "Пресс-конференция директора Департамента по вопросам нераспространения и контроля над вооружениями МИД России В.И. Ермакова в МИА Россия сегодня, 25 сентября 2018 года"
            ),
            (None, Some("2018-09-25".into()))
        );
    }

    #[test]
    fn a_place_is_a_place() {
        assert_eq!(
            tail(
                "Foreign Minister Sergey Lavrov’s remarks at Ministerial Conference of the Heart of Asia – Istanbul Process on Afghanistan, March 30, 2021"
            ),
            (None, Some("2021-03-30".into()))
        );
        assert_eq!(
            tail("Remarks at the Heart of Asia – Istanbul Process, Dushanbe, March 30, 2021"),
            both("Dushanbe", "2021-03-30")
        );
        assert_eq!(
            tail(
                "Выступление на конференции «Сердце Азии – Стамбульский процесс», 30 марта 2021 года"
            ),
            (None, Some("2021-03-30".into()))
        );
        assert_eq!(
            tail("Выступление С.В.Лаврова, Ростов-на-Дону, 2 июня 2019 года"),
            both("Ростов-на-Дону", "2019-06-02")
        );
        assert_eq!(
            tail("Remarks by Sergey Lavrov, Nizhny Novgorod, June 2, 2019"),
            both("Nizhny Novgorod", "2019-06-02")
        );
        assert_eq!(
            tail("Statement at the Council of Ministers, Working Session Two, June 2, 2019"),
            (None, Some("2019-06-02".into()))
        );
        // A city before its country or region.
        assert_eq!(
            tail("Address to the forum participants, Nur-Sultan, Kazakhstan, September 14, 2022"),
            both("Nur-Sultan, Kazakhstan", "2022-09-14")
        );
        assert_eq!(
            tail("Interview with Kommersant, Moscow, June 2, 2019"),
            both("Moscow", "2019-06-02")
        );
        // A town the gazetteer does not list is still a place when it is one capitalised word.
        assert_eq!(
            tail("Remarks, Kislovodsk, June 2, 2019"),
            both("Kislovodsk", "2019-06-02")
        );
        // Many-word towns it does not list, named by a place prefix, in both languages.
        assert_eq!(
            tail("Remarks by Sergey Lavrov, Nizhny Tagil, June 2, 2019"),
            both("Nizhny Tagil", "2019-06-02")
        );
        assert_eq!(
            tail("Выступление С.В.Лаврова, Великие Луки, 2 июня 2019 года"),
            both("Великие Луки", "2019-06-02")
        );
        assert_eq!(
            tail("Interview, Port Moresby, June 2, 2019"),
            both("Port Moresby", "2019-06-02")
        );
        // Capitalised words without a place prefix are no place; nor are outlets.
        for title in [
            "Comment by Maria Zakharova, Foreign Ministry Spokesperson, June 2, 2019",
            "Interview with Sergey Lavrov, Al Arabiya, June 2, 2019",
            "Remarks at the meeting, Valdai Club, June 2, 2019",
            "Remarks, Nizhny tagil, June 2, 2019",
        ] {
            assert_eq!(tail(title), (None, Some("2019-06-02".into())), "{title}");
        }
    }

    #[test]
    fn other_sources() {
        let (g, d) = grammar("fmprc.gov.cn");
        let t = g.parse_tail(
            "Foreign Ministry Spokesperson Lin Jian’s Regular Press Conference on March 12, 2025",
            &d,
        );
        assert_eq!(
            (t.location, t.event_date.map(|d| d.to_string())),
            (None, Some("2025-03-12".into()))
        );
        assert_eq!(
            g.strip_site_suffix(
                "Remarks_Ministry of Foreign Affairs of the People's Republic of China"
            ),
            "Remarks"
        );
        let (g, _) = grammar("kremlin.ru");
        assert_eq!(
            g.strip_site_suffix("Интервью • Президент России"),
            "Интервью"
        );
    }

    #[test]
    fn every_real_title_parses_without_panic() {
        let titles = include_str!("../tests/data/titles.txt");
        for title in titles.lines() {
            let _ = parse_tail(title);
        }
    }
}
