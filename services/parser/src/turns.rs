//! Question-and-answer turns.
//!
//! A paragraph opens a turn when it starts with a label and a colon (or a full-width colon "："): "Question:", "Вопрос:",
//! "Answer:", "Ответ:", or an official's form ("Sergey Lavrov:", "С.В.Лавров:",
//! "Foreign Minister Ivanov:"). A parenthesis at the end of the label mentioning a
//! translation ("(перевод с английского языка)", "(interpreted from English)") marks the turn
//! `interpreted` and is dropped. Labels are canonicalised: questions become "Question",
//! officials their canonical English name, "Answer" the first official of the title when the
//! title names one (else "Answer"). Other name-like labels ("John Kerry:", "С.Джайшанкар:")
//! count only in a text that also has one of the labels above, and keep their wording.
//! "Q:" and "A:" (`question_labels`, `answer_labels`) are labels too. Editorial openers
//! ("Note:", "Примечание:", "Справочно:", `not_labels`) are never speakers: such a paragraph
//! continues the turn it is in.
//! A turn runs over the following unlabelled paragraphs (joined by a blank line); paragraphs
//! before the first label are not turns; a text without labels has no turns.

use shared::Turn;
use shared::profile::SourceProfile;

use crate::normalize::{lowercase, normalize_ws};
use crate::officials::{Registry, form_key};

/// A label's colon comes within this many bytes of the paragraph's start.
const MAX_LABEL_BYTES: usize = 360;

/// The canonical label of questions.
pub const QUESTION: &str = "Question";
/// The canonical label of answers whose speaker the title does not name.
pub const ANSWER: &str = "Answer";

/// A source's label rules (`[parse.turns]`), lower-cased once.
#[derive(Debug, Clone, Default)]
pub struct LabelRules {
    question_words: Vec<String>,
    question_max_words: usize,
    question_labels: Vec<String>,
    answer_labels: Vec<String>,
    not_labels: Vec<String>,
    interpretation_markers: Vec<String>,
    /// Outlets by [`form_key`], with the name as the profile writes it.
    outlets: Vec<String>,
    other_labels_are_outlets: bool,
    name_max_words: usize,
    name_particles: Vec<String>,
}

impl LabelRules {
    /// The label rules of `profile`.
    pub fn new(profile: &SourceProfile) -> Self {
        let t = &profile.parse.turns;
        let lower = |v: &[String]| v.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>();
        LabelRules {
            question_words: lower(&t.question_words),
            question_max_words: t.question_max_words,
            question_labels: lower(&t.question_labels),
            answer_labels: lower(&t.answer_labels),
            not_labels: lower(&t.not_labels),
            interpretation_markers: lower(&t.interpretation_markers),
            outlets: t.outlets.iter().map(|o| form_key(o)).collect(),
            other_labels_are_outlets: t.other_labels_are_outlets,
            name_max_words: t.name_max_words,
            name_particles: lower(&t.name_particles),
        }
    }

    fn is_translation_note(&self, note: &str) -> bool {
        let n = lowercase(note);
        self.interpretation_markers
            .iter()
            .any(|w| n.contains(w.as_str()))
    }

    fn is_name_like(&self, label: &str) -> bool {
        let words: Vec<&str> = label.split_whitespace().collect();
        if words.is_empty() || words.len() > self.name_max_words {
            return false;
        }
        let particle = |w: &str| self.name_particles.iter().any(|p| p == w);
        words.iter().enumerate().all(|(i, w)| {
            let first = w.chars().next();
            let capitalised = first.is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, '.' | '-' | '’' | '\''));
            capitalised || (i > 0 && i + 1 < words.len() && particle(w))
        })
    }
}

/// A recognised label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Canonical speaker.
    pub speaker: String,
    /// The news outlet that asks, as written.
    pub outlet: Option<String>,
    /// Whether the speaker is an official of the registry.
    pub official: bool,
    /// Whether the label is certain (question, answer, official, outlet) rather than name-like.
    pub strong: bool,
    /// Interpreted turn.
    pub interpreted: bool,
    /// Byte offset of the text after the colon.
    pub rest_at: usize,
}

/// The byte offset of the first colon of `text`, ASCII or full-width, found by a byte scan
/// (a search for either of two characters decodes every character).
fn first_colon(text: &str) -> Option<usize> {
    const WIDE: &[u8] = "：".as_bytes();
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .position(|(i, &b)| b == b':' || (b == WIDE[0] && bytes[i..].starts_with(WIDE)))
}

/// Recognises the label opening `paragraph`, if any.
pub fn parse_label(
    paragraph: &str,
    registry: &Registry,
    title_speaker: Option<&str>,
    rules: &LabelRules,
) -> Option<Label> {
    // A label ends within the paragraph's first MAX_LABEL_BYTES: only they are searched. A
    // full-width colon ("CCTV：") comes with text pasted from Chinese editors.
    let mut head = paragraph.len().min(MAX_LABEL_BYTES + '：'.len_utf8());
    while !paragraph.is_char_boundary(head) {
        head -= 1;
    }
    let colon = first_colon(&paragraph[..head])?;
    if colon == 0 || colon > MAX_LABEL_BYTES || paragraph[..colon].chars().count() > 90 {
        return None;
    }
    let mut label = normalize_ws(&paragraph[..colon]);
    let mut interpreted = false;
    if label.ends_with(')')
        && let Some(open) = label.rfind('(')
    {
        interpreted = rules.is_translation_note(&label[open..]);
        label = label[..open].trim_end().to_string();
    }
    if label.is_empty() {
        return None;
    }
    let rest_at = colon + paragraph[colon..].chars().next().map_or(1, char::len_utf8);
    let lower = lowercase(&label);
    let first_word = lower.split_whitespace().next().unwrap_or_default();
    let words = label.split_whitespace().count();
    let make = |speaker: String, official: bool, strong: bool| Label {
        speaker,
        outlet: None,
        official,
        strong,
        interpreted,
        rest_at,
    };
    let outlet = |label: String, strong: bool| Label {
        outlet: Some(label),
        ..make(QUESTION.to_string(), false, strong)
    };
    if rules
        .not_labels
        .iter()
        .any(|w| *w == lower || w == first_word)
    {
        return None;
    }
    if rules.question_labels.contains(&lower)
        || (rules.question_words.iter().any(|w| w == first_word)
            && words <= rules.question_max_words)
    {
        return Some(make(QUESTION.to_string(), false, true));
    }
    if rules.answer_labels.contains(&lower) {
        return Some(match title_speaker {
            Some(name) => make(name.to_string(), true, true),
            None => make(ANSWER.to_string(), false, true),
        });
    }
    if !rules.outlets.is_empty() && rules.outlets.contains(&form_key(&label)) {
        return Some(outlet(label, true));
    }
    if let Some(name) = registry.match_label(&label) {
        return Some(make(name.to_string(), true, true));
    }
    if rules.is_name_like(&label) {
        return Some(if rules.other_labels_are_outlets {
            outlet(label, false)
        } else {
            make(label, false, false)
        });
    }
    None
}

/// Turns of a transcript and the officials who speak in them (in order, no repeats).
pub fn split_turns(
    paragraphs: &[String],
    registry: &Registry,
    title_speaker: Option<&str>,
    rules: &LabelRules,
) -> (Vec<Turn>, Vec<String>) {
    let labels: Vec<Option<Label>> = paragraphs
        .iter()
        .map(|p| parse_label(p, registry, title_speaker, rules))
        .collect();
    let strong = labels.iter().flatten().filter(|l| l.strong).count();
    if strong == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut turns: Vec<Turn> = Vec::new();
    let mut speakers: Vec<String> = Vec::new();
    for (paragraph, label) in paragraphs.iter().zip(labels) {
        match label {
            Some(label) => {
                if label.official && !speakers.contains(&label.speaker) {
                    speakers.push(label.speaker.clone());
                }
                turns.push(Turn {
                    speaker: label.speaker,
                    text: paragraph[label.rest_at..].trim().to_string(),
                    interpreted: label.interpreted,
                    outlet: label.outlet,
                });
            }
            None => {
                if let Some(turn) = turns.last_mut() {
                    if !turn.text.is_empty() {
                        turn.text.push_str("\n\n");
                    }
                    turn.text.push_str(paragraph);
                }
            }
        }
    }
    turns.retain(|t| !t.text.is_empty());
    (turns, speakers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mid() -> (Registry, LabelRules) {
        let profile = SourceProfile::builtin("mid.ru").unwrap();
        (
            Registry::of_profile(&profile).unwrap(),
            LabelRules::new(&profile),
        )
    }

    #[test]
    fn first_colon_is_the_first_of_either_colon() {
        for text in [
            "Вопрос: да",
            "CCTV：а: б",
            "нет",
            "a：",
            "：",
            "x\u{feff}y:",
            "ab",
            "",
        ] {
            assert_eq!(first_colon(text), text.find([':', '：']), "{text:?}");
        }
    }

    fn paras(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn english_interview() {
        let (r, rules) = mid();
        let text = paras(&[
            "Intro before any label.",
            "Question: What happened?",
            "Sergey Lavrov: Several things.",
            "A second paragraph of the answer.",
            "Question:",
            "Asked on its own line.",
            "Sergey Lavrov (interpreted from English): Thank you.",
        ]);
        let (turns, speakers) = split_turns(&text, &r, Some("Sergey Lavrov"), &rules);
        assert_eq!(speakers, vec!["Sergey Lavrov"]);
        assert_eq!(turns.len(), 4);
        assert_eq!(turns[0].speaker, "Question");
        assert_eq!(turns[0].text, "What happened?");
        assert_eq!(turns[1].speaker, "Sergey Lavrov");
        assert_eq!(
            turns[1].text,
            "Several things.\n\nA second paragraph of the answer."
        );
        assert_eq!(turns[2].text, "Asked on its own line.");
        assert!(turns[3].interpreted);
    }

    #[test]
    fn russian_labels_and_interpretation() {
        let (r, rules) = mid();
        let text = paras(&[
            "Вопрос (перевод с английского языка): Как Вы оцениваете?",
            "С.В.Лавров (перевод с английского языка): Положительно.",
            "С.Джайшанкар: Согласен.",
            "М.В.Захарова: Спасибо.",
        ]);
        let (turns, speakers) = split_turns(&text, &r, None, &rules);
        assert_eq!(speakers, vec!["Sergey Lavrov", "Maria Zakharova"]);
        assert_eq!(turns[0].speaker, "Question");
        assert!(turns[0].interpreted);
        assert_eq!(turns[1].speaker, "Sergey Lavrov");
        assert_eq!(turns[1].text, "Положительно.");
        assert!(turns[1].interpreted);
        assert_eq!(turns[2].speaker, "С.Джайшанкар");
        assert!(!turns[2].interpreted);
    }

    #[test]
    fn answer_takes_the_title_speaker() {
        let (r, rules) = mid();
        let text = paras(&[
            "Question: Why?",
            "Answer: Because.",
            "Foreign Minister Ivanov: Yes.",
        ]);
        let (turns, speakers) = split_turns(&text, &r, Some("Igor Ivanov"), &rules);
        assert_eq!(turns[1].speaker, "Igor Ivanov");
        assert_eq!(turns[2].speaker, "Igor Ivanov");
        assert_eq!(speakers, vec!["Igor Ivanov"]);
        let (turns, _) = split_turns(&text, &r, None, &rules);
        assert_eq!(turns[1].speaker, "Answer");
    }

    #[test]
    fn q_and_a_labels_and_notes() {
        let (r, rules) = mid();
        let text = paras(&[
            "Q: Will the talks go on?",
            "A: They will.",
            "Note: the interview was recorded on March 2.",
            "Q: When?",
            "A: Soon.",
        ]);
        let (turns, speakers) = split_turns(&text, &r, Some("Sergey Lavrov"), &rules);
        let labels: Vec<&str> = turns.iter().map(|t| t.speaker.as_str()).collect();
        assert_eq!(
            labels,
            vec!["Question", "Sergey Lavrov", "Question", "Sergey Lavrov"]
        );
        assert_eq!(
            turns[1].text,
            "They will.\n\nNote: the interview was recorded on March 2."
        );
        assert_eq!(speakers, vec!["Sergey Lavrov"]);
        let text = paras(&[
            "Вопрос: Как?",
            "С.В.Лавров: Так.",
            "Примечание: текст не вычитан.",
            "Справочно: встреча прошла в Москве.",
        ]);
        let (turns, _) = split_turns(&text, &r, None, &rules);
        assert_eq!(turns.len(), 2);
        assert!(
            turns[1]
                .text
                .ends_with("Справочно: встреча прошла в Москве.")
        ); // Russian transcripts of the early 2000s: "В:" and "О:".
        let text = paras(&[
            "В: Каковы итоги визита?",
            "О: Итоги хорошие.",
            "Примечание: интервью записано 2 марта.",
            "В: Когда следующая встреча?",
            "О: Весной.",
        ]);
        let (turns, speakers) = split_turns(&text, &r, Some("Сергей Лавров"), &rules);
        let labels: Vec<&str> = turns.iter().map(|t| t.speaker.as_str()).collect();
        assert_eq!(
            labels,
            vec!["Question", "Сергей Лавров", "Question", "Сергей Лавров"]
        );
        assert_eq!(turns[0].text, "Каковы итоги визита?");
        assert_eq!(
            turns[1].text,
            "Итоги хорошие.\n\nПримечание: интервью записано 2 марта."
        );
        assert_eq!(speakers, vec!["Сергей Лавров"]);
    }

    #[test]
    fn no_labels_no_turns() {
        let (r, rules) = mid();
        let text = paras(&[
            "Dear colleagues:",
            "The agenda included the following: trade, energy.",
            "Note: times are Moscow time.",
            "10:30 the meeting opens.",
        ]);
        assert_eq!(
            split_turns(&text, &r, None, &rules),
            (Vec::new(), Vec::new())
        );
    }

    #[test]
    fn outlets_and_short_labels() {
        let profile = SourceProfile::builtin("fmprc.gov.cn").unwrap();
        let (r, rules) = (
            Registry::of_profile(&profile).unwrap(),
            LabelRules::new(&profile),
        );
        let text = paras(&[
            "Opening announcement: none.",
            "CCTV: What about trains?",
            "Lin Jian: They run.",
            "Shenzhen TV: And ships?",
            "A: They sail.",
            "Q: Follow?",
            "Reuters：And the date?",
            "Lin Jian：Soon.",
        ]);
        let (turns, speakers) = split_turns(&text, &r, Some("Mao Ning"), &rules);
        assert_eq!(speakers, vec!["Lin Jian", "Mao Ning"]);
        let got: Vec<(&str, Option<&str>)> = turns
            .iter()
            .map(|t| (t.speaker.as_str(), t.outlet.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Question", Some("CCTV")),
                ("Lin Jian", None),
                ("Question", Some("Shenzhen TV")),
                ("Mao Ning", None),
                ("Question", None),
                ("Question", Some("Reuters")),
                ("Lin Jian", None)
            ]
        );
    }
}
