//! Honest evaluation: leave-one-out, full ranking over the whole catalogue, the input history
//! excluded, and the popularity baseline on the same cases. Never sampled.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::catalog::Offer;
use crate::error::Result;
use crate::event::EventKind;
use crate::model::{SeqBatch, SeqRec, SeqRecConfig, Step, floats};
use crate::runtime::rank::top_k;
use crate::runtime::{Engine, Filter, RankedOffer};

use super::metrics::{RankingMetrics, rank_of};
use super::prepare::Prepared;

/// Which split to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Valid,
    Test,
}

/// One ranking question: the input history and the item that came next.
#[derive(Clone, Copy)]
pub struct EvalCase<'a> {
    pub input: &'a [Step],
    pub target: u32,
}

/// The evaluation cases of a split.
pub fn cases(p: &Prepared, split: Split) -> Vec<EvalCase<'_>> {
    p.users
        .iter()
        .filter_map(|u| {
            let (v, t) = u.split?;
            let cut = if split == Split::Valid { v } else { t };
            Some(EvalCase {
                input: &u.steps[..cut.input_end],
                target: u.steps[cut.target].item,
            })
        })
        .collect()
}

/// Full-ranking metrics and, if asked, each user's top-10.
pub struct EvalResult {
    pub metrics: RankingMetrics,
    pub top10: Vec<Vec<u32>>,
}

/// Scores every item for each case with `score_batch` and ranks the target, excluding the
/// items of the input history. A batch's users are ranked in parallel (a pass over the whole
/// catalogue each) and added to the metrics in order.
fn rank_cases(
    cases: &[EvalCase<'_>],
    n_rows: usize,
    batch: usize,
    keep_top: bool,
    mut score_batch: impl FnMut(&[EvalCase<'_>]) -> Result<Vec<f32>>,
) -> Result<EvalResult> {
    use rayon::prelude::*;
    let mut metrics = RankingMetrics::new(10);
    let mut top10 = Vec::new();
    for chunk in cases.chunks(batch.max(1)) {
        let scores = score_batch(chunk)?;
        let ranked: Vec<(usize, Option<Vec<u32>>)> = chunk
            .par_iter()
            .zip(scores.par_chunks_exact(n_rows))
            .map(|(case, row)| {
                let target = case.target as usize;
                let mut seen: Vec<usize> = case.input.iter().map(|s| s.item as usize).collect();
                let rank = rank_of(row, target, &seen);
                let best = keep_top.then(|| {
                    seen.sort_unstable();
                    let keep =
                        |r: usize| r != 0 && (r == target || seen.binary_search(&r).is_err());
                    top_k(row, 10, keep)
                        .into_iter()
                        .map(|(r, _)| r as u32)
                        .collect()
                });
                (rank, best)
            })
            .collect();
        for (rank, best) in ranked {
            metrics.add(rank);
            top10.extend(best);
        }
    }
    Ok(EvalResult { metrics, top10 })
}

/// Score floats one evaluation batch may hold (64 MB): 256 cases at Beauty's size, 33 at 500k
/// items, so memory stays bounded at any catalogue size.
const SCORE_FLOATS_PER_BATCH: usize = 1 << 24;

/// Cases scored at once for a catalogue of `n_rows` rows.
fn cases_per_batch(n_rows: usize) -> usize {
    (SCORE_FLOATS_PER_BATCH / n_rows.max(1)).clamp(1, 256)
}

/// Evaluates a model with full ranking.
pub fn evaluate(
    model: &SeqRec,
    config: &SeqRecConfig,
    item_attrs: &[Vec<u32>],
    cases: &[EvalCase<'_>],
    keep_top: bool,
) -> Result<EvalResult> {
    let n_rows = config.n_items + 1;
    // Cases in order of history length, so a batch pads to about its own length rather than
    // the longest history of a random 256 (most histories are short); results go back to the
    // callers' order.
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| cases[i].input.len().min(config.max_len));
    let sorted: Vec<EvalCase<'_>> = order.iter().map(|&i| cases[i]).collect();
    let mut result = rank_cases(
        &sorted,
        n_rows,
        cases_per_batch(n_rows),
        keep_top,
        |chunk| {
            let histories: Vec<&[Step]> = chunk.iter().map(|c| c.input).collect();
            let batch = SeqBatch::new(config, &histories, item_attrs);
            floats(model.score_items(model.user_state(&batch)))
        },
    )?;
    if keep_top {
        let mut top10 = vec![Vec::new(); cases.len()];
        for (sorted_at, &i) in order.iter().enumerate() {
            top10[i] = std::mem::take(&mut result.top10[sorted_at]);
        }
        result.top10 = top10;
    }
    Ok(result)
}

/// The popularity baseline with the same exclusions.
pub fn evaluate_popularity(popularity: &[u32], cases: &[EvalCase<'_>]) -> Result<EvalResult> {
    let scores: Vec<f32> = popularity.iter().map(|&c| c as f32).collect();
    let n_rows = scores.len();
    rank_cases(cases, n_rows, cases_per_batch(n_rows), false, |chunk| {
        Ok(chunk.iter().flat_map(|_| scores.iter().copied()).collect())
    })
}

/// How well offers are targeted: the share of shoppers whose held-out next purchase the top
/// offer would have applied to ("hit@1"), for three ways of picking that offer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct OfferEval {
    pub users: usize,
    /// The engine's rule (`pickOffers`): the most probable offer.
    #[serde(rename = "hit@1")]
    pub hit1: f64,
    /// The largest expected discount (probability x discount) instead.
    #[serde(rename = "hit@1_by_expected_discount")]
    pub hit1_by_expected_discount: f64,
    /// The engine's rule on popularity instead of the model (what a shop shows without one).
    #[serde(rename = "hit@1_popularity")]
    pub hit1_popularity: f64,
}

/// Evaluates offer targeting on `cases` (usually the test split) with the int8 engine, the way
/// the browser picks offers: one user state per history, the catalogue scored against the int8
/// item table, offers ranked by [`Engine::rank_offers`] with the shopper's purchases excluded.
pub fn evaluate_offers(
    engine: &Engine,
    item_attrs: &[Vec<u32>],
    cases: &[EvalCase<'_>],
    offers: &[Offer],
) -> Result<OfferEval> {
    let config = engine.config();
    let d = config.d_model;
    let listed: Vec<HashSet<usize>> = offers.iter().map(|o| engine.listed_rows(o)).collect();
    let applies = |offer: usize, row: usize| engine.applies(&offers[offer], &listed[offer], row);
    // The popularity baseline's scores do not depend on the shopper.
    let popularity = engine.popularity_scores();
    let purchase = EventKind::Purchase.row();
    let no_filter = Filter::default();
    let (mut users, mut hits, mut by_value, mut popular) = (0usize, 0usize, 0usize, 0usize);
    for chunk in cases.chunks(256) {
        let histories: Vec<&[Step]> = chunk.iter().map(|c| c.input).collect();
        let batch = SeqBatch::new(config, &histories, item_attrs);
        let states = engine.states_blocking(&batch)?;
        for (case, state) in chunk.iter().zip(states.chunks_exact(d)) {
            let bought: HashSet<usize> = case
                .input
                .iter()
                .filter(|s| s.kind == purchase && s.item != 0)
                .map(|s| s.item as usize)
                .collect();
            let target = case.target as usize;
            let scores = engine.score(state);
            let ranked = engine.rank_offers(Some(&scores), &bought, offers, &no_filter)?;
            let value = |r: &RankedOffer| r.probability * offers[r.offer].discount;
            let best_value = ranked
                .iter()
                .reduce(|best, r| if value(r) > value(best) { r } else { best });
            let pop = engine.rank_offers(Some(&popularity), &bought, offers, &no_filter)?;
            users += 1;
            hits += usize::from(ranked.first().is_some_and(|r| applies(r.offer, target)));
            by_value += usize::from(best_value.is_some_and(|r| applies(r.offer, target)));
            popular += usize::from(pop.first().is_some_and(|r| applies(r.offer, target)));
        }
    }
    let rate = |n: usize| n as f64 / users.max(1) as f64;
    Ok(OfferEval {
        users,
        hit1: rate(hits),
        hit1_by_expected_discount: rate(by_value),
        hit1_popularity: rate(popular),
    })
}

/// Metrics of one evaluation, as reported.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Scores {
    #[serde(rename = "hr@10")]
    pub hr10: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
}

impl From<&RankingMetrics> for Scores {
    fn from(m: &RankingMetrics) -> Self {
        Scores {
            hr10: m.hr(),
            ndcg10: m.ndcg(),
        }
    }
}
