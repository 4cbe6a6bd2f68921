//! Full-ranking leave-one-out metrics: HR@k and NDCG@k. Never sampled.

/// The 0-based rank of row `target` among the catalogue's rows (row 0, padding, never counts),
/// leaving out the rows in `excluded` (any order, repeats allowed): the rows that score higher,
/// tie and come earlier, or are NaN (every row, when the target's score is NaN: a model that
/// scores NaN hits nothing). One branch-free counting pass over the scores (it vectorises),
/// then a correction for the few excluded rows.
pub fn rank_of(scores: &[f32], target: usize, excluded: &[usize]) -> usize {
    let t = scores[target];
    let nan = t.is_nan();
    // Before the target a tie beats it; after it, only a higher score.
    let beats = |row: usize, s: f32| nan || s.is_nan() || if row < target { s >= t } else { s > t };
    let before = scores[1.min(target)..target]
        .iter()
        .filter(|&&s| nan || s >= t || s.is_nan())
        .count();
    let after = scores[target + 1..]
        .iter()
        .filter(|&&s| nan || s > t || s.is_nan())
        .count();
    let mut out: Vec<usize> = excluded
        .iter()
        .copied()
        .filter(|&r| r != 0 && r != target && r < scores.len())
        .collect();
    out.sort_unstable();
    out.dedup();
    before + after - out.iter().filter(|&&r| beats(r, scores[r])).count()
}

/// Running HR@k / NDCG@k over users.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankingMetrics {
    pub k: usize,
    pub users: usize,
    hits: f64,
    ndcg: f64,
}

impl RankingMetrics {
    /// An empty accumulator for cut-off `k`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            ..Self::default()
        }
    }

    /// Adds one user whose target had 0-based `rank`.
    pub fn add(&mut self, rank: usize) {
        self.users += 1;
        if rank < self.k {
            self.hits += 1.0;
            self.ndcg += 1.0 / ((rank + 2) as f64).log2();
        }
    }

    /// Hit rate at k.
    pub fn hr(&self) -> f64 {
        if self.users == 0 {
            0.0
        } else {
            self.hits / self.users as f64
        }
    }

    /// NDCG at k (one relevant item, so IDCG = 1).
    pub fn ndcg(&self) -> f64 {
        if self.users == 0 {
            0.0
        } else {
            self.ndcg / self.users as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_skips_padding_and_excluded_and_breaks_ties_by_row() {
        // rows:       pad   1    2    3    4    5
        let scores = [9.0, 0.5, 0.9, 0.7, 0.7, 0.1];
        assert_eq!(rank_of(&scores, 2, &[]), 0);
        assert_eq!(rank_of(&scores, 3, &[]), 1); // only row 2 beats it; row 4 ties but comes later
        assert_eq!(rank_of(&scores, 4, &[]), 2); // rows 2 and 3 (tie, earlier row)
        assert_eq!(rank_of(&scores, 5, &[]), 4);
        assert_eq!(rank_of(&scores, 4, &[3, 2, 3, 0]), 0);
        assert_eq!(
            rank_of(&scores, 4, &[4, 1, 5]),
            2,
            "the target and rows below it"
        );
    }

    /// The counting pass with its correction gives what the row-by-row definition gives, on
    /// scores with ties, NaNs and repeated or out-of-range exclusions.
    #[test]
    fn rank_matches_the_row_by_row_definition() {
        let scores: Vec<f32> = (0..400)
            .map(|i: u32| match i % 37 {
                0 => f32::NAN,
                _ => ((i.wrapping_mul(2_654_435_761) >> 20) % 50) as f32 / 10.0,
            })
            .collect();
        for (target, excluded) in [
            (1, vec![]),
            (17, vec![3, 3, 17, 0, 399, 1000]),
            (200, (150..260).step_by(3).collect()),
            (399, vec![37, 74, 5, 5]),
            (74, vec![37, 2]),
        ] {
            let slow = (1..scores.len())
                .filter(|&r| r != target && !excluded.contains(&r))
                .filter(|&r| {
                    let (s, t) = (scores[r], scores[target]);
                    t.is_nan() || s > t || (s == t && r < target) || s.is_nan()
                })
                .count();
            assert_eq!(rank_of(&scores, target, &excluded), slow, "target {target}");
        }
    }

    #[test]
    fn hand_computed_hr_and_ndcg() {
        let mut m = RankingMetrics::new(10);
        m.add(0); // ndcg 1
        m.add(2); // ndcg 1/log2(4) = 0.5
        m.add(10); // miss
        m.add(9); // 1/log2(11)
        assert_eq!(m.users, 4);
        assert!((m.hr() - 0.75).abs() < 1e-12);
        let expected = (1.0 + 0.5 + 1.0 / 11f64.log2()) / 4.0;
        assert!((m.ndcg() - expected).abs() < 1e-12);
        assert_eq!(RankingMetrics::new(10).ndcg(), 0.0);
    }
}
