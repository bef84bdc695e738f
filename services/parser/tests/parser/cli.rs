//! The `parser parse` command line, run as a process.

use std::io::Write;
use std::process::{Command, Stdio};

use shared::SpeechRecord;

use crate::corpus::fixtures_dir;

fn parser() -> Command {
    Command::new(env!("CARGO_BIN_EXE_parser"))
}

#[test]
fn parse_prints_records_and_names_the_files_that_are_not_statements() {
    let site = fixtures_dir().join("site/statements");
    let good_en = site.join("1950001/en.html");
    let challenge = fixtures_dir().join("pages/challenge.html");
    let good_ru = site.join("1960003/ru.html");
    let out = parser()
        .arg("parse")
        .args([&good_en, &challenge, &good_ru])
        .output()
        .expect("run parser");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a non-statement makes the exit status 1"
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let records: Vec<SpeechRecord> = stdout
        .lines()
        .map(|l| SpeechRecord::from_json(l.as_bytes()).expect("one record per line"))
        .collect();
    assert_eq!(records.len(), 2, "the other files are still printed");
    assert_eq!(records[0].id, "mid.ru:1950001:en");
    // windows-1251 page, declared only in <meta http-equiv>: Cyrillic comes out.
    assert_eq!(records[1].id, "mid.ru:1960003:ru");
    assert!(
        records[1].title.starts_with("Брифинг заместителя Министра"),
        "{}",
        records[1].title
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("challenge.html") && stderr.contains("challenge"),
        "{stderr}"
    );
}

#[test]
fn parse_reads_stdin_and_takes_the_url_from_the_flag() {
    let page =
        std::fs::read(fixtures_dir().join("site/statements/1960007/ru.html")).expect("fixture");
    let url = "https://mid.ru/ru/press_service/spokesman/answers/1960007/";
    let mut child = parser()
        .args(["parse", "--url", url, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parser");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&page)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = SpeechRecord::from_json(&out.stdout).expect("record");
    assert_eq!(record.url, url);
    assert_eq!(record.speakers, vec!["Maria Zakharova"]);
}

#[test]
fn parse_without_any_url_says_to_pass_one() {
    let page = fixtures_dir().join("site/statements/1960007/ru.html");
    let out = parser()
        .arg("parse")
        .arg(&page)
        .output()
        .expect("run parser");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1960007/ru.html") && stderr.contains("--url"),
        "{stderr}"
    );
}

#[test]
fn bad_officials_file_is_reported() {
    let dir = testkit::TempDir::new("parser-officials");
    let file = dir.path().join("officials.json");
    std::fs::write(&file, "{\"officials\": [{\"name\": \"\"}]}").expect("write");
    let page = fixtures_dir().join("site/statements/1950001/en.html");
    let out = parser()
        .arg("--officials")
        .arg(&file)
        .arg("parse")
        .arg(&page)
        .output()
        .expect("run parser");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("officials.json") && stderr.contains("name"),
        "{stderr}"
    );
}
