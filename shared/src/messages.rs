//! Versioned message types. Every message carries `schema_version`; consumers reject
//! versions they do not know (dead letter) instead of guessing.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of [`RawPage`] written by this build.
pub const RAW_PAGE_SCHEMA_VERSION: u32 = 1;
/// Version of [`SpeechRecord`] written by this build.
pub const SPEECH_SCHEMA_VERSION: u32 = 1;
/// Version of [`DeadLetter`] written by this build.
pub const DEAD_LETTER_SCHEMA_VERSION: u32 = 1;
/// The source identifier of the Russian Ministry of Foreign Affairs site.
pub const SOURCE_MID_RU: &str = "mid.ru";
/// Largest body a raw page may decompress to; protects consumers from compression bombs.
pub const MAX_DECODED_BODY: usize = 64 * 1024 * 1024;

/// Errors met while decoding message contents.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The payload is not valid JSON for the expected type.
    #[error("message is not a valid {what}: {source}")]
    Json {
        /// Which message type was expected.
        what: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The message was written by a newer (or unknown) schema version.
    #[error(
        "{what} has schema_version {found}, this build understands {expected}; upgrade this service"
    )]
    Version {
        /// Which message type.
        what: &'static str,
        /// Version found in the message.
        found: u32,
        /// Version this build writes and reads.
        expected: u32,
    },
    /// The inline body is not valid base64.
    #[error("raw page body is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The body could not be decompressed.
    #[error("raw page body could not be decompressed: {0}")]
    Decompress(std::io::Error),
    /// The body decompresses to more than [`MAX_DECODED_BODY`].
    #[error("raw page body exceeds {MAX_DECODED_BODY} bytes once decompressed")]
    TooLarge,
    /// The body lives in the object store and must be fetched through NATS.
    #[error("raw page body is stored in object store {bucket}/{object}; fetch it through NATS")]
    InObjectStore {
        /// Object store bucket.
        bucket: String,
        /// Object name.
        object: String,
    },
}

/// A language version of the site.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
}

impl Lang {
    /// All languages the site publishes.
    pub const ALL: [Lang; 6] = [Lang::En, Lang::Ru, Lang::De, Lang::Fr, Lang::Es, Lang::Pt];

    /// The two-letter code used in URLs and subjects.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::Pt => "pt",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown language code.
#[derive(Debug, thiserror::Error)]
#[error("unknown language {0:?}: expected one of en, ru, de, fr, es, pt")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_lowercase();
        Lang::ALL
            .into_iter()
            .find(|l| l.as_str() == code)
            .ok_or_else(|| UnknownLang(s.to_string()))
    }
}

/// What kind of statement a record is, from the first cue in its title.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A speech or address.
    Speech,
    /// Remarks, opening remarks.
    Remarks,
    /// A statement.
    Statement,
    /// An interview.
    Interview,
    /// Answers to questions.
    Answers,
    /// A spokesperson's briefing.
    Briefing,
    /// A press conference.
    PressConference,
    /// A comment or reply to a media question.
    Comment,
    /// A press release.
    PressRelease,
    /// An article.
    Article,
    /// Greetings or a message.
    Greetings,
    /// Anything else.
    Other,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 12] = [
        Kind::Speech,
        Kind::Remarks,
        Kind::Statement,
        Kind::Interview,
        Kind::Answers,
        Kind::Briefing,
        Kind::PressConference,
        Kind::Comment,
        Kind::PressRelease,
        Kind::Article,
        Kind::Greetings,
        Kind::Other,
    ];

    /// The snake_case name used in JSON, subjects and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Speech => "speech",
            Kind::Remarks => "remarks",
            Kind::Statement => "statement",
            Kind::Interview => "interview",
            Kind::Answers => "answers",
            Kind::Briefing => "briefing",
            Kind::PressConference => "press_conference",
            Kind::Comment => "comment",
            Kind::PressRelease => "press_release",
            Kind::Article => "article",
            Kind::Greetings => "greetings",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown kind name.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown kind {0:?}: expected one of speech, remarks, statement, interview, answers, briefing, press_conference, comment, press_release, article, greetings, other"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// How the record's content was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// The site's known markup matched.
    #[default]
    Full,
    /// The known selectors failed and a generic main-content extractor was used: check it.
    Fallback,
}

/// What a listing page or the RSS feed said about a statement before it was fetched.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ListingHint {
    /// The section path the statement was listed under (e.g. `/press_service/minister_speeches/`),
    /// or `rss` for the feed.
    pub section: Option<String>,
    /// The title as listed.
    pub title: Option<String>,
    /// The listed date and time, Moscow time.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Tags shown beside the listing item.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// How a raw page body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Stored as is.
    None,
    /// zstd frame.
    Zstd,
}

/// Where the bytes of a raw page are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "storage", rename_all = "snake_case")]
pub enum Body {
    /// In the message itself, base64-encoded.
    Inline {
        /// Compression applied before base64.
        compression: Compression,
        /// The (compressed) bytes, standard base64.
        data: String,
    },
    /// In the JetStream object store, for pages too large for one message.
    ObjectStore {
        /// Object store bucket.
        bucket: String,
        /// Object name.
        object: String,
        /// Compression applied to the stored object.
        compression: Compression,
    },
}

impl Body {
    /// Compresses `bytes` with zstd and stores them inline.
    pub fn inline_zstd(bytes: &[u8]) -> Body {
        // Level 3 is zstd's default: fast, and HTML shrinks about 5x.
        let compressed = zstd::bulk::compress(bytes, 3).unwrap_or_else(|_| bytes.to_vec());
        let compression = if compressed.len() < bytes.len() {
            Compression::Zstd
        } else {
            Compression::None
        };
        let data = match compression {
            Compression::Zstd => &compressed[..],
            Compression::None => bytes,
        };
        Body::Inline {
            compression,
            data: base64::engine::general_purpose::STANDARD.encode(data),
        }
    }

    /// Decodes an inline body. Object-store bodies give [`MessageError::InObjectStore`].
    pub fn decode_inline(&self) -> Result<Vec<u8>, MessageError> {
        match self {
            Body::Inline { compression, data } => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
                decompress(*compression, &bytes)
            }
            Body::ObjectStore { bucket, object, .. } => Err(MessageError::InObjectStore {
                bucket: bucket.clone(),
                object: object.clone(),
            }),
        }
    }
}

/// Decompresses `bytes`, refusing anything larger than [`MAX_DECODED_BODY`].
pub fn decompress(compression: Compression, bytes: &[u8]) -> Result<Vec<u8>, MessageError> {
    match compression {
        Compression::None if bytes.len() > MAX_DECODED_BODY => Err(MessageError::TooLarge),
        Compression::None => Ok(bytes.to_vec()),
        Compression::Zstd => {
            let decoder =
                zstd::stream::read::Decoder::new(bytes).map_err(MessageError::Decompress)?;
            let mut out = Vec::new();
            decoder
                .take(MAX_DECODED_BODY as u64 + 1)
                .read_to_end(&mut out)
                .map_err(MessageError::Decompress)?;
            if out.len() > MAX_DECODED_BODY {
                return Err(MessageError::TooLarge);
            }
            Ok(out)
        }
    }
}

/// A fetched statement page, as published by the fetcher on `raw.{source}.{lang}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RawPage {
    /// Always [`RAW_PAGE_SCHEMA_VERSION`] for this build.
    pub schema_version: u32,
    /// Source site identifier (`mid.ru`).
    pub source: String,
    /// The site's numeric document id, as a string.
    pub doc_id: String,
    /// Language version of the page.
    pub lang: Lang,
    /// The URL the page was fetched from (after allowed redirects).
    pub url: String,
    /// HTTP status of the response.
    pub http_status: u16,
    /// Response headers that matter downstream, names lower-case
    /// (`content-type`, `etag`, `last-modified`, `date`, `content-language`).
    pub headers: BTreeMap<String, String>,
    /// When the fetch completed.
    pub fetched_at: DateTime<Utc>,
    /// What the listing or feed said about the page.
    #[serde(default)]
    pub listing: Option<ListingHint>,
    /// SHA-256 of the uncompressed body, hex.
    pub body_sha256: String,
    /// The page bytes as served (not yet decoded from their charset).
    pub body: Body,
}

impl RawPage {
    /// The JetStream de-duplication id: one message per document, language and body.
    pub fn msg_id(&self) -> String {
        format!(
            "raw:{}:{}:{}:{}",
            self.source,
            self.doc_id,
            self.lang,
            &self.body_sha256[..self.body_sha256.len().min(16)]
        )
    }

    /// Parses and version-checks a payload.
    pub fn from_json(payload: &[u8]) -> Result<Self, MessageError> {
        let page: RawPage =
            serde_json::from_slice(payload).map_err(|source| MessageError::Json {
                what: "raw page",
                source,
            })?;
        check_version("raw page", page.schema_version, RAW_PAGE_SCHEMA_VERSION)?;
        Ok(page)
    }
}

/// One turn of a question-and-answer transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    /// `Question`, or the canonical English name of the official, or the label as written
    /// when the speaker is not in the registry of the source.
    pub speaker: String,
    /// The turn's text: its paragraphs joined by a blank line (`\n\n`).
    pub text: String,
    /// True when the label said the turn was interpreted ("перевод с английского языка").
    #[serde(default)]
    pub interpreted: bool,
    /// The news outlet that asks, as its label names it ("CCTV", "Reuters"), on question
    /// turns labelled by outlet; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlet: Option<String>,
}

/// A normalized statement, as published by the parser on `speeches.{source}.{lang}.{kind}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SpeechRecord {
    /// Always [`SPEECH_SCHEMA_VERSION`] for this build.
    pub schema_version: u32,
    /// `"{source}:{doc_id}:{lang}"`, e.g. `mid.ru:1653435:en`.
    pub id: String,
    /// Source site identifier (`mid.ru`).
    pub source: String,
    /// The site's numeric document id, shared by all language versions.
    pub doc_id: String,
    /// Language of this version.
    pub lang: Lang,
    /// Canonical URL of the page.
    pub url: String,
    /// The page's title, site suffix removed, typography kept.
    pub title: String,
    /// Kind of statement, from the title.
    pub kind: Kind,
    /// Canonical English names of the officials who speak.
    pub speakers: Vec<String>,
    /// Place as written in the title, if any.
    pub location: Option<String>,
    /// Date of the event named in the title, if any.
    pub event_date: Option<NaiveDate>,
    /// Publication date and time with the Moscow offset of that date.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// The site's document number (e.g. `1897-09-10-2017`), if shown.
    pub doc_number: Option<String>,
    /// Body paragraphs in order, whitespace normalized; headings are paragraphs too.
    pub paragraphs: Vec<String>,
    /// Question-and-answer turns, empty when the text is not a transcript.
    pub turns: Vec<Turn>,
    /// Tags the site attaches to the statement.
    pub tags: Vec<String>,
    /// Other language versions: language → URL.
    pub translations: BTreeMap<Lang, String>,
    /// How the content was found.
    #[serde(default)]
    pub quality: Quality,
    /// `sha256:` digest of the normalized content (see [`SpeechRecord::compute_content_hash`]).
    pub content_hash: String,
    /// When the page was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Version of the parser that produced the record.
    pub parser_version: String,
}

impl SpeechRecord {
    /// The record id for a document and language.
    pub fn make_id(source: &str, doc_id: &str, lang: Lang) -> String {
        format!("{source}:{doc_id}:{lang}")
    }

    /// Digest of what a reader sees: title, kind, speakers, place, dates, document number,
    /// paragraphs, turns, tags and translations. Fetch time, URL and parser version are left
    /// out, so an unchanged page re-fetched or re-parsed gives the same hash.
    pub fn compute_content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Hashed<'a> {
            title: &'a str,
            kind: Kind,
            speakers: &'a [String],
            location: &'a Option<String>,
            event_date: &'a Option<NaiveDate>,
            published_at: &'a Option<DateTime<FixedOffset>>,
            doc_number: &'a Option<String>,
            paragraphs: &'a [String],
            turns: &'a [Turn],
            tags: &'a [String],
            translations: &'a BTreeMap<Lang, String>,
        }
        let hashed = Hashed {
            title: &self.title,
            kind: self.kind,
            speakers: &self.speakers,
            location: &self.location,
            event_date: &self.event_date,
            published_at: &self.published_at,
            doc_number: &self.doc_number,
            paragraphs: &self.paragraphs,
            turns: &self.turns,
            tags: &self.tags,
            translations: &self.translations,
        };
        // The JSON goes straight into the digest, without a buffer. Serializing plain data
        // with string keys into a hasher cannot fail.
        let mut hasher = Sha256::new();
        let _ = serde_json::to_writer(&mut hasher, &hashed);
        format!("sha256:{}", hex(&hasher.finalize()))
    }

    /// The JetStream de-duplication id: one message per record id and content.
    pub fn msg_id(&self) -> String {
        format!("speech:{}:{}", self.id, self.content_hash)
    }

    /// Parses and version-checks a payload.
    pub fn from_json(payload: &[u8]) -> Result<Self, MessageError> {
        let record: SpeechRecord =
            serde_json::from_slice(payload).map_err(|source| MessageError::Json {
                what: "speech record",
                source,
            })?;
        check_version(
            "speech record",
            record.schema_version,
            SPEECH_SCHEMA_VERSION,
        )?;
        Ok(record)
    }
}

/// A message that could not be processed, kept on `dead.{stage}.{source}` with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetter {
    /// Always [`DEAD_LETTER_SCHEMA_VERSION`] for this build.
    pub schema_version: u32,
    /// The stage that gave up (`parser`, `sink`).
    pub stage: String,
    /// Why, in words an operator understands.
    pub reason: String,
    /// The subject the original message was published on.
    pub subject: String,
    /// The original message's sequence in its stream, if it came from one.
    pub stream_sequence: Option<u64>,
    /// How many times it was delivered before giving up.
    pub deliveries: u64,
    /// When the stage gave up.
    pub failed_at: DateTime<Utc>,
    /// The original payload, standard base64.
    pub payload: String,
}

impl DeadLetter {
    /// Decodes the original payload.
    pub fn original_payload(&self) -> Result<Vec<u8>, MessageError> {
        Ok(base64::engine::general_purpose::STANDARD.decode(&self.payload)?)
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn hex_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of a digest.
fn hex(digest: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn check_version(what: &'static str, found: u32, expected: u32) -> Result<(), MessageError> {
    if found == expected {
        Ok(())
    } else {
        Err(MessageError::Version {
            what,
            found,
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips_through_zstd() {
        let html = "<html><body>".repeat(200);
        let body = Body::inline_zstd(html.as_bytes());
        assert!(matches!(
            body,
            Body::Inline {
                compression: Compression::Zstd,
                ..
            }
        ));
        assert_eq!(body.decode_inline().unwrap(), html.as_bytes());
    }

    #[test]
    fn incompressible_body_is_stored_plain() {
        let body = Body::inline_zstd(b"ab");
        assert!(matches!(
            body,
            Body::Inline {
                compression: Compression::None,
                ..
            }
        ));
        assert_eq!(body.decode_inline().unwrap(), b"ab");
    }

    #[test]
    fn compression_bomb_is_refused() {
        let zeros = vec![0u8; MAX_DECODED_BODY + 10];
        let bomb = zstd::bulk::compress(&zeros, 3).unwrap();
        assert!(matches!(
            decompress(Compression::Zstd, &bomb),
            Err(MessageError::TooLarge)
        ));
    }

    #[test]
    fn unknown_schema_version_is_refused() {
        let err = SpeechRecord::from_json(br#"{"schema_version": 99}"#).unwrap_err();
        assert!(err.to_string().contains("speech record"), "{err}");
        let json = serde_json::json!({"schema_version": 2});
        assert!(matches!(
            check_version("x", json["schema_version"].as_u64().unwrap() as u32, 1),
            Err(MessageError::Version { found: 2, .. })
        ));
    }

    #[test]
    fn lang_and_kind_parse_their_names() {
        assert_eq!("EN".parse::<Lang>().unwrap(), Lang::En);
        assert!("xx".parse::<Lang>().is_err());
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>().unwrap(), kind);
        }
    }
}
