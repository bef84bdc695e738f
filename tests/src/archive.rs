//! A generated archive of speech records for the archive benchmark and the query-plan tests:
//! varied texts drawn from a real-looking vocabulary with a Zipf distribution (a head of real
//! English and Russian words, a long tail of word-like coinages), English and Russian,
//! 2003–2026 (more records in later years), every kind, many speakers, several sources,
//! question-and-answer transcripts with turns.
//!
//! Deterministic: record `i` depends only on [`GENERATOR_VERSION`] and `i`, so an archive can
//! be generated in any order or in parts, and a cached archive is reused while the version
//! stays the same.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, Offset as _, TimeZone as _, Utc};
use shared::{Kind, Lang, SpeechRecord, Turn};

/// Bump when the generated records change (invalidates cached archives).
pub const GENERATOR_VERSION: u32 = 1;

/// The head of the English vocabulary, most frequent first (stop words excluded: search
/// ignores them anyway).
const EN_HEAD: &str = include_str!("archive-words-en.txt");

/// The head of the Russian vocabulary (several case forms, as in real texts).
const RU_HEAD: &str = include_str!("archive-words-ru.txt");

/// Collocations inserted now and then, so phrase searches find real phrases.
const EN_PHRASES: &[&str] = &[
    "Security Council",
    "strategic stability",
    "United Nations",
    "international law",
    "bilateral relations",
    "peaceful settlement",
    "arms control",
    "collective security",
];
const RU_PHRASES: &[&str] = &[
    "Совет Безопасности",
    "стратегической стабильности",
    "Организации Объединённых Наций",
    "международного права",
    "двусторонних отношений",
    "мирного урегулирования",
];

const LATIN_SYLLABLES: &[&str] = &[
    "ka", "ro", "mi", "ten", "val", "dor", "sa", "lin", "ber", "gu", "ta", "vos", "ne", "pri",
    "lo", "mar", "chi", "zen", "ul", "tra", "fe", "bo", "qua", "dis", "ram", "hel", "on", "vi",
];
const CYRILLIC_SYLLABLES: &[&str] = &[
    "ка", "ро", "ми", "тен", "вал", "дор", "са", "лин", "бер", "гу", "та", "вос", "не", "при",
    "ло", "мар", "чи", "зен", "ул", "тра", "фе", "бо", "ква", "дис", "рам", "хел", "он", "ви",
];

/// Words of the long tail per language (coinages from syllables).
const TAIL_WORDS: usize = 40_000;
/// The Zipf exponent (natural language: about 1).
const ZIPF_S: f64 = 1.0;

const FIRST_NAMES: &[&str] = &[
    "Sergey",
    "Maria",
    "Alexander",
    "Andrey",
    "Mikhail",
    "Dmitry",
    "Vladimir",
    "Yury",
    "Igor",
    "Oleg",
    "Natalia",
    "Alexey",
    "Vasily",
    "Pavel",
    "Wang",
    "Hua",
    "Zhao",
    "Mao",
    "Lin",
    "Geng",
];
const LAST_NAMES: &[&str] = &[
    "Lavrov",
    "Zakharova",
    "Grushko",
    "Ryabkov",
    "Rudenko",
    "Peskov",
    "Galuzin",
    "Bogdanov",
    "Titov",
    "Syromolotov",
    "Pankin",
    "Nebenzia",
    "Yi",
    "Chunying",
    "Lijian",
    "Ning",
    "Jian",
    "Shuang",
    "Putin",
    "Medvedev",
];

/// Sources with their share of records (per mille).
const SOURCES: &[(&str, u64)] = &[("mid.ru", 600), ("kremlin.ru", 250), ("fmprc.gov.cn", 150)];

/// Kinds with their share of records (per mille), transcripts first.
const KINDS: &[(Kind, u64)] = &[
    (Kind::Briefing, 90),
    (Kind::Interview, 80),
    (Kind::Answers, 60),
    (Kind::PressConference, 70),
    (Kind::Statement, 120),
    (Kind::Comment, 160),
    (Kind::PressRelease, 180),
    (Kind::Speech, 70),
    (Kind::Remarks, 60),
    (Kind::Article, 30),
    (Kind::Greetings, 50),
    (Kind::Other, 30),
];

/// A small, fast, seedable generator (SplitMix64): the archive must not change when a
/// dependency's algorithm does.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.range(0, total);
        for (item, weight) in items {
            if x < *weight {
                return *item;
            }
            x -= weight;
        }
        items[items.len() - 1].0
    }
}

/// One language's vocabulary: words by rank and the cumulative Zipf weights.
#[derive(Debug)]
pub struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(head: &str, syllables: &[&str], seed: u64) -> Vocabulary {
        let mut words: Vec<String> = head.split_whitespace().map(str::to_string).collect();
        let head_len = words.len();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        let mut rng = Rng::new(seed);
        while words.len() < head_len + TAIL_WORDS {
            let n = rng.range(2, 5);
            let word: String = (0..n).map(|_| *rng.pick(syllables)).collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(ZIPF_S);
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    /// The word of rank `rank` (0 = most frequent).
    pub fn word(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// How many words there are.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the vocabulary is empty (never).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// A word drawn with the Zipf distribution.
    pub fn sample(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = rng.unit() * total;
        let rank = self.cumulative.partition_point(|&c| c <= x);
        self.word(rank)
    }
}

/// The archive: `len` records, generated on demand.
#[derive(Debug)]
pub struct Archive {
    len: u64,
    en: Vocabulary,
    ru: Vocabulary,
}

/// First and last instants of the archive.
fn span() -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc.with_ymd_and_hms(2003, 1, 1, 0, 0, 0).single();
    let end = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single();
    (start.unwrap_or_default(), end.unwrap_or_default())
}

impl Archive {
    /// An archive of `len` records.
    pub fn new(len: u64) -> Archive {
        Archive {
            len,
            en: Vocabulary::new(EN_HEAD, LATIN_SYLLABLES, 11),
            ru: Vocabulary::new(RU_HEAD, CYRILLIC_SYLLABLES, 13),
        }
    }

    /// How many records it holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The vocabulary of `lang` (English for every language but Russian).
    pub fn vocabulary(&self, lang: Lang) -> &Vocabulary {
        if lang == Lang::Ru { &self.ru } else { &self.en }
    }

    /// The canonical names of the speakers, most frequent first.
    pub fn speakers() -> Vec<String> {
        let mut names = Vec::new();
        for (i, last) in LAST_NAMES.iter().enumerate() {
            names.push(format!("{} {last}", FIRST_NAMES[i % FIRST_NAMES.len()]));
        }
        for (i, first) in FIRST_NAMES.iter().enumerate() {
            for (j, last) in LAST_NAMES.iter().enumerate().skip(1) {
                if (i + j) % 3 == 0 {
                    names.push(format!("{first} {last}"));
                }
            }
        }
        names
    }

    /// Record `i` (0-based); the same for the same `i` and [`GENERATOR_VERSION`].
    pub fn record(&self, i: u64) -> SpeechRecord {
        let mut rng =
            Rng::new((u64::from(GENERATOR_VERSION) << 48) ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let source = rng.weighted(SOURCES);
        let lang = if source == "fmprc.gov.cn" || rng.unit() < 0.55 {
            Lang::En
        } else {
            Lang::Ru
        };
        let kind = rng.weighted(KINDS);
        // Density rising over time: more statements in later years.
        let (start, end) = span();
        let seconds = (end - start).num_seconds() as f64;
        let at = start + Duration::seconds((seconds * rng.unit().sqrt()) as i64);
        let moscow = FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| Utc.fix());
        let published = at.with_timezone(&moscow);
        let speakers = Self::speakers();
        let speaker_rank = zipf_index(&mut rng, speakers.len());
        let mut names = vec![speakers[speaker_rank].clone()];
        if rng.unit() < 0.15 {
            names.push(rng.pick(&speakers).clone());
            names.dedup();
        }
        let words = self.vocabulary(lang);
        let phrases = if lang == Lang::Ru {
            RU_PHRASES
        } else {
            EN_PHRASES
        };
        let transcript = matches!(
            kind,
            Kind::Briefing | Kind::Interview | Kind::Answers | Kind::PressConference
        );
        // Lengths: short comments and releases, long transcripts.
        let paragraphs_n = match kind {
            Kind::Comment | Kind::PressRelease | Kind::Greetings => rng.range(2, 6),
            _ if transcript => rng.range(8, 24),
            _ => rng.range(4, 12),
        };
        let paragraphs: Vec<String> = (0..paragraphs_n)
            .map(|_| paragraph(&mut rng, words, phrases))
            .collect();
        let turns = if transcript {
            let question = if lang == Lang::Ru {
                "Вопрос"
            } else {
                "Question"
            };
            paragraphs
                .chunks(2)
                .flat_map(|pair| {
                    pair.iter().enumerate().map(|(k, text)| Turn {
                        speaker: if k == 0 {
                            question.to_string()
                        } else {
                            names[0].clone()
                        },
                        text: text.clone(),
                        interpreted: false,
                        outlet: None,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let doc_id = (100_000 + i).to_string();
        let title_words: Vec<&str> = (0..rng.range(4, 10))
            .map(|_| words.sample(&mut rng))
            .collect();
        let title = format!(
            "{} {} {}",
            title_prefix(kind, lang),
            names[0],
            title_words.join(" ")
        );
        let site_lang = if source == "fmprc.gov.cn" {
            "eng"
        } else {
            lang.as_str()
        };
        let mut record = SpeechRecord {
            schema_version: shared::messages::SPEECH_SCHEMA_VERSION,
            id: SpeechRecord::make_id(source, &doc_id, lang),
            source: source.to_string(),
            doc_id: doc_id.clone(),
            lang,
            url: format!("https://{source}/{site_lang}/{doc_id}/"),
            title,
            kind,
            speakers: names,
            location: Some(
                if lang == Lang::Ru {
                    "Москва"
                } else {
                    "Moscow"
                }
                .to_string(),
            ),
            event_date: Some(published.date_naive()),
            published_at: Some(published),
            doc_number: Some(format!("{}-{}", i % 3000, published.format("%d-%m-%Y"))),
            paragraphs,
            turns,
            tags: vec![words.word(rng.range(0, 60) as usize).to_string()],
            translations: BTreeMap::new(),
            quality: Default::default(),
            content_hash: String::new(),
            fetched_at: at + Duration::minutes(5),
            parser_version: format!("archive-generator/{GENERATOR_VERSION}"),
        };
        record.content_hash = record.compute_content_hash();
        record
    }
}

/// An index in `0..n` drawn with a Zipf distribution (0 most likely).
fn zipf_index(rng: &mut Rng, n: usize) -> usize {
    let harmonic: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = rng.unit() * harmonic;
    for k in 1..=n {
        x -= 1.0 / k as f64;
        if x < 0.0 {
            return k - 1;
        }
    }
    n - 1
}

fn title_prefix(kind: Kind, lang: Lang) -> &'static str {
    let (en, ru) = match kind {
        Kind::Speech => ("Speech by", "Выступление"),
        Kind::Remarks => ("Remarks by", "Вступительное слово"),
        Kind::Statement => ("Statement by", "Заявление"),
        Kind::Interview => ("Interview by", "Интервью"),
        Kind::Answers => ("Answers to questions by", "Ответы на вопросы"),
        Kind::Briefing => ("Briefing by", "Брифинг"),
        Kind::PressConference => ("Press conference by", "Пресс-конференция"),
        Kind::Comment => ("Comment by", "Комментарий"),
        Kind::PressRelease => ("On the talks of", "О переговорах"),
        Kind::Article => ("Article by", "Статья"),
        Kind::Greetings => ("Greetings by", "Приветствие"),
        Kind::Other => ("Materials of", "Материалы"),
    };
    if lang == Lang::Ru { ru } else { en }
}

fn paragraph(rng: &mut Rng, words: &Vocabulary, phrases: &[&str]) -> String {
    let sentences = rng.range(1, 5);
    let mut text = String::new();
    for s in 0..sentences {
        if s > 0 {
            text.push(' ');
        }
        let n = rng.range(6, 22);
        for w in 0..n {
            let word = if rng.unit() < 0.03 {
                *rng.pick(phrases)
            } else {
                words.sample(rng)
            };
            if w == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
            if w + 1 < n && rng.unit() < 0.08 {
                text.push(',');
            }
        }
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn records_are_deterministic_and_varied() {
        let archive = Archive::new(2_000);
        assert_eq!(archive.record(17), archive.record(17));
        assert_ne!(
            archive.record(17).content_hash,
            archive.record(18).content_hash
        );
        let records: Vec<SpeechRecord> = (0..2_000).map(|i| archive.record(i)).collect();
        let count = |f: &dyn Fn(&SpeechRecord) -> bool| records.iter().filter(|r| f(r)).count();
        for kind in Kind::ALL {
            assert!(count(&|r| r.kind == kind) > 10, "{kind:?} is too rare");
        }
        for (source, _) in SOURCES {
            assert!(
                count(&|r| r.source == *source) > 100,
                "{source} is too rare"
            );
        }
        assert!(count(&|r| r.lang == Lang::Ru) > 500);
        assert!(count(&|r| r.lang == Lang::En) > 500);
        assert!(count(&|r| !r.turns.is_empty()) > 300, "too few transcripts");
        let (start, end) = span();
        let years: std::collections::BTreeSet<i32> = records
            .iter()
            .map(|r| {
                let at = r
                    .published_at
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default();
                assert!(at >= start && at <= end, "{at} out of range");
                chrono::Datelike::year(&at)
            })
            .collect();
        assert!(years.contains(&2003) && years.contains(&2026), "{years:?}");
        let speakers: std::collections::HashSet<&String> =
            records.iter().flat_map(|r| &r.speakers).collect();
        assert!(speakers.len() > 40, "only {} speakers", speakers.len());
    }

    #[test]
    fn word_frequencies_follow_zipf() {
        let archive = Archive::new(300);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for i in 0..300 {
            for p in archive.record(i).paragraphs {
                for w in p.split(|c: char| !c.is_alphanumeric()) {
                    if !w.is_empty() {
                        *counts.entry(w.to_lowercase()).or_default() += 1;
                    }
                }
            }
        }
        let en = archive.vocabulary(Lang::En);
        let freq = |rank: usize| counts.get(en.word(rank)).copied().unwrap_or(0);
        // Zipf: the top word is about ten times as frequent as the tenth.
        let ratio = freq(0) as f64 / freq(9).max(1) as f64;
        assert!((5.0..20.0).contains(&ratio), "rank 1 / rank 10 = {ratio}");
        assert!(freq(0) > 50 * freq(2_000).max(1) / 10);
        // A long tail: many distinct words.
        assert!(
            counts.len() > 10_000,
            "only {} distinct words",
            counts.len()
        );
    }
}
