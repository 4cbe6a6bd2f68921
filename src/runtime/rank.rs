//! Top-k selection on plain slices, with exclusions: the host side of every ranking.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(PartialEq)]
struct Entry {
    score: f32,
    row: usize,
}

impl Eq for Entry {}

impl Ord for Entry {
    // "Greater" = better: higher score, then lower row. The heap keeps the worst on top via Reverse.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.row.cmp(&self.row))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` best rows of `scores` (row 0, padding, is never returned) for which `keep(row)` holds,
/// best first; ties go to the lower row. NaN scores are never returned.
pub fn top_k(scores: &[f32], k: usize, mut keep: impl FnMut(usize) -> bool) -> Vec<(usize, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<std::cmp::Reverse<Entry>> = BinaryHeap::with_capacity(k + 1);
    // Once k rows are held, the k-th best score: rows come in increasing order, so a later row
    // with an equal score loses the tie, and every row at or below it is passed over.
    let mut threshold = None;
    let mut row = 0;
    while row + 1 < scores.len() {
        row += 1;
        if let Some(t) = threshold {
            // Skip the run of rows that cannot enter: blocks of 16 in one SIMD compare each in
            // the browser (most of a million-row catalogue).
            row += leading_at_most(&scores[row..], t);
            if row >= scores.len() {
                break;
            }
        }
        let score = scores[row];
        if score.is_nan() || threshold.is_some_and(|t| score <= t) || !keep(row) {
            continue;
        }
        heap.push(std::cmp::Reverse(Entry { score, row }));
        if heap.len() > k {
            heap.pop();
        }
        if heap.len() == k {
            threshold = heap.peek().map(|worst| worst.0.score);
        }
    }
    let mut out: Vec<(usize, f32)> = heap.into_iter().map(|e| (e.0.row, e.0.score)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// How many leading `scores` are certainly not above `t` (at most `t`, or NaN); the row after
/// them may be. In wasm with SIMD it is a multiple of 16 (or all of them), which is enough.
#[inline]
pub fn leading_at_most(scores: &[f32], t: f32) -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        simd128::leading_at_most(scores, t)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        leading_at_most_portable(scores, t)
    }
}

/// [`leading_at_most`] one row at a time (every platform; the wasm tests compare the two).
pub fn leading_at_most_portable(scores: &[f32], t: f32) -> usize {
    scores.iter().position(|&s| s > t).unwrap_or(scores.len())
}

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use core::arch::wasm32::*;

    /// Whole blocks of 16 scores none of which is above `t` (`f32x4.gt` is false for NaN), then
    /// the scalar rest.
    #[target_feature(enable = "simd128")]
    pub fn leading_at_most(scores: &[f32], t: f32) -> usize {
        let tv = f32x4_splat(t);
        let mut skipped = 0;
        for block in scores.chunks_exact(16) {
            // SAFETY: `block` holds 16 f32s; v128_load has no alignment requirement.
            let above = unsafe {
                let p = block.as_ptr() as *const v128;
                v128_or(
                    v128_or(
                        f32x4_gt(v128_load(p), tv),
                        f32x4_gt(v128_load(p.add(1)), tv),
                    ),
                    v128_or(
                        f32x4_gt(v128_load(p.add(2)), tv),
                        f32x4_gt(v128_load(p.add(3)), tv),
                    ),
                )
            };
            if v128_any_true(above) {
                return skipped;
            }
            skipped += 16;
        }
        skipped + super::leading_at_most_portable(&scores[skipped..], t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_first_with_ties_by_row_and_exclusions() {
        let scores = [100.0, 0.1, 0.5, 0.5, 0.9, f32::NAN, 0.2];
        assert_eq!(
            top_k(&scores, 3, |_| true),
            vec![(4, 0.9), (2, 0.5), (3, 0.5)]
        );
        assert_eq!(
            top_k(&scores, 2, |r| r != 4 && r != 2),
            vec![(3, 0.5), (6, 0.2)]
        );
        assert_eq!(top_k(&scores, 0, |_| true), vec![]);
        let all = top_k(&scores, 10, |_| true);
        assert_eq!(all.len(), 5, "padding row and NaN are never returned");
    }

    #[test]
    fn ties_at_the_threshold_and_infinities() {
        // Equal scores past the k-th: the lower rows win; -inf is returned when too few rows
        // are left, NaN never.
        let scores = [0.0, 1.0, 1.0, 1.0, 1.0, f32::NEG_INFINITY, f32::NAN];
        assert_eq!(top_k(&scores, 2, |_| true), vec![(1, 1.0), (2, 1.0)]);
        assert_eq!(
            top_k(&scores, 9, |r| r > 3),
            vec![(4, 1.0), (5, f32::NEG_INFINITY)]
        );
    }

    #[test]
    fn a_long_scan_matches_full_sort_with_nans_and_ties() {
        // Long enough that most rows are skipped in blocks once k rows are held.
        let scores: Vec<f32> = (0..100_003)
            .map(|i| match i % 997 {
                0 => f32::NAN,
                _ => ((i * 7919) % 50_021) as f32 / 7.0,
            })
            .collect();
        let mut rows: Vec<usize> = (1..scores.len())
            .filter(|&r| !scores[r].is_nan() && r % 5 != 0)
            .collect();
        rows.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        for k in [1, 10, 300] {
            let got: Vec<usize> = top_k(&scores, k, |r| r % 5 != 0)
                .into_iter()
                .map(|e| e.0)
                .collect();
            assert_eq!(got, rows[..k], "k = {k}");
        }
    }

    #[test]
    fn matches_full_sort() {
        let scores: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1009) as f32).collect();
        let mut rows: Vec<usize> = (1..1000).filter(|r| r % 3 != 0).collect();
        rows.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let got: Vec<usize> = top_k(&scores, 25, |r| r % 3 != 0)
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(got, rows[..25]);
    }
}
