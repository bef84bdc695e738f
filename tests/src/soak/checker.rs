//! The soak's checker: compares what the site published (the publication log) with what is
//! stored, read with plain SQL, and with the dead letters, read from NATS as plain JSON. It
//! shares no code with the services: it finds each stored version's revision by the marker
//! the generator wrote into the page.

use std::collections::{BTreeMap, BTreeSet};

use super::generator::{Action, Publication, parse_marker};

/// One row of `speech_versions`, with the markers found in its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Record id.
    pub id: String,
    /// Version number.
    pub version: u32,
    /// Its content hash.
    pub content_hash: String,
    /// Every `SOAK-…` marker in the record's JSON, in order.
    pub markers: Vec<String>,
}

/// One row of `speeches` (the served version of a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRow {
    /// Record id.
    pub id: String,
    /// The served version.
    pub version: u32,
    /// Its content hash.
    pub content_hash: String,
}

/// A dead letter: the record id of the page it holds (when it says), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRow {
    /// `{source}:{doc_id}:{lang}` of the original message, if it could be read.
    pub id: Option<String>,
    /// The stage that gave up and its reason.
    pub reason: String,
}

/// What the checker read from the store and NATS.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `speech_versions`, by id then version.
    pub versions: Vec<VersionRow>,
    /// `speeches`.
    pub latest: Vec<LatestRow>,
    /// `DEAD_LETTERS`.
    pub dead_letters: Vec<DeadLetterRow>,
}

/// The checker's findings.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Statements published (baseline included).
    pub statements: usize,
    /// Pages (language versions) published.
    pub pages: usize,
    /// Edits published.
    pub edits: usize,
    /// Revisions that had to be stored and were checked (published pages and edits).
    pub revisions_checked: usize,
    /// Revisions replaced before they were stored (stored or not, both fine).
    pub revisions_optional: usize,
    /// Pages designed to fail that were published.
    pub designed_to_fail: usize,
    /// Dead letters found.
    pub dead_letters: usize,
    /// Required revisions missing from the store.
    pub lost: Vec<String>,
    /// Versions stored more than once (the same revision again).
    pub doubled: Vec<String>,
    /// Every other violation, in words.
    pub problems: Vec<String>,
}

impl Verdict {
    /// Whether nothing was lost, doubled or otherwise wrong.
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.doubled.is_empty() && self.problems.is_empty()
    }
}

#[derive(Debug, Default)]
struct Expected {
    action: Option<Action>,
    /// Revision → whether it must be stored.
    revisions: BTreeMap<u32, bool>,
    last: u32,
}

/// Checks `observed` against the publication `log`.
pub fn check(log: &[Publication], observed: &Observed) -> Verdict {
    let mut verdict = Verdict::default();
    let mut expected: BTreeMap<&str, Expected> = BTreeMap::new();
    let mut docs = BTreeSet::new();
    for p in log {
        let e = expected.entry(p.id.as_str()).or_default();
        if p.action == Action::Edit {
            verdict.edits += 1;
            if let Some(stored) = p.replaced_stored {
                e.revisions.insert(p.revision - 1, stored);
            }
        } else {
            e.action = Some(p.action);
            docs.insert(p.id.rsplit_once(':').map_or(p.id.as_str(), |(d, _)| d));
        }
        e.revisions.insert(p.revision, true);
        e.last = p.revision;
    }
    verdict.statements = docs.len();
    verdict.pages = expected.len();

    let mut versions: BTreeMap<&str, Vec<&VersionRow>> = BTreeMap::new();
    for row in &observed.versions {
        versions.entry(row.id.as_str()).or_default().push(row);
    }
    let latest: BTreeMap<&str, &LatestRow> =
        observed.latest.iter().map(|r| (r.id.as_str(), r)).collect();

    for (id, e) in &expected {
        let stored = versions.get(id).cloned().unwrap_or_default();
        check_rows(id, &stored, latest.get(id).copied(), &mut verdict);
        match e.action {
            Some(Action::Broken) => {
                verdict.designed_to_fail += 1;
                if !stored.is_empty() {
                    verdict.problems.push(format!(
                        "{id}: a page designed to fail (no text) was stored as {} version(s)",
                        stored.len()
                    ));
                }
            }
            Some(Action::Baseline) => {
                verdict.revisions_checked += 1;
                match stored.len() {
                    0 => verdict.lost.push(format!("{id}: never stored")),
                    1 => {}
                    n => verdict.doubled.push(format!(
                        "{id}: a page never edited has {n} versions (hashes {})",
                        hashes(&stored)
                    )),
                }
            }
            _ => check_revisions(id, e, &stored, &mut verdict),
        }
    }
    for id in versions.keys().chain(latest.keys()) {
        if !expected.contains_key(id) {
            verdict
                .problems
                .push(format!("{id}: stored, but the site never published it"));
        }
    }
    verdict.problems.dedup();
    verdict.dead_letters = observed.dead_letters.len();
    for letter in &observed.dead_letters {
        let designed = letter
            .id
            .as_deref()
            .and_then(|id| expected.get(id))
            .is_some_and(|e| e.action == Some(Action::Broken));
        if !designed {
            verdict.problems.push(format!(
                "dead letter for {} (not a page designed to fail): {}",
                letter.id.as_deref().unwrap_or("an unreadable message"),
                letter.reason
            ));
        }
    }
    verdict
}

fn hashes(rows: &[&VersionRow]) -> String {
    rows.iter()
        .map(|r| format!("v{} {}", r.version, r.content_hash))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Version numbers 1..n without gaps, and `speeches` serving the last one.
fn check_rows(id: &str, stored: &[&VersionRow], latest: Option<&LatestRow>, verdict: &mut Verdict) {
    for (i, row) in stored.iter().enumerate() {
        if row.version as usize != i + 1 {
            verdict.problems.push(format!(
                "{id}: versions are not numbered 1..n: {}",
                stored
                    .iter()
                    .map(|r| r.version.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
            break;
        }
    }
    match (stored.last(), latest) {
        (None, None) => {}
        (Some(last), Some(served)) => {
            if served.version != last.version || served.content_hash != last.content_hash {
                verdict.problems.push(format!(
                    "{id}: serves version {} ({}) but the last stored is {} ({})",
                    served.version, served.content_hash, last.version, last.content_hash
                ));
            }
        }
        (Some(_), None) => verdict
            .problems
            .push(format!("{id}: has versions but no row in speeches")),
        (None, Some(_)) => verdict
            .problems
            .push(format!("{id}: has a row in speeches but no version")),
    }
}

/// Each version is exactly one revision of this page, in increasing order, none twice, and
/// every required revision is there.
fn check_revisions(id: &str, e: &Expected, stored: &[&VersionRow], verdict: &mut Verdict) {
    let mut seen: Vec<u32> = Vec::new();
    for row in stored {
        let revisions: BTreeSet<u32> = row
            .markers
            .iter()
            .filter_map(|m| parse_marker(m))
            .map(|(doc, lang, rev)| {
                if !id.ends_with(&format!(":{doc}:{lang}")) {
                    verdict.problems.push(format!(
                        "{id} v{}: holds the text of another page ({doc}/{lang})",
                        row.version
                    ));
                }
                rev
            })
            .collect();
        let [revision] = revisions.iter().copied().collect::<Vec<_>>()[..] else {
            verdict.problems.push(format!(
                "{id} v{}: holds {} revisions of the text ({:?}), expected exactly one",
                row.version,
                revisions.len(),
                row.markers
            ));
            continue;
        };
        if !e.revisions.contains_key(&revision) {
            verdict.problems.push(format!(
                "{id} v{}: revision {revision}, which the site never published",
                row.version
            ));
        }
        if seen.contains(&revision) {
            verdict.doubled.push(format!(
                "{id} v{}: revision {revision} stored again",
                row.version
            ));
        } else if seen.last().is_some_and(|&last| last > revision) {
            verdict.problems.push(format!(
                "{id} v{}: revision {revision} stored after revision {}",
                row.version,
                seen.last().copied().unwrap_or_default()
            ));
        }
        seen.push(revision);
    }
    for (&revision, &required) in &e.revisions {
        if required || revision == e.last {
            verdict.revisions_checked += 1;
            if !seen.contains(&revision) {
                verdict
                    .lost
                    .push(format!("{id}: revision {revision} never stored"));
            }
        } else {
            verdict.revisions_optional += 1;
        }
    }
}

/// Parses `psql -tA` output of the versions query (`id|version|hash|markers`).
pub fn parse_versions(text: &str) -> Vec<VersionRow> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, '|');
            Some(VersionRow {
                id: parts.next()?.to_string(),
                version: parts.next()?.parse().ok()?,
                content_hash: parts.next()?.to_string(),
                markers: parts
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// Parses `psql -tA` output of the latest query (`id|version|hash`).
pub fn parse_latest(text: &str) -> Vec<LatestRow> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '|');
            Some(LatestRow {
                id: parts.next()?.to_string(),
                version: parts.next()?.parse().ok()?,
                content_hash: parts.next()?.to_string(),
            })
        })
        .collect()
}

/// Every version with its markers: plain SQL on the sink's tables.
pub const VERSIONS_SQL: &str = "SELECT v.id, v.version, v.content_hash, \
     COALESCE((SELECT string_agg(m[1], ' ') FROM regexp_matches(v.record, '(SOAK-[0-9]+-[a-z]+-r[0-9]+)', 'g') AS m), '') \
     FROM speech_versions v ORDER BY v.id, v.version";

/// The served version of every record.
pub const LATEST_SQL: &str = "SELECT id, version, content_hash FROM speeches ORDER BY id";

/// Each record's served revision (for the generator's choice of pages to edit).
pub const STORED_REVISIONS_SQL: &str = "SELECT s.id, COALESCE((regexp_match(v.record, 'SOAK-[0-9]+-[a-z]+-r([0-9]+)'))[1], '0') \
     FROM speeches s JOIN speech_versions v ON v.id = s.id AND v.version = s.version";

/// Parses the output of [`STORED_REVISIONS_SQL`].
pub fn parse_stored_revisions(text: &str) -> BTreeMap<String, u32> {
    text.lines()
        .filter_map(|line| {
            let (id, rev) = line.split_once('|')?;
            Some((id.to_string(), rev.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(
        id: &str,
        action: Action,
        revision: u32,
        replaced_stored: Option<bool>,
    ) -> Publication {
        let doc_lang = id.split_once(':').map(|(_, r)| r).unwrap_or(id);
        let (doc, lang) = doc_lang.split_once(':').unwrap_or((doc_lang, "en"));
        Publication {
            at: 0.0,
            id: id.into(),
            action,
            revision,
            marker: (revision > 0).then(|| super::super::generator::marker(doc, lang, revision)),
            sha256: String::new(),
            replaced_stored,
        }
    }

    fn version(id: &str, version: u32, markers: &[&str]) -> VersionRow {
        VersionRow {
            id: id.into(),
            version,
            content_hash: format!("h{version}"),
            markers: markers.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn latest(id: &str, version: u32) -> LatestRow {
        LatestRow {
            id: id.into(),
            version,
            content_hash: format!("h{version}"),
        }
    }

    const A: &str = "mid.ru:4000000:en";
    const BASE: &str = "mid.ru:1950001:en";
    const BAD: &str = "mid.ru:4000001:ru";

    fn log() -> Vec<Publication> {
        vec![
            publication(BASE, Action::Baseline, 0, None),
            publication(A, Action::Publish, 1, None),
            publication(A, Action::Edit, 2, Some(true)),
            publication(A, Action::Edit, 3, Some(true)),
            // Revision 3 was replaced before it was stored: optional.
            publication(A, Action::Edit, 4, Some(false)),
            publication(BAD, Action::Broken, 1, None),
        ]
    }

    fn good() -> Observed {
        Observed {
            versions: vec![
                version(A, 1, &["SOAK-4000000-en-r1"]),
                version(A, 2, &["SOAK-4000000-en-r2"]),
                version(A, 3, &["SOAK-4000000-en-r4"]),
                version(BASE, 1, &[]),
            ],
            latest: vec![latest(A, 3), latest(BASE, 1)],
            dead_letters: vec![DeadLetterRow {
                id: Some(BAD.into()),
                reason: "parser: not a statement page".into(),
            }],
        }
    }

    #[test]
    fn a_faithful_store_passes() {
        let verdict = check(&log(), &good());
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(
            (verdict.statements, verdict.pages, verdict.edits),
            (3, 3, 3)
        );
        assert_eq!(verdict.revisions_checked, 4);
        assert_eq!(verdict.revisions_optional, 1);
    }

    #[test]
    fn a_revision_stored_twice_is_doubled() {
        let mut observed = good();
        observed
            .versions
            .insert(2, version(A, 3, &["SOAK-4000000-en-r2"]));
        observed.versions[3].version = 4;
        observed.latest[0] = latest(A, 4);
        let verdict = check(&log(), &observed);
        assert_eq!(verdict.doubled.len(), 1, "{verdict:?}");
        assert!(!verdict.passed());
    }

    #[test]
    fn a_missing_required_revision_is_lost() {
        let mut observed = good();
        observed.versions.remove(1);
        observed.versions[1].version = 2;
        observed.latest[0] = latest(A, 2);
        let verdict = check(&log(), &observed);
        assert_eq!(verdict.lost, vec![format!("{A}: revision 2 never stored")]);
        // The last revision is required too; the baseline must be there once.
        let mut observed = good();
        observed.versions.remove(2);
        observed.versions.remove(2);
        observed.latest = vec![latest(A, 2)];
        let verdict = check(&log(), &observed);
        assert_eq!(verdict.lost.len(), 2, "{verdict:?}");
    }

    #[test]
    fn foreign_records_disorder_and_unexpected_dead_letters_are_problems() {
        let mut observed = good();
        observed.versions.push(version("mid.ru:999:en", 1, &[]));
        observed.latest.push(latest("mid.ru:999:en", 1));
        observed.dead_letters.push(DeadLetterRow {
            id: Some(A.into()),
            reason: "sink: gave up".into(),
        });
        observed.versions[1].markers = vec!["SOAK-4000000-en-r4".into()];
        observed.versions[2].markers = vec!["SOAK-4000000-en-r2".into()];
        let verdict = check(&log(), &observed);
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p.contains("never published"))
        );
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p.contains("dead letter for mid.ru:4000000:en"))
        );
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p.contains("stored after revision 4"))
        );
        // A designed-to-fail page that was stored is a problem too.
        let mut observed = good();
        observed.versions.push(version(BAD, 1, &[]));
        observed.latest.push(latest(BAD, 1));
        assert!(!check(&log(), &observed).passed());
    }

    #[test]
    fn psql_output_parses() {
        let rows = parse_versions(
            "mid.ru:1:en|1|sha256:ab|SOAK-1-en-r1 SOAK-1-en-r1\nmid.ru:2:ru|2|sha256:cd|\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].markers.len(), 2);
        assert!(rows[1].markers.is_empty());
        assert_eq!(parse_latest("mid.ru:1:en|3|h")[0].version, 3);
        assert_eq!(
            parse_stored_revisions("mid.ru:1:en|3\nmid.ru:2:en|0")["mid.ru:1:en"],
            3
        );
    }
}
