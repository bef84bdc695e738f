//! The tables of the research exports as Arrow schemas, the batches built from records, and
//! the codebook that explains every column. Pure functions, no I/O.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Int32Builder, ListBuilder, OffsetBufferBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde_json::{Value, json};
use shared::SpeechRecord;

use super::Item;

/// The zone of every timestamp column: instants in UTC (the offset the site showed is kept
/// in `published_at` of the JSON export and as the local date in `published_date`).
pub const TIME_ZONE: &str = "UTC";

/// Which table an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// One row per record.
    Records,
    /// One row per question-and-answer turn.
    Turns,
}

impl Table {
    /// The table's name (`records`, `turns`).
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Records => "records",
            Table::Turns => "turns",
        }
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Records => records_schema(),
            Table::Turns => turns_schema(),
        }
    }

    /// The rows of `records` as one batch of this table.
    pub fn batch(self, items: &[Item]) -> Result<RecordBatch, ArrowError> {
        match self {
            Table::Records => records_batch(items),
            Table::Turns => turns_batch(items),
        }
    }
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(TIME_ZONE.into()))
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn turn_fields() -> Fields {
    Fields::from(vec![
        Field::new("speaker", DataType::Utf8, false),
        Field::new("outlet", DataType::Utf8, true),
        Field::new("interpreted", DataType::Boolean, false),
        Field::new("text", DataType::Utf8, false),
    ])
}

fn translation_fields() -> Fields {
    Fields::from(vec![
        Field::new("lang", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, false),
    ])
}

fn struct_list(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), true)))
}

/// The `records` table: one row per record (latest version).
pub fn records_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("lang", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, false),
        Field::new("published_at", timestamp(), true),
        Field::new("published_date", DataType::Date32, true),
        Field::new("event_date", DataType::Date32, true),
        Field::new("location", DataType::Utf8, true),
        Field::new("doc_number", DataType::Utf8, true),
        Field::new("speakers", string_list(), false),
        Field::new("tags", string_list(), false),
        Field::new("paragraphs", string_list(), false),
        Field::new("turns", struct_list(turn_fields()), false),
        Field::new("translations", struct_list(translation_fields()), false),
        Field::new("quality", DataType::Utf8, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("fetched_at", timestamp(), false),
        Field::new("parser_version", DataType::Utf8, false),
    ]))
}

/// The `turns` table: one row per turn of every transcript.
pub fn turns_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("position", DataType::Int32, false),
        Field::new("speaker", DataType::Utf8, false),
        Field::new("outlet", DataType::Utf8, true),
        Field::new("interpreted", DataType::Boolean, false),
        Field::new("text", DataType::Utf8, false),
    ]))
}

/// Days since 1970-01-01, Arrow's `Date32`.
fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - 719_163
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn string_list_of(
    records: &[&SpeechRecord],
    items: impl Fn(&SpeechRecord) -> &[String],
) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for record in records {
        for item in items(record) {
            builder.values().append_value(item);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

fn turns_column(items: &[Item]) -> Result<ArrayRef, ArrowError> {
    let mut offsets = OffsetBufferBuilder::<i32>::new(items.len());
    let mut speaker = StringBuilder::new();
    let mut outlets = StringBuilder::new();
    let mut interpreted = BooleanBuilder::new();
    let mut text = StringBuilder::new();
    for item in items {
        offsets.push_length(item.record.turns.len());
        for (i, turn) in item.record.turns.iter().enumerate() {
            speaker.append_value(&turn.speaker);
            outlets.append_option(item.outlet(i));
            interpreted.append_value(turn.interpreted);
            text.append_value(&turn.text);
        }
    }
    let values = StructArray::try_new(
        turn_fields(),
        vec![
            Arc::new(speaker.finish()),
            Arc::new(outlets.finish()),
            Arc::new(interpreted.finish()),
            Arc::new(text.finish()),
        ],
        None,
    )?;
    let field = Arc::new(Field::new("item", DataType::Struct(turn_fields()), true));
    Ok(Arc::new(ListArray::try_new(
        field,
        offsets.finish(),
        Arc::new(values),
        None,
    )?))
}

fn translations_column(records: &[&SpeechRecord]) -> Result<ArrayRef, ArrowError> {
    let mut offsets = OffsetBufferBuilder::<i32>::new(records.len());
    let mut langs = StringBuilder::new();
    let mut urls = StringBuilder::new();
    for record in records {
        offsets.push_length(record.translations.len());
        for (lang, url) in &record.translations {
            langs.append_value(lang.as_str());
            urls.append_value(url);
        }
    }
    let values = StructArray::try_new(
        translation_fields(),
        vec![Arc::new(langs.finish()), Arc::new(urls.finish())],
        None,
    )?;
    let field = Arc::new(Field::new(
        "item",
        DataType::Struct(translation_fields()),
        true,
    ));
    Ok(Arc::new(ListArray::try_new(
        field,
        offsets.finish(),
        Arc::new(values),
        None,
    )?))
}

fn strings(records: &[&SpeechRecord], value: impl Fn(&SpeechRecord) -> &str) -> ArrayRef {
    let mut builder = StringBuilder::new();
    for record in records {
        builder.append_value(value(record));
    }
    Arc::new(builder.finish())
}

fn optional_strings(
    records: &[&SpeechRecord],
    value: impl Fn(&SpeechRecord) -> Option<&str>,
) -> ArrayRef {
    let mut builder = StringBuilder::new();
    for record in records {
        builder.append_option(value(record));
    }
    Arc::new(builder.finish())
}

fn timestamps(records: &[&SpeechRecord], value: impl Fn(&SpeechRecord) -> Option<i64>) -> ArrayRef {
    let mut builder = TimestampMicrosecondBuilder::new().with_timezone(TIME_ZONE);
    for record in records {
        builder.append_option(value(record));
    }
    Arc::new(builder.finish())
}

fn dates(
    records: &[&SpeechRecord],
    value: impl Fn(&SpeechRecord) -> Option<NaiveDate>,
) -> ArrayRef {
    let mut builder = Date32Builder::new();
    for record in records {
        builder.append_option(value(record).map(days));
    }
    Arc::new(builder.finish())
}

/// The `quality` name as in the JSON record.
fn quality(record: &SpeechRecord) -> &'static str {
    match record.quality {
        shared::messages::Quality::Full => "full",
        shared::messages::Quality::Fallback => "fallback",
    }
}

/// The rows of the `records` table for `records`.
pub fn records_batch(items: &[Item]) -> Result<RecordBatch, ArrowError> {
    let records: Vec<&SpeechRecord> = items.iter().map(|i| &i.record).collect();
    let records = records.as_slice();
    let columns: Vec<ArrayRef> = vec![
        strings(records, |r| &r.id),
        strings(records, |r| &r.source),
        strings(records, |r| &r.doc_id),
        strings(records, |r| r.lang.as_str()),
        strings(records, |r| r.kind.as_str()),
        strings(records, |r| &r.title),
        strings(records, |r| &r.url),
        timestamps(records, |r| {
            r.published_at.map(|t| micros(t.with_timezone(&Utc)))
        }),
        dates(records, |r| r.published_at.map(|t| t.date_naive())),
        dates(records, |r| r.event_date),
        optional_strings(records, |r| r.location.as_deref()),
        optional_strings(records, |r| r.doc_number.as_deref()),
        string_list_of(records, |r| &r.speakers),
        string_list_of(records, |r| &r.tags),
        string_list_of(records, |r| &r.paragraphs),
        turns_column(items)?,
        translations_column(records)?,
        strings(records, |r| quality(r)),
        strings(records, |r| &r.content_hash),
        timestamps(records, |r| Some(micros(r.fetched_at))),
        strings(records, |r| &r.parser_version),
    ];
    RecordBatch::try_new(records_schema(), columns)
}

/// The rows of the `turns` table for the turns of `records`.
pub fn turns_batch(items: &[Item]) -> Result<RecordBatch, ArrowError> {
    let mut record_id = StringBuilder::new();
    let mut position = Int32Builder::new();
    let mut speaker = StringBuilder::new();
    let mut outlets = StringBuilder::new();
    let mut interpreted = BooleanBuilder::new();
    let mut text = StringBuilder::new();
    for item in items {
        for (i, turn) in item.record.turns.iter().enumerate() {
            record_id.append_value(&item.record.id);
            position.append_value(i32::try_from(i).unwrap_or(i32::MAX));
            speaker.append_value(&turn.speaker);
            outlets.append_option(item.outlet(i));
            interpreted.append_value(turn.interpreted);
            text.append_value(&turn.text);
        }
    }
    RecordBatch::try_new(
        turns_schema(),
        vec![
            Arc::new(record_id.finish()),
            Arc::new(position.finish()),
            Arc::new(speaker.finish()),
            Arc::new(outlets.finish()),
            Arc::new(interpreted.finish()),
            Arc::new(text.finish()),
        ],
    )
}

/// The rows of the turns table of one record as JSON (the `turns.jsonl.gz` lines), same
/// columns.
pub fn turns_json(item: &Item) -> impl Iterator<Item = Value> + '_ {
    item.record.turns.iter().enumerate().map(|(i, turn)| {
        json!({
            "record_id": item.record.id,
            "position": i,
            "speaker": turn.speaker,
            "outlet": item.outlet(i),
            "interpreted": turn.interpreted,
            "text": turn.text,
        })
    })
}

/// What a column means and an example value, for the codebook.
pub struct ColumnDoc {
    /// The table.
    pub table: Table,
    /// The column.
    pub name: &'static str,
    /// What it holds.
    pub meaning: &'static str,
    /// An example value, as it would print.
    pub example: &'static str,
}

/// The meaning and an example of every column of both tables, in schema order.
pub const CODEBOOK: &[ColumnDoc] = &[
    ColumnDoc {
        table: Table::Records,
        name: "id",
        meaning: "Record id: `{source}:{doc_id}:{lang}`; one row per id (its latest version).",
        example: "mid.ru:1950001:en",
    },
    ColumnDoc {
        table: Table::Records,
        name: "source",
        meaning: "The site the statement comes from.",
        example: "mid.ru",
    },
    ColumnDoc {
        table: Table::Records,
        name: "doc_id",
        meaning: "The site's document number, shared by all language versions of a statement.",
        example: "1950001",
    },
    ColumnDoc {
        table: Table::Records,
        name: "lang",
        meaning: "Language of this version (two-letter code).",
        example: "en",
    },
    ColumnDoc {
        table: Table::Records,
        name: "kind",
        meaning: "Kind of statement, from the first cue in the title: speech, remarks, statement, interview, answers, briefing, press_conference, comment, press_release, article, greetings, other.",
        example: "interview",
    },
    ColumnDoc {
        table: Table::Records,
        name: "title",
        meaning: "Title as published, site suffix removed.",
        example: "Foreign Minister Sergey Lavrov’s interview with Kompas TV, Moscow, November 16, 2021",
    },
    ColumnDoc {
        table: Table::Records,
        name: "url",
        meaning: "Canonical URL of the page.",
        example: "https://mid.ru/en/press_service/minister_speeches/1950001/",
    },
    ColumnDoc {
        table: Table::Records,
        name: "published_at",
        meaning: "Publication instant (UTC); null when the page showed none.",
        example: "2021-11-17 07:15:00+00:00",
    },
    ColumnDoc {
        table: Table::Records,
        name: "published_date",
        meaning: "Publication date in the site's local time (Moscow for mid.ru), as the site showed it.",
        example: "2021-11-17",
    },
    ColumnDoc {
        table: Table::Records,
        name: "event_date",
        meaning: "Date of the event named in the title, if any.",
        example: "2021-11-16",
    },
    ColumnDoc {
        table: Table::Records,
        name: "location",
        meaning: "Place named in the title, as written, if any.",
        example: "Moscow",
    },
    ColumnDoc {
        table: Table::Records,
        name: "doc_number",
        meaning: "The site's document number as shown on the page, if any.",
        example: "2311-17-11-2021",
    },
    ColumnDoc {
        table: Table::Records,
        name: "speakers",
        meaning: "Canonical English names of the officials who speak.",
        example: "[Sergey Lavrov]",
    },
    ColumnDoc {
        table: Table::Records,
        name: "tags",
        meaning: "Tags the site attaches to the statement.",
        example: "[Sergey Lavrov, Indonesia]",
    },
    ColumnDoc {
        table: Table::Records,
        name: "paragraphs",
        meaning: "Body paragraphs in order, whitespace normalised; headings are paragraphs too.",
        example: "[Question: Mr Lavrov, …, Sergey Lavrov: We expect a lot, …]",
    },
    ColumnDoc {
        table: Table::Records,
        name: "turns",
        meaning: "Question-and-answer turns (speaker, outlet, interpreted, text), empty when the text is not a transcript; the same rows as the turns table.",
        example: "[{speaker: Question, outlet: null, interpreted: false, text: Mr Lavrov, …}]",
    },
    ColumnDoc {
        table: Table::Records,
        name: "translations",
        meaning: "Other language versions the page links to (lang, url).",
        example: "[{lang: ru, url: https://mid.ru/ru/press_service/minister_speeches/1950001/}]",
    },
    ColumnDoc {
        table: Table::Records,
        name: "quality",
        meaning: "full: the site's known markup matched; fallback: a generic extractor read the page (check it).",
        example: "full",
    },
    ColumnDoc {
        table: Table::Records,
        name: "content_hash",
        meaning: "SHA-256 of the normalised content; changes when the text is edited.",
        example: "sha256:6f1c…",
    },
    ColumnDoc {
        table: Table::Records,
        name: "fetched_at",
        meaning: "When the page was fetched (UTC).",
        example: "2026-11-28 10:01:02.345678+00:00",
    },
    ColumnDoc {
        table: Table::Records,
        name: "parser_version",
        meaning: "Version of the parser that made the record.",
        example: "0.1.0",
    },
    ColumnDoc {
        table: Table::Turns,
        name: "record_id",
        meaning: "The record the turn belongs to (records.id).",
        example: "mid.ru:1950001:en",
    },
    ColumnDoc {
        table: Table::Turns,
        name: "position",
        meaning: "Position of the turn in its transcript, 0 for the first.",
        example: "0",
    },
    ColumnDoc {
        table: Table::Turns,
        name: "speaker",
        meaning: "`Question`, or the canonical English name of the official, or the label as written when the speaker is not known.",
        example: "Sergey Lavrov",
    },
    ColumnDoc {
        table: Table::Turns,
        name: "outlet",
        meaning: "The media outlet the question came from, when the transcript names it; else null.",
        example: "Kompas TV",
    },
    ColumnDoc {
        table: Table::Turns,
        name: "interpreted",
        meaning: "True when the turn was spoken through an interpreter (the text is the interpretation).",
        example: "false",
    },
    ColumnDoc {
        table: Table::Turns,
        name: "text",
        meaning: "The turn's text, its paragraphs joined by a blank line.",
        example: "We expect a lot, and we have good reasons for that. …",
    },
];

/// A column's type in words a reader of the codebook understands.
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 => "string".into(),
        DataType::Int32 => "int32".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(unit, zone) => format!(
            "timestamp[{}, {}]",
            match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            },
            zone.as_deref().unwrap_or("naive")
        ),
        DataType::List(item) => format!("list<{}>", type_name(item.data_type())),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The codebook as Markdown: per table, every column with its type, nullability, meaning
/// and an example.
pub fn codebook_markdown() -> String {
    let mut md = String::from(
        "# Codebook\n\nEvery column of the two tables of this release. The Parquet files and the \
         JSON Lines files hold the same rows; `records.jsonl.gz` holds the records as the API \
         serves them (timestamps with the site's UTC offset, `translations` as an object).\n",
    );
    for table in [Table::Records, Table::Turns] {
        md.push_str(&format!(
            "\n## {} (`{}.parquet`, `{}.jsonl.gz`)\n\n| column | type | null | meaning | example |\n| --- | --- | --- | --- | --- |\n",
            table.as_str(),
            table.as_str(),
            table.as_str()
        ));
        for field in table.schema().fields() {
            let doc = CODEBOOK
                .iter()
                .find(|d| d.table == table && d.name == field.name());
            let (meaning, example) = doc.map_or(("", ""), |d| (d.meaning, d.example));
            md.push_str(&format!(
                "| `{}` | {} | {} | {} | `{}` |\n",
                field.name(),
                type_name(field.data_type()).replace('|', "\\|"),
                if field.is_nullable() { "yes" } else { "no" },
                meaning.replace('|', "\\|"),
                example.replace('|', "\\|"),
            ));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array as _;
    use shared::{Kind, Lang, Turn};

    fn item(id: &str, turns: usize) -> Item {
        let record = record(id, turns);
        Item {
            json: serde_json::to_string(&record).unwrap(),
            outlets: (0..turns)
                .map(|i| (i == 0).then(|| "TASS".to_string()))
                .collect(),
            record,
        }
    }

    fn record(id: &str, turns: usize) -> SpeechRecord {
        SpeechRecord {
            schema_version: 1,
            id: id.into(),
            source: "mid.ru".into(),
            doc_id: "1".into(),
            lang: Lang::Ru,
            url: "https://mid.ru/ru/1/".into(),
            title: "T".into(),
            kind: Kind::Briefing,
            speakers: vec!["Maria Zakharova".into()],
            location: None,
            event_date: NaiveDate::from_ymd_opt(1970, 1, 2),
            published_at: DateTime::parse_from_rfc3339("2024-03-01T01:00:00+03:00").ok(),
            doc_number: None,
            paragraphs: vec!["a".into(), "b".into()],
            turns: (0..turns)
                .map(|i| Turn {
                    speaker: if i % 2 == 0 {
                        "Question".into()
                    } else {
                        "Maria Zakharova".into()
                    },
                    text: format!("t{i}"),
                    interpreted: i == 1,
                    outlet: None,
                })
                .collect(),
            tags: vec![],
            translations: [(Lang::En, "https://mid.ru/en/1/".to_string())].into(),
            quality: Default::default(),
            content_hash: "sha256:x".into(),
            fetched_at: Utc::now(),
            parser_version: "t".into(),
        }
    }

    #[test]
    fn batches_match_their_schemas() {
        let records = vec![item("a", 3), item("b", 0)];
        let batch = records_batch(&records).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let dates = batch.column_by_name("published_date").unwrap();
        let dates = dates
            .as_any()
            .downcast_ref::<arrow_array::Date32Array>()
            .unwrap();
        // 01:00 in Moscow is still the previous day in UTC; the local date is kept.
        assert_eq!(
            dates.value(0),
            days(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap())
        );
        let event = batch.column_by_name("event_date").unwrap();
        let event = event
            .as_any()
            .downcast_ref::<arrow_array::Date32Array>()
            .unwrap();
        assert_eq!(event.value(0), 1);
        let turns = turns_batch(&records).unwrap();
        assert_eq!(turns.num_rows(), 3);
        let outlet = turns.column_by_name("outlet").unwrap();
        assert_eq!(outlet.null_count(), 2);
        let rows: Vec<Value> = turns_json(&records[0]).collect();
        assert_eq!(rows[0]["outlet"], "TASS");
        assert_eq!(rows[2]["position"], 2);
    }

    #[test]
    fn codebook_explains_every_column() {
        for table in [Table::Records, Table::Turns] {
            let schema = table.schema();
            let documented: Vec<&str> = CODEBOOK
                .iter()
                .filter(|d| d.table == table)
                .map(|d| d.name)
                .collect();
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(documented, columns, "codebook of {}", table.as_str());
        }
        let md = codebook_markdown();
        assert!(
            md.contains("| `published_at` | timestamp[us, UTC] | yes |"),
            "{md}"
        );
        assert!(md.contains("| `turns` | list<struct<speaker: string, outlet: string, interpreted: boolean, text: string>> | no |"), "{md}");
    }
}
