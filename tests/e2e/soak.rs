//! The soak's checker is not a test that cannot fail: with idempotency broken on purpose (a
//! version stored twice, written from outside the services), a short soak must fail and say
//! what was doubled.

use std::process::Command;

use testkit::{TempDir, bin_path};

/// The `lost N, doubled M` counts of a soak summary.
fn counts(summary: &str) -> Option<(usize, usize)> {
    let line = summary.lines().find(|l| l.starts_with("lost "))?;
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok());
    Some((numbers.next()??, numbers.next()??))
}

#[test]
fn soak_checker_fails_when_a_version_is_stored_twice() {
    let out = TempDir::new("soak-sabotage");
    let output = Command::new(bin_path("soak"))
        .args([
            "--minutes",
            "0.5",
            "--seed",
            "5",
            "--sabotage",
            "duplicate-version",
            "--drain-timeout",
            "2m",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the soak binary: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a sabotaged soak must fail\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("SABOTAGE DuplicateVersion on mid.ru:4"),
        "the sabotage was applied to a generated record\n{stderr}"
    );
    let (lost, doubled) = counts(&stdout).unwrap_or_else(|| panic!("no counts in\n{stdout}"));
    assert!(
        doubled >= 1,
        "the checker reports the doubled version\n{stdout}"
    );
    assert_eq!(lost, 0, "nothing else went wrong\n{stdout}");
    assert!(stdout.contains("doubled: mid.ru:4"), "{stdout}");
    assert!(
        stdout.contains("reproduce with: scripts/soak --minutes 0.5 --seed 5"),
        "{stdout}"
    );
}

#[test]
fn summary_counts_parse() {
    assert_eq!(
        counts("x\nlost 0, doubled 2, other problems 1\n"),
        Some((0, 2))
    );
    assert_eq!(counts("nothing"), None);
}
