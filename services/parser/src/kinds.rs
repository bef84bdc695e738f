//! The kind of a statement, from the first cue in its title.
//!
//! The cues are data: `[parse.kinds]` of the source profile, per language. The table below is
//! mid.ru's (`shared/sources/mid.ru.toml`). Every cue is searched in the lower-cased title, at
//! the start of a word; the cue that appears earliest in the title decides, and at the same position the longest cue wins
//! (so "opening remarks" beats "opening", "replies to questions" beats "reply"). A cue marked
//! *word* must also end a word ("ответ" does not match "ответы"); the others are stems that
//! match any ending (Russian cases: "выступлени" matches "Выступление" and "выступлении").
//! A cue marked *start* only counts at the very beginning of the title ("О встрече …").
//! A cue of parts joined by ` … ` allows words between its parts (at most [`MAX_GAP_WORDS`]
//! each): "replies … to … questions" matches "REPLIES BY DEPUTY MINISTER … TO READERS’
//! QUESTIONS"; every part but the last is a whole word, the last obeys the cue's rule.
//! No cue: [`Kind::Other`].
//!
//! | cue | kind |
//! | --- | --- |
//! | opening remarks, remarks, вступительное слово | remarks |
//! | speech, address, выступлени… | speech |
//! | statement, заявлени… | statement |
//! | interview, интервью | interview |
//! | answers, replies to questions, replies to media questions, replies … to … questions, answers … to … questions, ответы, ответы … на … вопросы | answers |
//! | briefing, брифинг… | briefing |
//! | press conference, news conference, пресс-конференци… | press_conference |
//! | comment, комментари…, reply, ответ (word), | comment |
//! | press release, telephone conversation, (start) о телефонном разговоре, о встрече, о переговорах, о предстоящ…, on the upcoming, on the forthcoming | press_release |
//! | greetings, message, приветстви…, послани… | greetings |
//! | article, стать… (статья, статье, статьи) | article |

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, MatchKind};
use shared::profile::parse::{CueMatch, KindCue};
use shared::profile::{ProfileError, SourceProfile};
use shared::{Kind, Lang};

use crate::normalize::{is_alphanumeric, lowercase};

fn is_word_char(c: char) -> bool {
    is_alphanumeric(c)
}

/// The separator of the parts of a cue that allows words between them.
const GAP: &str = " … ";

/// Most words between two parts of a cue.
pub const MAX_GAP_WORDS: usize = 8;

/// Cues in one automaton (keyed by each cue's first part).
#[derive(Debug, Clone)]
struct CueSet {
    cues: Vec<KindCue>,
    /// The parts after the first of each cue (empty for a plain cue).
    rest: Vec<Vec<String>>,
    matcher: AhoCorasick,
}

/// Whether the parts `rest` follow `from` in order, each a word start within
/// [`MAX_GAP_WORDS`] words of the previous part; all but the last end a word too, the last
/// obeys `rule`.
fn parts_follow(lower: &str, mut from: usize, rest: &[String], rule: CueMatch) -> bool {
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let mut found = None;
        for (at, _) in lower[from..].match_indices(part.as_str()) {
            let start = from + at;
            let end = start + part.len();
            let gap_words = lower[from..start].split_whitespace().count();
            if gap_words > MAX_GAP_WORDS {
                break;
            }
            let part_rule = if last && rule != CueMatch::TitleStart {
                rule
            } else {
                CueMatch::Word
            };
            if cue_fits(lower, start, end, part_rule) {
                found = Some(end);
                break;
            }
        }
        match found {
            Some(end) => from = end,
            None => return false,
        }
    }
    true
}

impl CueSet {
    fn build(profile: &SourceProfile, cues: Vec<KindCue>) -> Result<Self, ProfileError> {
        let split: Vec<Vec<String>> = cues
            .iter()
            .map(|c| c.cue.split(GAP).map(|p| p.trim().to_string()).collect())
            .collect();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(split.iter().map(|parts| parts[0].as_str()))
            .map_err(|e| ProfileError::Invalid {
                file: profile.origin.clone(),
                key: "parse.kinds".into(),
                reason: format!("cannot be compiled into one matcher: {e}"),
            })?;
        let rest = split.into_iter().map(|mut p| p.split_off(1)).collect();
        Ok(CueSet {
            cues,
            rest,
            matcher,
        })
    }

    fn classify(&self, lower: &str) -> Kind {
        let mut best: Option<(usize, usize, Kind)> = None;
        for m in self.matcher.find_overlapping_iter(lower) {
            let Some(cue) = self.cues.get(m.pattern().as_usize()) else {
                continue;
            };
            let rest = &self.rest[m.pattern().as_usize()];
            let first_rule = if rest.is_empty() || cue.rule == CueMatch::TitleStart {
                cue.rule
            } else {
                CueMatch::Word
            };
            if !cue_fits(lower, m.start(), m.end(), first_rule)
                || !parts_follow(lower, m.end(), rest, cue.rule)
            {
                continue;
            }
            let len = cue.cue.len();
            let better = match best {
                None => true,
                Some((p, best_len, _)) => m.start() < p || (m.start() == p && len > best_len),
            };
            if better {
                best = Some((m.start(), len, cue.kind));
            }
        }
        best.map_or(Kind::Other, |(_, _, kind)| kind)
    }
}

/// A source's cue table, compiled once: one automaton per language and one of every cue.
#[derive(Debug, Clone)]
pub struct KindTable {
    by_lang: BTreeMap<Lang, CueSet>,
    all: CueSet,
}

impl KindTable {
    /// Compiles `[parse.kinds]` of `profile`.
    pub fn compile(profile: &SourceProfile) -> Result<Self, ProfileError> {
        let mut by_lang = BTreeMap::new();
        let mut all = Vec::new();
        for (lang, cues) in &profile.parse.kinds {
            all.extend(cues.iter().cloned());
            by_lang.insert(*lang, CueSet::build(profile, cues.clone())?);
        }
        Ok(KindTable {
            by_lang,
            all: CueSet::build(profile, all)?,
        })
    }

    /// The kind of a statement from its title (see the module documentation): the cues of
    /// `lang`, or every cue when `lang` has none.
    pub fn classify(&self, title: &str, lang: Lang) -> Kind {
        let lower = lowercase(title).replace(['\u{a0}', '’'], " ");
        self.by_lang
            .get(&lang)
            .unwrap_or(&self.all)
            .classify(&lower)
    }
}

/// Whether a cue found at `start..end` of `title` obeys its rule.
fn cue_fits(title: &str, start: usize, end: usize, rule: CueMatch) -> bool {
    let starts_word = title[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !is_word_char(c));
    let ends_word = title[end..].chars().next().is_none_or(|c| !is_word_char(c));
    match rule {
        CueMatch::Stem => starts_word,
        CueMatch::Word => starts_word && ends_word,
        CueMatch::TitleStart => start == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(title: &str) -> Kind {
        let table = KindTable::compile(&SourceProfile::builtin("mid.ru").unwrap()).unwrap();
        let lang = if title
            .chars()
            .any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
        {
            Lang::Ru
        } else {
            Lang::En
        };
        table.classify(title, lang)
    }

    #[test]
    fn real_titles() {
        let cases = [
            (
                "Briefing by Foreign Ministry Spokesperson Maria Zakharova, Moscow, April 19, 2017",
                Kind::Briefing,
            ),
            (
                "Comment by the Information and Press Department regarding Foreign Minister Sergey Lavrov’s visit to Tashkent to attend the International High-Level Conference on Afghanistan",
                Kind::Comment,
            ),
            (
                "Reply by Foreign Ministry Spokesperson Maria Zakharova to a media question in connection with reports on US military hackers’ penetration of Russia’s telecommunications networks and electric grid",
                Kind::Comment,
            ),
            (
                "Press release on Foreign Minister Sergey Lavrov’s telephone conversation with US Secretary of State John Kerry",
                Kind::PressRelease,
            ),
            ("Press release", Kind::PressRelease),
            (
                "Foreign Ministry statement on the adoption of UN Security Council Resolution 2334 regarding Palestinian-Israeli settlement",
                Kind::Statement,
            ),
            (
                "Foreign Minister Sergey Lavrov's statement and answers to media questions following talks with Foreign Minister of the Republic of Turkey Mevlut Cavusoglu, Moscow, March 16, 2022",
                Kind::Statement,
            ),
            (
                "Foreign Minister Sergey Lavrov’s interview with India Today television channel, Moscow, April 19, 2022",
                Kind::Interview,
            ),
            (
                "Foreign Ministry answers to media questions submitted for Foreign Minister Sergey Lavrov’s news conference on the performance of Russian diplomacy in 2023",
                Kind::Answers,
            ),
            (
                "Foreign Minister Sergey Lavrov’s address to the participants of the Face to Face with the World videoconference (Moscow, July 18, 2024)",
                Kind::Speech,
            ),
            (
                "Foreign Minister Sergey Lavrov’s replies to questions from Interfax news agency",
                Kind::Answers,
            ),
            (
                "Foreign Minister Sergey Lavrov’s remarks at the closing ceremony, Berlin, July 13, 2017",
                Kind::Remarks,
            ),
            (
                "Speech of and answers to questions of mass media by Russian Foreign Minister Sergey Lavrov",
                Kind::Speech,
            ),
            (
                "Выступление и ответы на вопросы СМИ Министра иностранных дел Российской Федерации С.В.Лаврова по итогам СМИД ШОС, Панаджи, 5 мая 2023 года",
                Kind::Speech,
            ),
            (
                "Ответы Министра иностранных дел Российской Федерации С.В.Лаврова на вопросы телеканала «Россия 1», Москва, 22 февраля 2022 года",
                Kind::Answers,
            ),
            (
                "Ответ официального представителя МИД России М.В.Захаровой на вопрос СМИ",
                Kind::Comment,
            ),
            (
                "Интервью Министра иностранных дел Российской Федерации С.В.Лаврова журналу «Foreign Policy», опубликованное 29 апреля 2013 года",
                Kind::Interview,
            ),
            (
                "Брифинг официального представителя МИД России М.В.Захаровой (13 марта 2024 года)",
                Kind::Briefing,
            ),
            (
                "Вступительное слово С.В.Лаврова на шестом заседании Московского формата консультаций по Афганистану (Москва, 4 октября 2024 года)",
                Kind::Remarks,
            ),
            (
                "Пресс-конференция директора Департамента В.И. Ермакова, 25 сентября 2018 года",
                Kind::PressConference,
            ),
            (
                "Послание Министра иностранных дел Народной Республики Бангладеш Дипу Мони Министру иностранных дел России С.В.Лаврову",
                Kind::Greetings,
            ),
            (
                "Публичное заявление Группы ядерных поставщиков",
                Kind::Statement,
            ),
            ("МИД России поздравляет всех с НОВЫМ ГОДОМ!", Kind::Other),
            (
                "О ТЕЛЕФОННОМ РАЗГОВОРЕ ПРЕЗИДЕНТА РОССИЙСКОЙ ФЕДЕРАЦИИ В.В.ПУТИНА С ПРЕЗИДЕНТОМ ЛИТВЫ Р.ПАКСАСОМ",
                Kind::PressRelease,
            ),
            (
                "О встрече С.В.Лаврова с Министром иностранных дел Индии",
                Kind::PressRelease,
            ),
            ("О предстоящих переговорах С.В.Лаврова", Kind::PressRelease),
            (
                "On the upcoming talks between Foreign Minister Sergey Lavrov and Foreign Minister of the Sultanate of Oman",
                Kind::PressRelease,
            ),
            (
                "Вступительное слово С.В.Лаврова в ходе встречи с послами",
                Kind::Remarks,
            ),
            (
                "Статья Министра иностранных дел России С.В.Лаврова",
                Kind::Article,
            ),
            ("Article by Foreign Minister Sergey Lavrov", Kind::Article),
            (
                "Greetings from Foreign Minister Sergey Lavrov",
                Kind::Greetings,
            ),
            (
                "Доклад МИД России «О ситуации с правами человека в ряде государств мира»",
                Kind::Other,
            ),
        ];
        for (title, kind) in cases {
            assert_eq!(classify(title), kind, "{title}");
        }
    }

    #[test]
    fn cues_with_words_between_their_parts() {
        for (title, kind) in [
            (
                "REPLIES BY RUSSIAN FOREIGN MINISTER SERGEY LAVROV TO READERS' QUESTIONS DURING AN ONLINE CONFERENCE ON THE RIA NOVOSTI WEBSITE, MOSCOW, JULY 4, 2008",
                Kind::Answers,
            ),
            (
                "Replies by Deputy Foreign Minister Sergey Ryabkov to questions from Kommersant",
                Kind::Answers,
            ),
            (
                "Answers by Foreign Minister Sergey Lavrov to questions from the Izvestia newspaper",
                Kind::Answers,
            ),
            (
                "Reply by Foreign Ministry Spokesperson Maria Zakharova to a media question",
                Kind::Comment,
            ),
            (
                "Ответы заместителя Министра иностранных дел России С.А.Рябкова на вопросы читателей в ходе интернет-конференции",
                Kind::Answers,
            ),
            // Too many words between the parts: no cue.
            (
                "Replies that were given by the minister of the republic in the course of a long day to questions",
                Kind::Other,
            ),
        ] {
            assert_eq!(classify(title), kind, "{title}");
        }
    }

    #[test]
    fn earliest_cue_wins_and_stems_need_word_starts() {
        assert_eq!(
            classify("Remarks and answers to media questions"),
            Kind::Remarks
        );
        assert_eq!(classify("Opening remarks by Sergey Lavrov"), Kind::Remarks);
        assert_eq!(classify("Misstatement"), Kind::Other);
        assert_eq!(classify(""), Kind::Other);
    }
}
