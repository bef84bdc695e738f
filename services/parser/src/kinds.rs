//! The kind of a statement, from the first cue in its title.
//!
//! Every cue of [`CUES`] is searched in the lower-cased title, at the start of a word; the cue
//! that appears earliest in the title decides, and at the same position the longest cue wins
//! (so "opening remarks" beats "opening", "replies to questions" beats "reply"). A cue marked
//! *word* must also end a word ("ответ" does not match "ответы"); the others are stems that
//! match any ending (Russian cases: "выступлени" matches "Выступление" and "выступлении").
//! A cue marked *start* only counts at the very beginning of the title ("О встрече …").
//! No cue: [`Kind::Other`].
//!
//! | cue | kind |
//! | --- | --- |
//! | opening remarks, remarks, вступительное слово | remarks |
//! | speech, address, выступлени… | speech |
//! | statement, заявлени… | statement |
//! | interview, интервью | interview |
//! | answers, replies to questions, replies to media questions, ответы | answers |
//! | briefing, брифинг… | briefing |
//! | press conference, news conference, пресс-конференци… | press_conference |
//! | comment, комментари…, reply, ответ (word), | comment |
//! | press release, telephone conversation, (start) о телефонном разговоре, о встрече, о переговорах, о предстоящ…, on the upcoming, on the forthcoming | press_release |
//! | greetings, message, приветстви…, послани… | greetings |
//! | article, стать… (статья, статье, статьи) | article |

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use shared::Kind;

/// How a cue must sit in the title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueMatch {
    /// Starts a word; any ending.
    Stem,
    /// A whole word (or words).
    Word,
    /// Only at the start of the title, as a stem.
    TitleStart,
}

/// The documented cue table (see the module documentation): lower-case cue, kind, match rule.
pub const CUES: &[(&str, Kind, CueMatch)] = &[
    ("opening remarks", Kind::Remarks, CueMatch::Stem),
    ("remarks", Kind::Remarks, CueMatch::Stem),
    ("вступительное слово", Kind::Remarks, CueMatch::Stem),
    ("speech", Kind::Speech, CueMatch::Stem),
    ("address", Kind::Speech, CueMatch::Word),
    ("выступлени", Kind::Speech, CueMatch::Stem),
    ("statement", Kind::Statement, CueMatch::Stem),
    ("заявлени", Kind::Statement, CueMatch::Stem),
    ("interview", Kind::Interview, CueMatch::Stem),
    ("интервью", Kind::Interview, CueMatch::Stem),
    ("answers", Kind::Answers, CueMatch::Word),
    ("replies to questions", Kind::Answers, CueMatch::Stem),
    ("replies to media questions", Kind::Answers, CueMatch::Stem),
    ("ответы", Kind::Answers, CueMatch::Word),
    ("briefing", Kind::Briefing, CueMatch::Stem),
    ("брифинг", Kind::Briefing, CueMatch::Stem),
    ("press conference", Kind::PressConference, CueMatch::Stem),
    ("news conference", Kind::PressConference, CueMatch::Stem),
    ("пресс-конференци", Kind::PressConference, CueMatch::Stem),
    ("comment", Kind::Comment, CueMatch::Stem),
    ("комментари", Kind::Comment, CueMatch::Stem),
    ("reply", Kind::Comment, CueMatch::Word),
    ("ответ", Kind::Comment, CueMatch::Word),
    ("press release", Kind::PressRelease, CueMatch::Stem),
    ("telephone conversation", Kind::PressRelease, CueMatch::Stem),
    (
        "о телефонном разговоре",
        Kind::PressRelease,
        CueMatch::TitleStart,
    ),
    ("о встрече", Kind::PressRelease, CueMatch::TitleStart),
    ("о переговорах", Kind::PressRelease, CueMatch::TitleStart),
    ("о предстоящ", Kind::PressRelease, CueMatch::TitleStart),
    ("on the upcoming", Kind::PressRelease, CueMatch::TitleStart),
    (
        "on the forthcoming",
        Kind::PressRelease,
        CueMatch::TitleStart,
    ),
    ("greetings", Kind::Greetings, CueMatch::Stem),
    ("message", Kind::Greetings, CueMatch::Word),
    ("приветстви", Kind::Greetings, CueMatch::Stem),
    ("послани", Kind::Greetings, CueMatch::Stem),
    ("article", Kind::Article, CueMatch::Stem),
    ("статья", Kind::Article, CueMatch::Word),
    ("статье", Kind::Article, CueMatch::Word),
    ("статьи", Kind::Article, CueMatch::Word),
];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// All cues in one automaton, built once.
static CUE_MATCHER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(CUES.iter().map(|(cue, _, _)| *cue))
        .ok()
});

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

/// The kind of a statement from its title (see the module table).
pub fn classify(title: &str) -> Kind {
    let lower = title.to_lowercase().replace(['\u{a0}', '’'], " ");
    let Some(matcher) = CUE_MATCHER.as_ref() else {
        return Kind::Other;
    };
    let mut best: Option<(usize, usize, Kind)> = None;
    for m in matcher.find_overlapping_iter(&lower) {
        let Some((cue, kind, rule)) = CUES.get(m.pattern().as_usize()) else {
            continue;
        };
        if !cue_fits(&lower, m.start(), m.end(), *rule) {
            continue;
        }
        let better = match best {
            None => true,
            Some((p, len, _)) => m.start() < p || (m.start() == p && cue.len() > len),
        };
        if better {
            best = Some((m.start(), cue.len(), *kind));
        }
    }
    best.map_or(Kind::Other, |(_, _, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

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
