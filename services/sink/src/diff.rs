//! Paragraph-level diff between two versions of a record (longest common subsequence).

use serde::Serialize;

/// Largest LCS table computed; beyond it the differing middle is reported as replaced.
const MAX_CELLS: usize = 4_000_000;

/// One added or removed paragraph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Position in the new version (added) or in the old version (removed), from 0.
    pub index: usize,
    /// The paragraph.
    pub text: String,
}

/// What changed between two paragraph lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ParagraphDiff {
    /// Paragraphs only in the new version.
    pub added: Vec<Change>,
    /// Paragraphs only in the old version.
    pub removed: Vec<Change>,
}

/// Diffs `old` against `new`, paragraph by paragraph.
pub fn diff_paragraphs(old: &[String], new: &[String]) -> ParagraphDiff {
    // Common prefix and suffix first: edits are usually small.
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let a = &old[prefix..old.len() - suffix];
    let b = &new[prefix..new.len() - suffix];
    let mut diff = ParagraphDiff::default();
    let removed = |i: usize| Change {
        index: prefix + i,
        text: a[i].clone(),
    };
    let added = |j: usize| Change {
        index: prefix + j,
        text: b[j].clone(),
    };
    if a.is_empty() || b.is_empty() || (a.len() + 1) * (b.len() + 1) > MAX_CELLS {
        diff.removed = (0..a.len()).map(removed).collect();
        diff.added = (0..b.len()).map(added).collect();
        return diff;
    }
    // lcs[i][j] = LCS length of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            diff.removed.push(removed(i));
            i += 1;
        } else {
            diff.added.push(added(j));
            j += 1;
        }
    }
    diff.removed.extend((i..a.len()).map(removed));
    diff.added.extend((j..b.len()).map(added));
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_added_and_removed_paragraphs() {
        let d = diff_paragraphs(&v(&["a", "b", "c", "d"]), &v(&["a", "c", "x", "d", "e"]));
        assert_eq!(
            d.removed,
            vec![Change {
                index: 1,
                text: "b".into()
            }]
        );
        assert_eq!(
            d.added
                .iter()
                .map(|c| (c.index, c.text.as_str()))
                .collect::<Vec<_>>(),
            vec![(2, "x"), (4, "e")]
        );
    }

    #[test]
    fn identical_and_empty_lists() {
        assert_eq!(
            diff_paragraphs(&v(&["a"]), &v(&["a"])),
            ParagraphDiff::default()
        );
        let d = diff_paragraphs(&[], &v(&["a", "b"]));
        assert_eq!(d.added.len(), 2);
        let d = diff_paragraphs(&v(&["a", "b"]), &[]);
        assert_eq!(d.removed.len(), 2);
    }

    #[test]
    fn edited_paragraph_is_removed_and_added() {
        let d = diff_paragraphs(&v(&["a", "b", "c"]), &v(&["a", "B", "c"]));
        assert_eq!(d.removed[0].text, "b");
        assert_eq!(d.added[0].text, "B");
    }
}
