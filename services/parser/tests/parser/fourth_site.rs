//! A site without code: the made-up fourth site (`mfa.eldoria.example`, markup unlike the
//! built-in sources) read from its user profile alone. Every fixture page is parsed by the
//! `parser parse --source-file` command line and every field of its record is compared with
//! `tests/fixtures/EXPECTED-mfa.eldoria.example.md`. An invalid profile stops the service at
//! start, naming the file, the key and the reason.

use std::path::PathBuf;
use std::process::Command;

use crate::corpus::fixtures_dir;
use crate::expected_md::{self, differences};

const SITE: &str = "mfa.eldoria.example";

fn site_dir() -> PathBuf {
    fixtures_dir().join("sources").join(SITE)
}

#[test]
fn fourth_site_records_match_the_expectations_from_its_profile_alone() {
    let expected = expected_md::load(&fixtures_dir().join(format!("EXPECTED-{SITE}.md")));
    let pages: Vec<PathBuf> = std::fs::read_dir(site_dir().join("statements"))
        .expect("the fourth site's statements")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .flat_map(|dir| {
            std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "html"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        pages.len(),
        expected.len(),
        "every page of the fourth site has its expectations and every expectation its page"
    );
    let profile = site_dir().join("profile.toml");
    let mut failures = Vec::new();
    for want in &expected {
        let page = site_dir()
            .join("statements")
            .join(&want.doc_id)
            .join(format!("{}.html", want.lang));
        let out = Command::new(env!("CARGO_BIN_EXE_parser"))
            .arg("parse")
            .arg("--source-file")
            .arg(&profile)
            .args(["--url", &want.url])
            .arg(&page)
            .output()
            .expect("run parser");
        assert!(
            out.status.success(),
            "{}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let record: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON record");
        for difference in differences(&record, want) {
            failures.push(format!("{}: {difference}", want.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_invalid_profile_stops_the_service_at_start_with_the_file_the_key_and_the_reason() {
    let dir = std::env::temp_dir().join(format!("bad-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(
        site_dir().join("officials.json"),
        dir.join("officials.json"),
    )
    .expect("copy");
    let profile = std::fs::read_to_string(site_dir().join("profile.toml"))
        .expect("profile")
        .replace(
            "base_url = \"https://mfa.eldoria.example/fr/\"",
            "base_url = \"https://elsewhere.example/fr/\"",
        );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, profile).expect("write profile");
    // No NATS at that address: the profile must be refused before any connection is tried.
    let out = Command::new(env!("CARGO_BIN_EXE_parser"))
        .arg("--source-file")
        .arg(&bad)
        .env("NATS_URL", "nats://127.0.0.1:1")
        .output()
        .expect("run parser");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !out.status.success(),
        "the service must not start: {stderr}"
    );
    for part in [
        bad.display().to_string().as_str(),
        "languages.fr.base_url",
        "elsewhere.example",
        "does not declare",
    ] {
        assert!(stderr.contains(part), "{part:?} missing in: {stderr}");
    }
}
