//! The research exports against the fixture records (the parser's golden records): Parquet
//! read back with pyarrow and DuckDB and compared with the API, TEI validated with xmllint
//! against the shipped RELAX NG schema, language pairs, the dataset release (byte-identical
//! reruns) and the README's examples.
//!
//! Needs `xmllint` and a Python with pyarrow, duckdb and pandas (`RESEARCH_PYTHON`, else
//! `.tools/venv/bin/python`); `scripts/test` installs both. A missing tool fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::{Lang, SpeechRecord};
use sink::export::dataset::{DatasetOptions, write_dataset};
use sink::export::tei;
use sink::store::{AnyStore, Query, Store};
use testkit::TempDir;

use crate::support::{SqliteDb, TestApp};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every record among the parser's golden snapshots (the fixture site's statements).
pub fn fixture_records() -> Vec<SpeechRecord> {
    let mut files = Vec::new();
    let mut pending = vec![workspace_root().join("services/parser/tests")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "snap") {
                files.push(path);
            }
        }
    }
    files.sort();
    let records: Vec<SpeechRecord> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).expect("read snapshot");
            let body = text.splitn(3, "---\n").nth(2)?;
            serde_json::from_str::<SpeechRecord>(body).ok()
        })
        .collect();
    assert!(
        records.len() >= 30,
        "expected the parser's golden records under services/parser/tests, found {}",
        records.len()
    );
    records
}

/// A hostile record: markup, quotes, control characters and odd names everywhere.
fn hostile() -> SpeechRecord {
    let mut record = fixture_records()
        .into_iter()
        .find(|r| !r.turns.is_empty())
        .expect("a transcript");
    record.id = "mid.ru:999999:en".into();
    record.doc_id = "999999".into();
    record.title = "<script>alert('x')</script> & \"quotes\" \u{7}".into();
    record.url = "https://mid.ru/en/999999/?a=1&b=<2>".into();
    record.location = Some("]]> <![CDATA[".into());
    record.tags = vec!["<tag/>".into(), "&amp;".into()];
    record.speakers = vec!["Сергей Лавров".into(), "1 Two".into()];
    record.turns[0].speaker = "<Person & Co>".into();
    record.turns[0].text = "Text with \u{0} NUL and \u{FFFF} and </u>".into();
    record.paragraphs.push("\u{1b}[31m escape".into());
    record.content_hash = record.compute_content_hash();
    record
}

/// The Python with pyarrow, duckdb and pandas; fails the test when there is none.
fn python() -> PathBuf {
    let python = std::env::var_os("RESEARCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import pyarrow, duckdb, pandas"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import pyarrow, duckdb and pandas: run scripts/test (it installs them), or scripts/ensure-research-tools and set RESEARCH_PYTHON to the path it prints",
        python.display()
    );
    python
}

fn run_python(cwd: &Path, script: &str, args: &[&Path]) -> String {
    let output = Command::new(python())
        .current_dir(cwd)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "python failed: {}\n--- script ---\n{script}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Validates XML files with xmllint, against the schema when given; fails with its report.
fn xmllint(schema: Option<&Path>, files: &[PathBuf]) {
    let mut command = Command::new("xmllint");
    command.arg("--noout");
    if let Some(schema) = schema {
        command.arg("--relaxng").arg(schema);
    }
    let output = command.args(files).output().unwrap_or_else(|e| {
        panic!("xmllint is required (Debian package libxml2-utils; scripts/test installs it): {e}")
    });
    assert!(
        output.status.success(),
        "xmllint refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn seeded(records: &[SpeechRecord]) -> SqliteDb {
    let db = SqliteDb::new().await;
    for chunk in records.chunks(100) {
        db.store.store_batch(chunk).await.expect("seed");
    }
    db
}

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().map(|s| {
        DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .with_timezone(&Utc)
    })
}

/// The fixture archive's Parquet tables, fetched over HTTP, read back with pyarrow and
/// DuckDB, hold exactly what the API serves.
#[tokio::test]
async fn parquet_reads_back_in_pyarrow_and_duckdb_as_the_api_serves_it() {
    let records = fixture_records();
    let app = TestApp::spawn(&records).await;
    let dir = TempDir::new("parquet-api");
    let mut paths = Vec::new();
    for table in ["records", "turns"] {
        let response = app
            .client
            .get(format!("{}/v1/export.parquet?table={table}", app.base))
            .send()
            .await
            .expect("GET parquet");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[reqwest::header::CONTENT_TYPE],
            "application/vnd.apache.parquet"
        );
        let path = dir.path().join(format!("{table}.parquet"));
        std::fs::write(&path, response.bytes().await.expect("body")).expect("save");
        paths.push(path);
    }
    let script = r#"
import json, sys
import pyarrow.parquet as pq, duckdb
records = pq.read_table(sys.argv[1])
turns = pq.read_table(sys.argv[2])
meta = pq.ParquetFile(sys.argv[1]).metadata
out = {
    "schema": {f.name: str(f.type) for f in records.schema},
    "codec": meta.row_group(0).column(0).compression,
    "rows": records.to_pylist(),
    "turns": turns.to_pylist(),
}
con = duckdb.connect()
out["duckdb_types"] = dict(con.execute(
    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", [sys.argv[1]]).fetchall())
out["duckdb_rows"] = con.execute(
    "SELECT id, len(paragraphs), len(turns), epoch_us(published_at), "
    "(SELECT count(*) FROM read_parquet(?) t WHERE t.record_id = r.id) "
    "FROM read_parquet(?) r ORDER BY id", [sys.argv[2], sys.argv[1]]).fetchall()
print(json.dumps(out, default=lambda o: o.isoformat()))
"#;
    let out: Value = serde_json::from_str(&run_python(dir.path(), script, &[&paths[0], &paths[1]]))
        .expect("python JSON");
    assert_eq!(out["codec"], "ZSTD");
    assert_eq!(out["schema"]["published_at"], "timestamp[us, tz=UTC]");
    assert_eq!(out["schema"]["speakers"], "list<item: string>");
    assert_eq!(
        out["duckdb_types"]["published_at"],
        "TIMESTAMP WITH TIME ZONE"
    );
    assert_eq!(out["duckdb_types"]["event_date"], "DATE");

    // The API's JSON Lines export: the same records in the same order.
    let (status, _, body) = app.get("/v1/export.jsonl").await;
    assert_eq!(status, 200);
    let api: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("record JSON"))
        .collect();
    let rows = out["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), api.len());
    assert_eq!(rows.len(), records.len());
    let mut turn_rows = out["turns"].as_array().expect("turns").iter();
    for (row, record) in rows.iter().zip(&api) {
        let id = record["id"].as_str().expect("id");
        for field in [
            "id",
            "source",
            "doc_id",
            "lang",
            "kind",
            "title",
            "url",
            "location",
            "doc_number",
            "event_date",
            "speakers",
            "tags",
            "paragraphs",
            "quality",
            "content_hash",
            "parser_version",
        ] {
            assert_eq!(row[field], record[field], "{id}: {field}");
        }
        assert_eq!(
            parse_time(&row["published_at"]),
            parse_time(&record["published_at"]),
            "{id}"
        );
        assert_eq!(
            parse_time(&row["fetched_at"]),
            parse_time(&record["fetched_at"]),
            "{id}"
        );
        assert_eq!(
            row["published_date"].as_str(),
            record["published_at"].as_str().map(|t| &t[..10]),
            "{id}: the local date"
        );
        let translations: BTreeMap<String, Value> = row["translations"]
            .as_array()
            .expect("translations")
            .iter()
            .map(|t| {
                (
                    t["lang"].as_str().expect("lang").to_string(),
                    t["url"].clone(),
                )
            })
            .collect();
        let expected: BTreeMap<String, Value> = record["translations"]
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(translations, expected, "{id}");
        let api_turns = record["turns"].as_array().expect("turns");
        let parquet_turns = row["turns"].as_array().expect("turns");
        assert_eq!(parquet_turns.len(), api_turns.len(), "{id}");
        for (position, (pt, at)) in parquet_turns.iter().zip(api_turns).enumerate() {
            for field in ["speaker", "text", "interpreted"] {
                assert_eq!(pt[field], at[field], "{id} turn {position}");
            }
            assert_eq!(
                pt["outlet"],
                at.get("outlet").cloned().unwrap_or(Value::Null)
            );
            let flat = turn_rows.next().expect("a turns-table row per turn");
            assert_eq!(flat["record_id"], id);
            assert_eq!(flat["position"], position);
            assert_eq!(flat["text"], at["text"]);
            assert_eq!(flat["speaker"], at["speaker"]);
        }
    }
    assert!(turn_rows.next().is_none(), "no extra turn rows");

    // DuckDB sees the same shapes.
    let duck = out["duckdb_rows"].as_array().expect("duckdb rows");
    let by_id: BTreeMap<&str, &Value> = api
        .iter()
        .map(|r| (r["id"].as_str().expect("id"), r))
        .collect();
    assert_eq!(duck.len(), by_id.len());
    for row in duck {
        let record = by_id[row[0].as_str().expect("id")];
        let turns = record["turns"].as_array().expect("turns").len();
        assert_eq!(row[1], record["paragraphs"].as_array().expect("p").len());
        assert_eq!(row[2], turns);
        assert_eq!(row[4], turns);
        assert_eq!(
            row[3].as_i64(),
            parse_time(&record["published_at"]).map(|t| t.timestamp_micros())
        );
    }

    // Filters work as on the JSON export, and bad ones are refused.
    let (status, _, _) = app.get("/v1/export.parquet?table=rows").await;
    assert_eq!(status, 400);
    let (status, _, _) = app.get("/v1/export.parquet?limit=5").await;
    assert_eq!(status, 400);
    let response = app
        .client
        .get(format!(
            "{}/v1/export.parquet?lang=ru&kind=briefing",
            app.base
        ))
        .send()
        .await
        .expect("GET");
    let path = dir.path().join("ru.parquet");
    std::fs::write(&path, response.bytes().await.expect("body")).expect("save");
    let ids = run_python(
        dir.path(),
        "import sys, pyarrow.parquet as pq; print(','.join(pq.read_table(sys.argv[1]).column('id').to_pylist()))",
        &[&path],
    );
    let expected: Vec<&str> = api
        .iter()
        .filter(|r| r["lang"] == "ru" && r["kind"] == "briefing")
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ids.trim(), expected.join(","));
}

/// Every fixture record's TEI document (and a hostile one's) is valid against the shipped
/// RELAX NG schema, and the API serves the same document.
#[tokio::test]
async fn tei_of_every_fixture_record_is_valid() {
    let mut records = fixture_records();
    records.push(hostile());
    let schema = workspace_root().join("services/sink/schemas/tei-speech.rng");
    let dir = TempDir::new("tei");
    let files: Vec<PathBuf> = records
        .iter()
        .map(|record| {
            let path = dir.path().join(tei::file_name(&record.id));
            std::fs::write(&path, tei::render(record)).expect("write TEI");
            path
        })
        .collect();
    xmllint(Some(&schema), &files);

    // The schema lists every language the records can have.
    let rng = std::fs::read_to_string(&schema).expect("schema");
    for lang in Lang::ALL {
        assert!(
            rng.contains(&format!("<value>{lang}</value>")),
            "{lang} missing in the schema"
        );
    }

    let app = TestApp::spawn(&records).await;
    let hostile = hostile();
    let (status, content_type, body) = app
        .get(&format!("/v1/speeches/{}.tei.xml", hostile.id))
        .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/tei+xml; charset=utf-8");
    assert_eq!(body, tei::render(&hostile));
    assert!(body.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"));
    let (status, _, body) = app.get("/v1/speeches/mid.ru:404:en.tei.xml").await;
    assert_eq!(status, 404, "{body}");
    // The JSON route is unchanged.
    let record = app
        .get_json(&format!("/v1/speeches/{}", hostile.id), 200)
        .await;
    assert_eq!(record["id"], hostile.id);
}

/// Documents in two languages come out as aligned pairs over the API.
#[tokio::test]
async fn pairs_align_the_language_versions_of_each_document() {
    let records = fixture_records();
    // A document is a pair when both versions are stored and either links to the other.
    let version =
        |doc: &str, lang: Lang| records.iter().find(|r| r.doc_id == doc && r.lang == lang);
    let expected: BTreeSet<String> = records
        .iter()
        .filter(|r| r.lang == Lang::En)
        .filter(|en| {
            version(&en.doc_id, Lang::Ru).is_some_and(|ru| {
                en.translations.contains_key(&Lang::Ru) || ru.translations.contains_key(&Lang::En)
            })
        })
        .map(|r| r.doc_id.clone())
        .collect();
    assert!(expected.len() >= 10, "{expected:?}");
    let app = TestApp::spawn(&records).await;
    for filter in ["", "lang=ru&", "lang=en&"] {
        let mut found = BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/pairs?{filter}limit=7&cursor={c}"),
                None => format!("/v1/pairs?{filter}limit=7"),
            };
            let page = app.get_json(&path, 200).await;
            for pair in page["items"].as_array().expect("items") {
                assert_eq!(pair["a"]["lang"], "en");
                assert_eq!(pair["b"]["lang"], "ru");
                let doc = pair["doc_id"].as_str().expect("doc").to_string();
                let a = records
                    .iter()
                    .find(|r| r.doc_id == doc && r.lang == Lang::En)
                    .expect("en");
                let b = records
                    .iter()
                    .find(|r| r.doc_id == doc && r.lang == Lang::Ru)
                    .expect("ru");
                let links = pair["paragraphs"].as_array().expect("links");
                if a.paragraphs.len() == b.paragraphs.len() {
                    assert_eq!(pair["paragraph_alignment"], "position");
                    assert_eq!(links.len(), a.paragraphs.len());
                } else {
                    assert_eq!(pair["paragraph_alignment"], "length");
                }
                // The links cover both versions in order.
                let covered = |side: &str| -> Vec<u64> {
                    links
                        .iter()
                        .flat_map(|l| {
                            l[side]
                                .as_array()
                                .expect("side")
                                .iter()
                                .map(|i| i.as_u64().expect("index"))
                        })
                        .collect()
                };
                assert_eq!(
                    covered("a"),
                    (0..a.paragraphs.len() as u64).collect::<Vec<_>>()
                );
                assert_eq!(
                    covered("b"),
                    (0..b.paragraphs.len() as u64).collect::<Vec<_>>()
                );
                for turn in pair["turns"].as_array().expect("turns") {
                    let (i, j) = (
                        turn["a"].as_u64().expect("a") as usize,
                        turn["b"].as_u64().expect("b") as usize,
                    );
                    assert_eq!(a.turns[i].speaker, b.turns[j].speaker);
                }
                assert!(found.insert(doc), "pair listed twice");
            }
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(found, expected, "filter {filter:?}");
    }
    let (status, _, _) = app.get("/v1/pairs?lang=xx").await;
    assert_eq!(status, 400);
}

fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&path).expect("read dir") {
            let entry = entry.expect("entry");
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.path().is_dir() {
                pending.push((entry.path(), format!("{name}/")));
            } else {
                out.insert(name, std::fs::read(entry.path()).expect("read"));
            }
        }
    }
    out
}

/// The same archive gives a byte-identical release, whatever order the records were stored
/// in; the checksums, manifest and codebook describe it.
#[tokio::test]
async fn dataset_release_is_deterministic_and_described() {
    let records = fixture_records();
    let first = seeded(&records).await;
    let mut reversed = records.clone();
    reversed.reverse();
    let second = seeded(&reversed).await;
    let dir = TempDir::new("dataset");
    let options = DatasetOptions {
        tei: true,
        pairs: true,
        ..DatasetOptions::default()
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let counts = write_dataset(
        &AnyStore::Sqlite(first.store.clone()),
        Query::default(),
        &a,
        &options,
    )
    .await
    .expect("first release");
    write_dataset(
        &AnyStore::Sqlite(second.store.clone()),
        Query::default(),
        &b,
        &options,
    )
    .await
    .expect("second release");
    let (files_a, files_b) = (files_of(&a), files_of(&b));
    assert_eq!(
        files_a.keys().collect::<Vec<_>>(),
        files_b.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &files_a {
        assert!(
            files_b[name] == *bytes,
            "{name} differs between two releases of the same archive"
        );
    }
    assert_eq!(counts.records as usize, records.len());
    for name in [
        "records.parquet",
        "turns.parquet",
        "records.jsonl.gz",
        "turns.jsonl.gz",
        "pairs.jsonl.gz",
        "pairs.tmx",
        "codebook.md",
        "manifest.json",
        "SHA256SUMS",
    ] {
        assert!(files_a.contains_key(name), "{name} missing");
    }
    assert_eq!(
        files_a.keys().filter(|k| k.starts_with("tei/")).count(),
        records.len()
    );
    // A non-empty directory is refused.
    let refused = write_dataset(
        &AnyStore::Sqlite(first.store.clone()),
        Query::default(),
        &a,
        &options,
    )
    .await;
    assert!(refused.is_err_and(|e| e.to_string().contains("not empty")));

    // SHA256SUMS verifies with the standard tool and covers every other file.
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg("--quiet")
        .arg("SHA256SUMS")
        .current_dir(&a)
        .output()
        .expect("sha256sum");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let sums = String::from_utf8(files_a["SHA256SUMS"].clone()).expect("text");
    assert_eq!(sums.lines().count(), files_a.len() - 1);

    // The manifest counts what is in the release and takes its time from the archive.
    let manifest: Value = serde_json::from_slice(&files_a["manifest.json"]).expect("manifest JSON");
    assert_eq!(manifest["records"], records.len());
    let turns: usize = records.iter().map(|r| r.turns.len()).sum();
    assert_eq!(manifest["turns"], turns);
    let en = records.iter().filter(|r| r.lang == Lang::En).count();
    assert_eq!(manifest["by_lang"]["en"], en);
    assert_eq!(
        manifest["by_source"]["mid.ru"],
        records.iter().filter(|r| r.source == "mid.ru").count()
    );
    let year_total: u64 = manifest["by_year"]
        .as_object()
        .expect("years")
        .values()
        .map(|v| v.as_u64().expect("n"))
        .sum();
    assert_eq!(year_total as usize, records.len());
    let newest = records.iter().map(|r| r.fetched_at).max().expect("records");
    assert_eq!(parse_time(&manifest["export_time"]), Some(newest));
    assert!(
        manifest["parser_versions"]
            .as_object()
            .is_some_and(|v| !v.is_empty())
    );
    let codebook = String::from_utf8(files_a["codebook.md"].clone()).expect("text");
    assert!(codebook.contains("| `outlet` |"));

    // Every TEI document of the release is valid; the TMX is well-formed.
    let schema = workspace_root().join("services/sink/schemas/tei-speech.rng");
    let tei_files: Vec<PathBuf> = files_a
        .keys()
        .filter(|k| k.starts_with("tei/"))
        .map(|k| a.join(k))
        .collect();
    xmllint(Some(&schema), &tei_files);
    xmllint(None, &[a.join("pairs.tmx")]);

    // --timestamp replaces the archive's time.
    let c = dir.path().join("c");
    let stamped = DatasetOptions {
        timestamp: Some(DateTime::parse_from_rfc3339("2030-01-02T03:04:05+03:00").expect("time")),
        ..DatasetOptions::default()
    };
    write_dataset(
        &AnyStore::Sqlite(first.store.clone()),
        Query::default(),
        &c,
        &stamped,
    )
    .await
    .expect("release");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(c.join("manifest.json")).expect("read"))
            .expect("JSON");
    assert_eq!(manifest["export_time"], "2030-01-02T00:04:05Z");
}

/// The README's "Data for research" examples run against a release made by the `sink export`
/// command from the fixture records.
#[tokio::test]
async fn readme_examples_run_against_an_export() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README");
    let section = readme
        .split("## Data for research")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a \"Data for research\" section in the README");
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(start) = rest.find("```python\n") {
        let code = &rest[start + "```python\n".len()..];
        let end = code.find("```").expect("closed block");
        blocks.push(code[..end].to_string());
        rest = &code[end + 3..];
    }
    assert_eq!(blocks.len(), 2, "a pandas and a DuckDB example");
    assert!(blocks.iter().any(|b| b.contains("import pandas")));
    assert!(blocks.iter().any(|b| b.contains("import duckdb")));
    for block in &blocks {
        assert!(
            block.lines().count() <= 5,
            "examples have five lines at most:\n{block}"
        );
    }

    let db = seeded(&fixture_records()).await;
    let db_path = db._dir.path().join("nested/dir/speeches.db");
    let work = TempDir::new("readme");
    let status = Command::new(env!("CARGO_BIN_EXE_sink"))
        .current_dir(work.path())
        .args(["export", "--dataset", "data/release", "--database-url"])
        .arg(format!("sqlite://{}", db_path.display()))
        .status()
        .expect("run sink export");
    assert!(status.success());
    for block in &blocks {
        let out = run_python(work.path(), block, &[]);
        assert!(
            !out.trim().is_empty(),
            "the example printed nothing:\n{block}"
        );
    }
}

/// `sink export --format parquet --table turns --out FILE` with filters writes what the API
/// exports; without a database it says so.
#[tokio::test]
async fn export_command_writes_filtered_tables() {
    let records = fixture_records();
    let db = seeded(&records).await;
    let url = format!(
        "sqlite://{}",
        db._dir.path().join("nested/dir/speeches.db").display()
    );
    let work = TempDir::new("export-cli");
    let out = work.path().join("turns.parquet");
    let status = Command::new(env!("CARGO_BIN_EXE_sink"))
        .args([
            "export",
            "--format",
            "parquet",
            "--table",
            "turns",
            "--lang",
            "en",
            "--database-url",
            &url,
            "--out",
        ])
        .arg(&out)
        .status()
        .expect("run");
    assert!(status.success());
    let count = run_python(
        work.path(),
        "import sys, duckdb; print(duckdb.sql(f\"SELECT count(*) FROM '{sys.argv[1]}'\").fetchall()[0][0])",
        &[&out],
    );
    let expected: usize = records
        .iter()
        .filter(|r| r.lang == Lang::En)
        .map(|r| r.turns.len())
        .sum();
    assert_eq!(count.trim(), expected.to_string());

    let missing = Command::new(env!("CARGO_BIN_EXE_sink"))
        .args([
            "export",
            "--format",
            "parquet",
            "--out",
            "x.parquet",
            "--database-url",
            "sqlite:///nonexistent/archive.db",
        ])
        .current_dir(work.path())
        .output()
        .expect("run");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("there is no database at /nonexistent/archive.db"),
        "{stderr}"
    );
}

/// The SQLite archive is a file a researcher opens with the SQLite their Python has (Debian
/// 12's is 3.40): the schema reads, the full-text index matches the records' text, and a
/// search with snippets from pandas finds what the store's own search finds.
#[tokio::test]
async fn the_sqlite_archive_searches_from_pythons_sqlite() {
    let records = fixture_records();
    let db = seeded(&records).await;
    let query = Query {
        q: Some("Lavrov".into()),
        ..Query::default()
    };
    let expected = db.store.count(&query).await.expect("count");
    assert!(expected > 0, "the fixture records mention Lavrov");
    let script = r#"
import json, sqlite3, sys
import pandas
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO speeches_fts (speeches_fts, rank) VALUES ('integrity-check', 1)")
hits = pandas.read_sql_query(
    "SELECT s.id, snippet(speeches_fts, -1, '[', ']', '...', 16) AS snippet"
    " FROM speeches_fts JOIN speeches s ON s.fts_key = speeches_fts.rowid"
    " WHERE speeches_fts MATCH 'lavrov'", db)
texts = pandas.read_sql_query("SELECT COUNT(body) AS n FROM speeches_text", db)
print(json.dumps({"sqlite": sqlite3.sqlite_version, "hits": len(hits),
                  "marked": int(hits.snippet.str.contains(r"\[", regex=True).sum()),
                  "texts": int(texts.n[0])}))
"#;
    let work = TempDir::new("sqlite-python");
    let out = run_python(work.path(), script, &[&db.path]);
    let seen: Value = serde_json::from_str(out.trim()).expect("the script's JSON");
    assert_eq!(seen["hits"], expected, "{seen}");
    assert_eq!(
        seen["marked"], expected,
        "every snippet marks a match: {seen}"
    );
    let with_text = records
        .iter()
        .filter(|r| !r.paragraphs.is_empty() || !r.turns.is_empty())
        .count();
    assert_eq!(seen["texts"], with_text, "{seen}");
}
