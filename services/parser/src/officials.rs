//! The officials registry: canonical English names and every form titles and turn labels
//! use, in English and in Russian cases.
//!
//! The registry is data, one per source: the file `parse.officials` of the source profile names
//! (`shared/sources/mid.ru.officials.json` for mid.ru), and `parser --officials FILE` merges a
//! file of the same format into every source's registry (an entry with a known `name`
//! adds forms to it, a new `name` adds an official):
//!
//! ```json
//! {"officials": [
//!   {"name": "Sergey Lavrov", "role": "Minister of Foreign Affairs",
//!    "en": ["Sergey Lavrov", "Lavrov"],
//!    "ru": {"first": "Сергей", "initials": "С.В.", "surname": "Лавров", "bare_surname": true},
//!    "ru_forms": ["extra literal forms"]}
//! ]}
//! ```
//!
//! From `ru` the six Russian cases are generated for `initials + surname` ("С.В.Лавров",
//! "С.В.Лаврова", "С.В.Лаврову", "С.В.Лавровым", "С.В.Лаврове"), for `first + surname` in
//! the same case ("Сергей Лавров", "Сергея Лаврова", …) and, with `bare_surname`, for the
//! surname alone. `female` (default: surname ends in -а/-я) picks the feminine endings.
//! Matching is case-insensitive (2003 titles are in capitals), treats `ё` as `е`, works on
//! whole words, and allows spaces after initials ("С.В. Лаврова", "С. В. Лаврова"): text and
//! forms are both reduced by [`form_key`] and searched with one Aho-Corasick automaton, built
//! once. Forms that sit inside a longer form of another official ("Minister Ivanov" in
//! "Deputy Minister Ivanov") lose to the longer one.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;
use shared::profile::SourceProfile;

use crate::normalize::{is_alphanumeric, lowercase, normalize_ws};

/// Most words of an office before an official's name in a turn label.
pub const MAX_LABEL_OFFICE_WORDS: usize = 8;

/// Errors loading a registry file.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The JSON does not have the documented shape.
    #[error(
        "officials registry {origin} is not valid: {source}; expected {{\"officials\": [{{\"name\": …, \"en\": […], \"ru\": {{…}}}}]}} as in shared/sources/mid.ru.officials.json"
    )]
    Json {
        /// Which file.
        origin: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// An entry has an empty name.
    #[error(
        "officials registry {origin}: an entry has an empty \"name\"; give every official a canonical English name"
    )]
    EmptyName {
        /// Which file.
        origin: String,
    },
    /// The combined matcher could not be built.
    #[error(
        "officials registry is too large to compile into one matcher: {0}; split or trim the extra file"
    )]
    Matcher(String),
}

/// Russian name parts from which case forms are generated.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RussianName {
    /// First name, nominative ("Сергей").
    #[serde(default)]
    pub first: Option<String>,
    /// Initials with dots ("С.В.").
    #[serde(default)]
    pub initials: Option<String>,
    /// Surname, nominative ("Лавров").
    pub surname: String,
    /// Feminine endings; default: surname ends in -а or -я.
    #[serde(default)]
    pub female: Option<bool>,
    /// Whether the surname alone identifies the official.
    #[serde(default)]
    pub bare_surname: bool,
}

/// One official as written in the registry file.
#[derive(Debug, Clone, Deserialize)]
pub struct OfficialSpec {
    /// Canonical English name.
    pub name: String,
    /// Role, for people reading the file.
    #[serde(default)]
    pub role: Option<String>,
    /// English forms (also matched in capitals).
    #[serde(default)]
    pub en: Vec<String>,
    /// Russian name parts for generated case forms.
    #[serde(default)]
    pub ru: Option<RussianName>,
    /// Extra literal forms in any language.
    #[serde(default)]
    pub ru_forms: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RegistryFile {
    officials: Vec<OfficialSpec>,
}

/// Parses a registry file.
pub fn parse_registry(json: &str, origin: &str) -> Result<Vec<OfficialSpec>, RegistryError> {
    let file: RegistryFile = serde_json::from_str(json).map_err(|source| RegistryError::Json {
        origin: origin.to_string(),
        source,
    })?;
    if file.officials.iter().any(|o| o.name.trim().is_empty()) {
        return Err(RegistryError::EmptyName {
            origin: origin.to_string(),
        });
    }
    Ok(file.officials)
}

/// The six cases (nominative, genitive, dative, accusative, instrumental, prepositional)
/// of a Russian surname.
pub fn surname_cases(surname: &str, female: bool) -> [String; 6] {
    let s = surname;
    let lower = s.to_lowercase();
    let cut = |n: usize| -> String {
        let mut chars: Vec<char> = s.chars().collect();
        chars.truncate(chars.len().saturating_sub(n));
        chars.into_iter().collect()
    };
    let indeclinable = || std::array::from_fn(|_| s.to_string());
    if female {
        if lower.ends_with("ова")
            || lower.ends_with("ева")
            || lower.ends_with("ина")
            || lower.ends_with("ына")
        {
            let stem = cut(1);
            return [
                s.to_string(),
                format!("{stem}ой"),
                format!("{stem}ой"),
                format!("{stem}у"),
                format!("{stem}ой"),
                format!("{stem}ой"),
            ];
        }
        if lower.ends_with("ская") || lower.ends_with("цкая") {
            let stem = cut(2);
            return [
                s.to_string(),
                format!("{stem}ой"),
                format!("{stem}ой"),
                format!("{stem}ую"),
                format!("{stem}ой"),
                format!("{stem}ой"),
            ];
        }
        return indeclinable();
    }
    if ["ов", "ев", "ёв", "ин", "ын"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return [
            s.to_string(),
            format!("{s}а"),
            format!("{s}у"),
            format!("{s}а"),
            format!("{s}ым"),
            format!("{s}е"),
        ];
    }
    if lower.ends_with("ий") || lower.ends_with("ый") {
        let stem = cut(2);
        return [
            s.to_string(),
            format!("{stem}ого"),
            format!("{stem}ому"),
            format!("{stem}ого"),
            format!("{stem}им"),
            format!("{stem}ом"),
        ];
    }
    match lower.chars().last() {
        Some(c) if "бвгджзклмнпрстфхцчшщ".contains(c) => {
            let ins = if "жшчщц".contains(c) {
                "ем"
            } else {
                "ом"
            };
            [
                s.to_string(),
                format!("{s}а"),
                format!("{s}у"),
                format!("{s}а"),
                format!("{s}{ins}"),
                format!("{s}е"),
            ]
        }
        _ => indeclinable(),
    }
}

/// The six cases of a Russian first name.
pub fn first_name_cases(first: &str) -> [String; 6] {
    let s = first;
    let lower = s.to_lowercase();
    let chars: Vec<char> = s.chars().collect();
    let stem: String = chars[..chars.len().saturating_sub(1)].iter().collect();
    if lower.ends_with("ий") {
        return [
            s.to_string(),
            format!("{stem}я"),
            format!("{stem}ю"),
            format!("{stem}я"),
            format!("{stem}ем"),
            format!("{stem}и"),
        ];
    }
    if lower.ends_with('й') || lower.ends_with('ь') {
        return [
            s.to_string(),
            format!("{stem}я"),
            format!("{stem}ю"),
            format!("{stem}я"),
            format!("{stem}ем"),
            format!("{stem}е"),
        ];
    }
    if lower.ends_with("ия") {
        return [
            s.to_string(),
            format!("{stem}и"),
            format!("{stem}и"),
            format!("{stem}ю"),
            format!("{stem}ей"),
            format!("{stem}и"),
        ];
    }
    if lower.ends_with('я') {
        return [
            s.to_string(),
            format!("{stem}и"),
            format!("{stem}е"),
            format!("{stem}ю"),
            format!("{stem}ей"),
            format!("{stem}е"),
        ];
    }
    if lower.ends_with('а') {
        return [
            s.to_string(),
            format!("{stem}ы"),
            format!("{stem}е"),
            format!("{stem}у"),
            format!("{stem}ой"),
            format!("{stem}е"),
        ];
    }
    [
        s.to_string(),
        format!("{s}а"),
        format!("{s}у"),
        format!("{s}а"),
        format!("{s}ом"),
        format!("{s}е"),
    ]
}

/// Every form of one official (English, generated Russian, extra).
pub fn forms_of(spec: &OfficialSpec) -> Vec<String> {
    let mut forms: Vec<String> = spec.en.clone();
    forms.push(spec.name.clone());
    if let Some(ru) = &spec.ru {
        let female = ru.female.unwrap_or_else(|| {
            let l = ru.surname.to_lowercase();
            l.ends_with('а') || l.ends_with('я')
        });
        let surnames = surname_cases(&ru.surname, female);
        if let Some(initials) = &ru.initials {
            forms.extend(surnames.iter().map(|s| format!("{initials}{s}")));
        }
        if let Some(first) = &ru.first {
            let firsts = first_name_cases(first);
            forms.extend(
                firsts
                    .iter()
                    .zip(&surnames)
                    .map(|(f, s)| format!("{f} {s}")),
            );
        }
        if ru.bare_surname {
            forms.extend(surnames.iter().cloned());
        }
    }
    forms.extend(spec.ru_forms.iter().cloned());
    forms
}

/// The key a form or a matched text is looked up by: lower case, `ё` as `е`, no spaces
/// after dots, single spaces.
pub fn form_key(text: &str) -> String {
    let text = lowercase(&normalize_ws(text));
    let mut out = String::with_capacity(text.len());
    let mut after_dot = false;
    for c in text.chars() {
        if c == ' ' && after_dot {
            continue;
        }
        after_dot = c == '.';
        out.push(if c == 'ё' { 'е' } else { c });
    }
    out
}

/// Merges `extra` into `specs`: an entry with a known `name` adds forms to it, a new `name`
/// adds an official.
fn merge(specs: &mut Vec<OfficialSpec>, extra: Vec<OfficialSpec>) {
    for spec in extra {
        match specs.iter_mut().find(|s| s.name == spec.name) {
            Some(existing) => {
                existing.en.extend(spec.en);
                existing.ru_forms.extend(spec.ru_forms);
                if let Some(ru) = spec.ru {
                    // Keep the existing parts; generate the new ones as extra forms.
                    let generated = forms_of(&OfficialSpec {
                        name: existing.name.clone(),
                        role: None,
                        en: Vec::new(),
                        ru: Some(ru),
                        ru_forms: Vec::new(),
                    });
                    existing.ru_forms.extend(generated);
                }
            }
            None => specs.push(spec),
        }
    }
}

/// The compiled registry: built once per process and shared by every page.
#[derive(Debug)]
pub struct Registry {
    names: Vec<String>,
    by_key: HashMap<String, usize>,
    /// Every form key, searched at once in [`form_key`]-normalised text.
    matcher: AhoCorasick,
    /// Official of each pattern of `matcher`.
    pattern_official: Vec<usize>,
}

impl Registry {
    /// The registry a source profile names (`parse.officials`), merged with `extra` (JSON
    /// text of the same format and where it came from), if given. A profile without a
    /// registry has no officials.
    pub fn of_profile_with_extra(
        profile: &SourceProfile,
        extra: Option<(&str, &str)>,
    ) -> Result<Self, RegistryError> {
        let mut specs = match (&profile.officials_json, &profile.parse.officials) {
            (Some(json), Some(file)) => {
                parse_registry(json, &format!("{file} (from {})", profile.origin))?
            }
            _ => Vec::new(),
        };
        if let Some((extra, origin)) = extra {
            merge(&mut specs, parse_registry(extra, origin)?);
        }
        Self::build(specs)
    }

    /// The registry a source profile names.
    pub fn of_profile(profile: &SourceProfile) -> Result<Self, RegistryError> {
        Self::of_profile_with_extra(profile, None)
    }

    /// Compiles a registry from its entries.
    pub fn build(specs: Vec<OfficialSpec>) -> Result<Self, RegistryError> {
        let mut names = Vec::with_capacity(specs.len());
        let mut by_key = HashMap::new();
        for (index, spec) in specs.iter().enumerate() {
            names.push(spec.name.trim().to_string());
            for form in forms_of(spec) {
                let key = form_key(&form);
                if !key.is_empty() {
                    by_key.entry(key).or_insert(index);
                }
            }
        }
        let mut keys: Vec<(&String, &usize)> = by_key.iter().collect();
        keys.sort();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(keys.iter().map(|(k, _)| k.as_str()))
            .map_err(|e| RegistryError::Matcher(e.to_string()))?;
        let pattern_official = keys.iter().map(|(_, i)| **i).collect();
        Ok(Registry {
            names,
            by_key,
            matcher,
            pattern_official,
        })
    }

    /// Matches of official forms in `key_text` (already [`form_key`]-normalised) that sit on
    /// word boundaries: leftmost first, the longest at each start, never overlapping.
    fn matches(&self, key_text: &str) -> Vec<(usize, usize, usize)> {
        let is_word = is_alphanumeric;
        let mut found: Vec<(usize, usize, usize)> = self
            .matcher
            .find_overlapping_iter(key_text)
            .filter(|m| {
                key_text[..m.start()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !is_word(c))
                    && key_text[m.end()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !is_word(c))
            })
            .filter_map(|m| {
                let official = *self.pattern_official.get(m.pattern().as_usize())?;
                Some((m.start(), m.end(), official))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut kept: Vec<(usize, usize, usize)> = Vec::with_capacity(found.len());
        for m in found {
            if kept.last().is_none_or(|last| m.0 >= last.1) {
                kept.push(m);
            }
        }
        kept
    }

    /// Number of officials.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Canonical names of the officials named in `text`, in order of appearance, without
    /// repeats.
    pub fn find_all(&self, text: &str) -> Vec<&str> {
        let key_text = form_key(text);
        let mut found: Vec<&str> = Vec::new();
        for (_, _, official) in self.matches(&key_text) {
            if let Some(name) = self.names.get(official)
                && !found.contains(&name.as_str())
            {
                found.push(name);
            }
        }
        found
    }

    /// The official a turn label names, if the label is (mostly) one official's form:
    /// "Sergey Lavrov", "С.В.Лавров", "Foreign Minister Ivanov", or a form after a short
    /// title of at most [`MAX_LABEL_OFFICE_WORDS`] words ("Russian Foreign Minister Sergey
    /// Lavrov", "Press Secretary of the President of Russia Dmitry Peskov").
    pub fn match_label(&self, label: &str) -> Option<&str> {
        let key = form_key(label);
        if let Some(&index) = self.by_key.get(&key) {
            return self.names.get(index).map(String::as_str);
        }
        let (start, end, official) = *self.matches(&key).last()?;
        if key[end..].trim().is_empty()
            && key[..start].split_whitespace().count() <= MAX_LABEL_OFFICE_WORDS
        {
            return self.names.get(official).map(String::as_str);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mid() -> SourceProfile {
        SourceProfile::builtin("mid.ru").unwrap()
    }

    fn registry() -> Registry {
        Registry::of_profile(&mid()).unwrap()
    }

    #[test]
    fn builtin_has_the_required_officials() {
        let r = registry();
        assert!(r.len() >= 15, "{}", r.len());
        for name in [
            "Sergey Lavrov",
            "Igor Ivanov",
            "Maria Zakharova",
            "Alexander Yakovenko",
            "Alexander Lukashevich",
            "Alexey Zaitsev",
            "Sergey Ryabkov",
            "Alexander Grushko",
            "Mikhail Galuzin",
            "Andrey Rudenko",
            "Mikhail Bogdanov",
            "Sergey Vershinin",
            "Alexander Pankin",
            "Alexander Alimov",
            "Oleg Syromolotov",
            "Evgeny Ivanov",
            "Georgy Borisenko",
            "Dmitry Lyubinsky",
        ] {
            assert_eq!(r.find_all(name), vec![name], "{name}");
        }
    }

    #[test]
    fn russian_case_forms() {
        assert_eq!(
            surname_cases("Лавров", false),
            [
                "Лавров",
                "Лаврова",
                "Лаврову",
                "Лаврова",
                "Лавровым",
                "Лаврове"
            ]
        );
        assert_eq!(
            surname_cases("Захарова", true),
            [
                "Захарова",
                "Захаровой",
                "Захаровой",
                "Захарову",
                "Захаровой",
                "Захаровой"
            ]
        );
        assert_eq!(surname_cases("Любинский", false)[1], "Любинского");
        assert_eq!(surname_cases("Лукашевич", false)[4], "Лукашевичем");
        assert_eq!(surname_cases("Грушко", false)[2], "Грушко");
        assert_eq!(first_name_cases("Сергей")[1], "Сергея");
        assert_eq!(first_name_cases("Мария")[4], "Марией");
        assert_eq!(first_name_cases("Евгений")[5], "Евгении");
        assert_eq!(first_name_cases("Игорь")[2], "Игорю");
        let r = registry();
        for text in [
            "С.В.Лавров",
            "С.В.Лаврова",
            "С.В.Лаврову",
            "С.В.Лавровым",
            "С.В. Лаврова",
            "С. В. Лаврове",
            "Сергей Лавров",
            "Сергея Лаврова",
            "Сергеем Лавровым",
            "Министра иностранных дел Российской Федерации С.В.Лаврова по итогам",
        ] {
            assert_eq!(r.find_all(text), vec!["Sergey Lavrov"], "{text}");
        }
        assert_eq!(
            r.find_all("официального представителя МИД России М.В.Захаровой"),
            vec!["Maria Zakharova"]
        );
        assert_eq!(
            r.find_all("заместителя Министра С.А.Рябкова"),
            vec!["Sergey Ryabkov"]
        );
        assert_eq!(r.find_all("Д.Е.Любинского"), vec!["Dmitry Lyubinsky"]);
    }

    #[test]
    fn english_forms_capitals_and_order() {
        let r = registry();
        assert_eq!(
            r.find_all("Foreign Minister Sergey Lavrov’s talks with Deputy Foreign Minister Ivanov and Zakharova"),
            vec!["Sergey Lavrov", "Evgeny Ivanov", "Maria Zakharova"]
        );
        assert_eq!(
            r.find_all("INTERVIEW WITH RUSSIAN FOREIGN MINISTER IGOR IVANOV GRANTED TO THE NEWSPAPER TRUD-7"),
            vec!["Igor Ivanov"]
        );
        assert_eq!(r.find_all("Foreign Minister Ivanov"), vec!["Igor Ivanov"]);
        // Whole words only.
        assert!(r.find_all("Lavrova Street, Lavrovich").is_empty());
        assert!(r.find_all("Ivanov").is_empty());
        // Names not in the registry are not speakers.
        assert!(r.find_all("В.В.Путина").is_empty());
    }

    #[test]
    fn labels() {
        let r = registry();
        assert_eq!(r.match_label("Sergey Lavrov"), Some("Sergey Lavrov"));
        assert_eq!(r.match_label("С.В.Лавров"), Some("Sergey Lavrov"));
        assert_eq!(
            r.match_label("Foreign Minister Ivanov"),
            Some("Igor Ivanov")
        );
        assert_eq!(r.match_label("М.В.Захарова"), Some("Maria Zakharova"));
        assert_eq!(
            r.match_label("Russian Foreign Minister Sergey Lavrov"),
            Some("Sergey Lavrov")
        );
        assert_eq!(r.match_label("Question"), None);
        assert_eq!(r.match_label("Lavrov said that we"), None);
    }

    #[test]
    fn labels_with_a_long_office() {
        let r = Registry::of_profile(&SourceProfile::builtin("kremlin.ru").unwrap()).unwrap();
        assert_eq!(
            r.match_label("Press Secretary of the President of Russia Dmitry Peskov"),
            Some("Dmitry Peskov")
        );
        assert_eq!(
            r.match_label("Пресс-секретарь Президента Российской Федерации Д.Песков"),
            Some("Dmitry Peskov")
        );
        assert_eq!(
            r.match_label("President of Russia Dmitry Medvedev"),
            Some("Dmitry Medvedev")
        );
        assert_eq!(
            r.match_label("one two three four five six seven eight nine Dmitry Peskov"),
            None
        );
    }

    #[test]
    fn extra_file_merges() {
        let extra = r#"{"officials": [
            {"name": "Sergey Lavrov", "en": ["S. Lavrov"]},
            {"name": "Vasily Nebenzya", "en": ["Vasily Nebenzya"],
             "ru": {"first": "Василий", "initials": "В.А.", "surname": "Небензя", "female": false}}
        ]}"#;
        let r = Registry::of_profile_with_extra(&mid(), Some((extra, "extra.json"))).unwrap();
        assert_eq!(r.find_all("S. Lavrov"), vec!["Sergey Lavrov"]);
        assert_eq!(r.find_all("Постпред В.А.Небензя"), vec!["Vasily Nebenzya"]);
        let err = Registry::of_profile_with_extra(&mid(), Some(("{\"officials\": 3}", "bad.json")))
            .unwrap_err();
        assert!(err.to_string().contains("bad.json"), "{err}");
    }
}
