//! `recommend()`: the catalogue scored, filtered, diversified and explained.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::model::vocab::ItemIndex;

use super::engine::{Encoded, Engine};
use super::options::{RecommendOptions, Recommendation};
use super::rank::top_k;
use crate::vector::dot;

/// Where ranking spent its time, in the clock's unit (milliseconds in the browser).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RankTimings {
    /// The int8 dot product of the user state with every catalogue row.
    pub scoring: f64,
    /// Exclusions, filters, top-k and diversity.
    pub top_k: f64,
    /// Explaining each recommended item.
    pub reasons: f64,
}

impl Engine {
    /// Ranks the catalogue. `state` and `attention` come from the model (None for an empty
    /// history, which ranks by popularity).
    pub fn recommend(
        &self,
        encoded: &Encoded,
        state: Option<(&[f32], &[f32])>,
        opts: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        Ok(self.recommend_timed(encoded, state, opts, &|| 0.0)?.0)
    }

    /// [`Self::recommend`], timing its three steps with `clock` (`performance.now()` in the
    /// browser; the engine itself reads no clock).
    pub fn recommend_timed(
        &self,
        encoded: &Encoded,
        state: Option<(&[f32], &[f32])>,
        opts: &RecommendOptions,
        clock: &dyn Fn() -> f64,
    ) -> Result<(Vec<Recommendation>, RankTimings)> {
        if opts.k == 0 || opts.k > 1000 {
            return Err(Error::InvalidArgument(format!(
                "k must be between 1 and 1000, got {}",
                opts.k
            )));
        }
        if !(0.0..=1.0).contains(&opts.diversity) {
            return Err(Error::InvalidArgument(format!(
                "diversity must be in [0, 1], got {}",
                opts.diversity
            )));
        }
        Self::check_filter(&opts.filter)?;
        let t0 = clock();
        let computed;
        let scores: &[f32] = match state {
            Some((s, _)) => {
                computed = self.score(s);
                &computed
            }
            None => &self.popularity,
        };
        let t1 = clock();
        let seen: HashSet<usize> = if opts.exclude_seen {
            encoded
                .events
                .iter()
                .filter_map(|e| e.item_id.as_deref())
                .filter_map(|id| self.vocab.get(id))
                .map(|r| r.0 as usize)
                .collect()
        } else {
            HashSet::new()
        };
        let mut filter_err = None;
        let mut keep = |row: usize| {
            if seen.contains(&row) {
                return false;
            }
            match self.passes(row, &opts.filter) {
                Ok(ok) => ok,
                Err(e) => {
                    filter_err = Some(e);
                    false
                }
            }
        };
        // Diversity re-ranks a wider pool with maximal marginal relevance.
        let pool = if opts.diversity > 0.0 {
            (opts.k * 5).max(50)
        } else {
            opts.k
        };
        let candidates = top_k(scores, pool, &mut keep);
        if let Some(e) = filter_err {
            return Err(e);
        }
        let chosen = if opts.diversity > 0.0 {
            let units = self.items.unit_rows(candidates.iter().map(|c| c.0))?;
            mmr(
                &candidates,
                opts.k,
                opts.diversity,
                &units,
                self.config.d_model,
            )
        } else {
            candidates
        };
        let t2 = clock();
        let attention = state.map(|(_, a)| a);
        let rows: Vec<usize> = chosen.iter().map(|c| c.0).collect();
        let reasons = self.reasons(&rows, encoded, attention)?;
        let recs = chosen
            .into_iter()
            .zip(reasons)
            .map(|((row, score), reason)| Recommendation {
                item_id: self
                    .vocab
                    .id(ItemIndex(row as u32))
                    .unwrap_or_default()
                    .to_owned(),
                score,
                reason,
            })
            .collect();
        let t3 = clock();
        let timings = RankTimings {
            scoring: t1 - t0,
            top_k: t2 - t1,
            reasons: t3 - t2,
        };
        Ok((recs, timings))
    }
}

/// Maximal marginal relevance: picks `k` of `candidates` (row, score), each time the one with
/// the best `(1 - lambda) * relevance - lambda * (largest cosine similarity to those picked)`,
/// relevance being the score scaled to [0, 1] over the candidates. `units` holds each
/// candidate's normalised item row, `d` values each, in the candidates' order.
fn mmr(
    candidates: &[(usize, f32)],
    k: usize,
    lambda: f32,
    units: &[f32],
    d: usize,
) -> Vec<(usize, f32)> {
    let (lo, hi) = candidates
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), c| {
            (l.min(c.1), h.max(c.1))
        });
    let norm = |s: f32| if hi > lo { (s - lo) / (hi - lo) } else { 1.0 };
    let unit = |i: usize| &units[i * d..(i + 1) * d];
    // Indices into `candidates`.
    let mut left: Vec<usize> = (0..candidates.len()).collect();
    let mut out: Vec<usize> = Vec::with_capacity(k);
    while out.len() < k && !left.is_empty() {
        let mut best = (0, f32::NEG_INFINITY);
        for (at, &i) in left.iter().enumerate() {
            let max_sim = out
                .iter()
                .map(|&o| dot(unit(i), unit(o)))
                .fold(0f32, f32::max);
            let value = (1.0 - lambda) * norm(candidates[i].1) - lambda * max_sim;
            if value > best.1 {
                best = (at, value);
            }
        }
        out.push(left.remove(best.0));
    }
    out.into_iter().map(|i| candidates[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The candidates' unit rows, in order: rows 1 and 2 point the same way, row 4 halfway
    /// between them and row 3, row 3 elsewhere.
    const UNIT: [f32; 8] = [1.0, 0.0, 1.0, 0.0, 0.6, 0.8, 0.0, 1.0];

    #[test]
    fn diversity_trades_relevance_for_variety() {
        let candidates = [(1, 0.9), (2, 0.85), (4, 0.5), (3, 0.3)];
        // No diversity: by score.
        assert_eq!(
            mmr(&candidates, 3, 0.0, &UNIT, 2),
            vec![(1, 0.9), (2, 0.85), (4, 0.5)]
        );
        // Some: the near-duplicate of the first pick loses its place to the next distinct item.
        // Row 2: 0.5 * 0.917 - 0.5 * 1.0 < 0; row 4: 0.5 * 0.333 - 0.5 * 0.6 < 0;
        // row 3: 0 - 0 = 0.
        let picked: Vec<usize> = mmr(&candidates, 2, 0.5, &UNIT, 2)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(picked, vec![1, 3]);
        // Full diversity: the least similar each time, scores kept as they were.
        let all = mmr(&candidates, 4, 1.0, &UNIT, 2);
        assert_eq!(all[0], (1, 0.9), "the first pick is the most relevant");
        assert_eq!(all[1], (3, 0.3));
        assert_eq!(all.len(), 4);
    }
}
