//! A small deterministic random number generator (64-bit LCG) for generated corpora and
//! seeded schedules: the same seed gives the same sequence on every machine.

/// Deterministic generator (64-bit LCG, Knuth's MMIX constants).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407))
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next((high.saturating_sub(low) + 1) as usize) as u64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.next(100) < percent
    }

    /// One of `items` (None when empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.next(items.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_ranges_hold() {
        let a: Vec<usize> = {
            let mut r = Rng::new(42);
            (0..20).map(|_| r.next(1000)).collect()
        };
        let b: Vec<usize> = {
            let mut r = Rng::new(42);
            (0..20).map(|_| r.next(1000)).collect()
        };
        assert_eq!(a, b);
        let mut other = Rng::new(43);
        assert_ne!(a, (0..20).map(|_| other.next(1000)).collect::<Vec<_>>());
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let x = r.range(5, 9);
            assert!((5..=9).contains(&x));
        }
        assert_eq!(r.pick::<u8>(&[]), None);
    }
}
