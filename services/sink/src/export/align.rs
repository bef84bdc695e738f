//! Alignment of two language versions of a document: paragraphs by position or by length
//! (Gale–Church), turns by speaker order. Pure functions, no I/O.

use std::ops::Range;

/// How a document's paragraphs were aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Both versions have as many paragraphs: the n-th goes with the n-th.
    Position,
    /// The counts differ: Gale–Church length-based alignment.
    Length,
}

impl Method {
    /// The name used in exports (`position`, `length`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Position => "position",
            Method::Length => "length",
        }
    }
}

/// One link: paragraphs `a` of the first version translate paragraphs `b` of the second.
/// Links are 1–1, 1–2 or 2–1; a paragraph that matches nothing gets a 1–0 or 0–1 link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Paragraph indexes in the first version.
    pub a: Range<usize>,
    /// Paragraph indexes in the second version.
    pub b: Range<usize>,
}

/// The links covering every paragraph of both versions, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    /// How they were found.
    pub method: Method,
    /// The links, in document order.
    pub links: Vec<Link>,
}

/// Aligns paragraphs: by position when the counts agree, else by [`gale_church`].
pub fn align_paragraphs<S: AsRef<str>>(a: &[S], b: &[S]) -> Alignment {
    if a.len() == b.len() {
        return Alignment {
            method: Method::Position,
            links: (0..a.len())
                .map(|i| Link {
                    a: i..i + 1,
                    b: i..i + 1,
                })
                .collect(),
        };
    }
    let lengths = |items: &[S]| -> Vec<usize> {
        items
            .iter()
            .map(|s| s.as_ref().chars().filter(|c| !c.is_whitespace()).count())
            .collect()
    };
    Alignment {
        method: Method::Length,
        links: gale_church(&lengths(a), &lengths(b)),
    }
}

/// The moves of the alignment: (paragraphs of a, paragraphs of b, prior probability).
/// Priors from Gale and Church (1993); 2–2 links are not used.
const MOVES: [(usize, usize, f64); 5] = [
    (1, 1, 0.89),
    (1, 2, 0.089 / 2.0),
    (2, 1, 0.089 / 2.0),
    (1, 0, 0.0099 / 2.0),
    (0, 1, 0.0099 / 2.0),
];
/// Expected characters of the second language per character of the first.
const RATIO: f64 = 1.0;
/// Variance of that ratio per character.
const VARIANCE: f64 = 6.8;
/// Half-width of the band around the diagonal that the search explores (at least).
const MIN_BAND: usize = 100;

/// Probability that a standard normal variable is below `z` (Abramowitz–Stegun 26.2.17,
/// as in Gale and Church's program).
fn normal_cdf(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * z);
    let poly = ((((1.330_274_429 * t - 1.821_255_978) * t + 1.781_477_937) * t - 0.356_563_782)
        * t
        + 0.319_381_530)
        * t;
    1.0 - 0.398_942_3 * (-z * z / 2.0).exp() * poly
}

/// The cost (−100 · ln probability) of linking `len_a` characters to `len_b` characters.
fn length_cost(len_a: usize, len_b: usize) -> f64 {
    if len_a == 0 && len_b == 0 {
        return 0.0;
    }
    let (la, lb) = (len_a as f64, len_b as f64);
    let mean = (la + lb / RATIO) / 2.0;
    let z = ((RATIO * la - lb) / (VARIANCE * mean).sqrt()).abs();
    let p = 2.0 * (1.0 - normal_cdf(z));
    if p > 0.0 {
        -100.0 * p.ln()
    } else {
        // Beyond what f64 resolves: as unlikely as it gets, yet still a finite cost.
        10_000.0
    }
}

/// Gale–Church alignment of two sequences of paragraph lengths (in characters): the
/// cheapest sequence of 1–1, 1–2, 2–1 (and, for leftovers, 1–0 and 0–1) links covering
/// both. The search stays within a band around the diagonal, so time and memory grow with
/// the number of paragraphs, not its square.
pub fn gale_church(a: &[usize], b: &[usize]) -> Vec<Link> {
    let (n, m) = (a.len(), b.len());
    // The band must let a path step from one row's window to the next.
    let band = MIN_BAND
        .max(m.div_ceil(n.max(1)) + 2)
        .max(n.div_ceil(m.max(1)) + 2);
    let center = |i: usize| -> usize {
        if n == 0 {
            0
        } else {
            ((i as u128 * m as u128 + n as u128 / 2) / n as u128) as usize
        }
    };
    let window = |i: usize| -> (usize, usize) {
        let c = center(i);
        (c.saturating_sub(band), (c + band).min(m))
    };
    // cost[i][j - lo(i)], move[i][j - lo(i)]
    let mut cost: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    let mut moves: Vec<Vec<u8>> = Vec::with_capacity(n + 1);
    let lookup = |cost: &Vec<Vec<f64>>, i: usize, j: usize| -> Option<f64> {
        let (lo, hi) = window(i);
        if j < lo || j > hi {
            return None;
        }
        cost.get(i)
            .and_then(|row| row.get(j - lo))
            .copied()
            .filter(|c| c.is_finite())
    };
    for i in 0..=n {
        let (lo, hi) = window(i);
        let mut row = vec![f64::INFINITY; hi - lo + 1];
        let mut row_moves = vec![u8::MAX; hi - lo + 1];
        for j in lo..=hi {
            if i == 0 && j == 0 {
                row[0] = 0.0;
                continue;
            }
            let mut best = f64::INFINITY;
            let mut best_move = u8::MAX;
            for (k, &(da, db, prior)) in MOVES.iter().enumerate() {
                if da > i || db > j {
                    continue;
                }
                let previous = if da == 0 {
                    // Same row: already computed to the left.
                    let j0 = j - db;
                    if j0 < lo {
                        None
                    } else {
                        Some(row[j0 - lo]).filter(|c| c.is_finite())
                    }
                } else {
                    lookup(&cost, i - da, j - db)
                };
                let Some(previous) = previous else { continue };
                let len_a: usize = a[i - da..i].iter().sum();
                let len_b: usize = b[j - db..j].iter().sum();
                let total = previous + length_cost(len_a, len_b) - 100.0 * prior.ln();
                if total < best {
                    best = total;
                    best_move = k as u8;
                }
            }
            row[j - lo] = best;
            row_moves[j - lo] = best_move;
        }
        cost.push(row);
        moves.push(row_moves);
    }
    // Walk back from the end.
    let mut links = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let (lo, _) = window(i);
        let Some(&(da, db, _)) = moves
            .get(i)
            .and_then(|row| row.get(j.wrapping_sub(lo)))
            .and_then(|&k| MOVES.get(usize::from(k)))
        else {
            // Unreachable by construction (1–0 and 0–1 moves connect every cell); stay total.
            links.push(Link { a: 0..i, b: 0..j });
            break;
        };
        links.push(Link {
            a: i - da..i,
            b: j - db..j,
        });
        i -= da;
        j -= db;
    }
    links.reverse();
    links
}

/// Most cells of the speaker-order table; longer transcripts are paired greedily.
const MAX_TURN_CELLS: usize = 1_000_000;

/// Aligns two transcripts by the order of their speakers: the longest sequence of turns
/// whose speakers agree in both (longest common subsequence). Returns `(index in a, index
/// in b)` pairs in order; turns left out have no counterpart.
pub fn align_turns<S: AsRef<str>>(a: &[S], b: &[S]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Vec::new();
    }
    let same = |i: usize, j: usize| a[i].as_ref() == b[j].as_ref();
    if (n + 1).saturating_mul(m + 1) > MAX_TURN_CELLS {
        // Too long to tabulate: pair turns at the same position while speakers agree.
        return (0..n.min(m))
            .take_while(|&i| same(i, i))
            .map(|i| (i, i))
            .collect();
    }
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if same(i, j) {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if same(i, j) {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(a: Range<usize>, b: Range<usize>) -> Link {
        Link { a, b }
    }

    #[test]
    fn equal_counts_align_by_position() {
        let al = align_paragraphs(&["a", "bb", "ccc"], &["x", "y", "z"]);
        assert_eq!(al.method, Method::Position);
        assert_eq!(
            al.links,
            vec![link(0..1, 0..1), link(1..2, 1..2), link(2..3, 2..3)]
        );
    }

    #[test]
    fn a_split_paragraph_becomes_a_one_to_two_link() {
        let a = ["x".repeat(100), "y".repeat(300), "z".repeat(80)];
        let b = [
            "x".repeat(104),
            "y".repeat(140),
            "y".repeat(155),
            "z".repeat(83),
        ];
        let al = align_paragraphs(&a, &b);
        assert_eq!(al.method, Method::Length);
        assert_eq!(
            al.links,
            vec![link(0..1, 0..1), link(1..2, 1..3), link(2..3, 3..4)]
        );
    }

    #[test]
    fn two_merged_paragraphs_become_a_two_to_one_link() {
        let links = gale_church(&[50, 200, 210, 60], &[52, 420, 58]);
        assert_eq!(
            links,
            vec![link(0..1, 0..1), link(1..3, 1..2), link(3..4, 2..3)]
        );
    }

    #[test]
    fn a_short_stray_paragraph_joins_its_neighbour() {
        let links = gale_church(&[120, 5, 130], &[118, 131]);
        assert_eq!(links, vec![link(0..1, 0..1), link(1..3, 1..2)]);
    }

    #[test]
    fn paragraphs_with_no_counterpart_link_to_nothing() {
        let links = gale_church(&[100, 100, 100, 100], &[100]);
        assert!(links.iter().any(|l| l.b.is_empty()), "{links:?}");
    }

    #[test]
    fn links_cover_both_sides_in_order_for_any_lengths() {
        for (a, b) in [
            (vec![], vec![3, 4]),
            (vec![7], vec![]),
            (vec![1; 7], vec![300; 2]),
            (vec![10; 400], vec![10; 3]),
            (vec![5; 3], vec![10; 500]),
            ((1..300).collect(), (1..250).rev().collect()),
        ] {
            let links = gale_church(&a, &b);
            let (mut i, mut j) = (0, 0);
            for l in &links {
                assert_eq!((l.a.start, l.b.start), (i, j), "{a:?} {b:?}");
                assert!(l.a.len() <= 2 && l.b.len() <= 2 && !(l.a.is_empty() && l.b.is_empty()));
                i = l.a.end;
                j = l.b.end;
            }
            assert_eq!((i, j), (a.len(), b.len()));
        }
    }

    #[test]
    fn length_cost_prefers_similar_lengths() {
        assert!(length_cost(100, 100) < length_cost(100, 150));
        assert!(length_cost(100, 150) < length_cost(100, 400));
        assert_eq!(length_cost(0, 0), 0.0);
        assert!(length_cost(1_000_000, 0).is_finite());
    }

    #[test]
    fn turns_align_by_speaker_order() {
        let a = ["Question", "Lavrov", "Question", "Lavrov", "Zakharova"];
        let b = ["Question", "Lavrov", "Lavrov", "Question", "Zakharova"];
        // Four turns agree; of the two equally long choices, the later question is dropped.
        assert_eq!(align_turns(&a, &b), vec![(0, 0), (1, 1), (3, 2), (4, 4)]);
        assert_eq!(align_turns(&a, &[] as &[&str]), vec![]);
        let same = ["A", "B", "A"];
        assert_eq!(align_turns(&same, &same), vec![(0, 0), (1, 1), (2, 2)]);
    }

    #[test]
    fn very_long_transcripts_pair_greedily() {
        let a: Vec<String> = (0..2000).map(|i| format!("s{}", i % 2)).collect();
        let mut b = a.clone();
        b[1500] = "other".into();
        let pairs = align_turns(&a, &b);
        assert_eq!(pairs.len(), 1500);
        assert_eq!(pairs[1499], (1499, 1499));
    }
}
