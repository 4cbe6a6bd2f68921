//! Full-ranking leave-one-out metrics: HR@k and NDCG@k. Never sampled.

/// The 0-based rank of `target` among all rows of `scores` except row 0 (padding) and `excluded`.
/// Ties are broken by row order (lower row first), the same order `runtime::rank::top_k` returns.
pub fn rank_of(scores: &[f32], target: usize, excluded: &[bool]) -> usize {
    let t = scores[target];
    let mut rank = 0;
    for (row, &s) in scores.iter().enumerate().skip(1) {
        if row == target || excluded.get(row).copied().unwrap_or(false) {
            continue;
        }
        if s > t || (s == t && row < target) || s.is_nan() {
            rank += 1;
        }
    }
    rank
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
        let none = vec![false; 6];
        assert_eq!(rank_of(&scores, 2, &none), 0);
        assert_eq!(rank_of(&scores, 3, &none), 1); // only row 2 beats it; row 4 ties but comes later
        assert_eq!(rank_of(&scores, 4, &none), 2); // rows 2 and 3 (tie, earlier row)
        assert_eq!(rank_of(&scores, 5, &none), 4);
        let mut ex = none.clone();
        ex[2] = true;
        ex[3] = true;
        assert_eq!(rank_of(&scores, 4, &ex), 0);
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
