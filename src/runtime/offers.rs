//! `pickOffers()` and offer ranking, shared with `localrec eval --offers`.

use std::collections::HashSet;

use crate::catalog::{Offer, category_matches};
use crate::error::{Error, Result};
use crate::event::EventKind;

use super::engine::{Encoded, Engine};
use super::options::{Filter, OfferOptions, OfferPick};

impl Engine {
    /// Ranks offers by the softmax probability mass the model puts on each offer's eligible,
    /// not-yet-bought items that pass the filter: the chance that the shopper's next item is one
    /// the offer applies to. Ties go to the larger discount, then the offer id.
    pub fn pick_offers(
        &self,
        encoded: &Encoded,
        state: Option<(&[f32], &[f32])>,
        opts: &OfferOptions,
    ) -> Result<Vec<OfferPick>> {
        if opts.k == 0 {
            return Err(Error::InvalidArgument("k must be at least 1".into()));
        }
        let scores = state.map(|(s, _)| self.score(s));
        let bought: HashSet<usize> = encoded
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Purchase)
            .filter_map(|e| e.item_id.as_deref().and_then(|id| self.vocab.get(id)))
            .map(|r| r.0 as usize)
            .collect();
        let mut ranked =
            self.rank_offers(scores.as_deref(), &bought, &opts.offers, &opts.filter)?;
        ranked.truncate(opts.k);
        let attention = state.map(|(_, a)| a);
        let rows: Vec<usize> = ranked.iter().map(|r| r.top_row).collect();
        let reasons = self.reasons(&rows, encoded, attention)?;
        Ok(ranked
            .into_iter()
            .zip(reasons)
            .map(|(r, reason)| OfferPick {
                offer_id: opts.offers[r.offer].id.clone(),
                score: r.probability * opts.offers[r.offer].discount,
                probability: r.probability,
                reason,
            })
            .collect())
    }

    /// Every applicable offer, best first, for a shopper whose next item the model scores as
    /// `scores` (one per row; `None` ranks by popularity) and who has bought `bought` (rows).
    /// An offer applies to the items it lists and to its categories' and brands' items; offers
    /// with no eligible item left are dropped. Shared by `pick_offers` and `localrec eval`.
    pub fn rank_offers(
        &self,
        scores: Option<&[f32]>,
        bought: &HashSet<usize>,
        offers: &[Offer],
        filter: &Filter,
    ) -> Result<Vec<RankedOffer>> {
        Self::check_filter(filter)?;
        let popularity: Vec<f32>;
        let scores = match scores {
            Some(s) => s,
            None => {
                popularity = self.popularity_scores();
                &popularity
            }
        };
        let max = scores
            .iter()
            .skip(1)
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| if i == 0 { 0.0 } else { (s - max).exp() })
            .collect();
        let total: f32 = exp.iter().sum();
        let mut ranked = Vec::new();
        for (index, offer) in offers.iter().enumerate() {
            if !(0.0..=1.0).contains(&offer.discount) {
                return Err(Error::InvalidArgument(format!(
                    "offer {:?}: discount must be in [0, 1]",
                    offer.id
                )));
            }
            let explicit = self.listed_rows(offer);
            if (!offer.categories.is_empty() || !offer.brands.is_empty()) && self.catalog.is_none()
            {
                return Err(Error::InvalidArgument(
                    "offers by category or brand need item metadata: train with --catalog or pass `catalog` to load()".into(),
                ));
            }
            let mut mass = 0f32;
            let mut best_item: Option<(f32, usize)> = None;
            for (row, &p_row) in exp.iter().enumerate().skip(1) {
                if !self.applies(offer, &explicit, row)
                    || bought.contains(&row)
                    || !self.passes(row, filter)?
                {
                    continue;
                }
                mass += p_row;
                if best_item.is_none_or(|(p, _)| p_row > p) {
                    best_item = Some((p_row, row));
                }
            }
            let Some((_, top_row)) = best_item else {
                continue;
            };
            ranked.push(RankedOffer {
                offer: index,
                probability: mass / total.max(1e-30),
                top_row,
            });
        }
        ranked.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then_with(|| {
                    offers[b.offer]
                        .discount
                        .total_cmp(&offers[a.offer].discount)
                })
                .then_with(|| offers[a.offer].id.cmp(&offers[b.offer].id))
        });
        Ok(ranked)
    }

    /// What offers rank by when there is no history: log popularity, so that the softmax mass
    /// of an offer is proportional to its items' counts.
    pub fn popularity_scores(&self) -> Vec<f32> {
        self.popularity.iter().map(|&c| (c + 1.0).ln()).collect()
    }

    /// The catalogue rows an offer lists by item id (ids not in the model are ignored).
    pub fn listed_rows(&self, offer: &Offer) -> HashSet<usize> {
        offer
            .item_ids
            .iter()
            .filter_map(|id| self.vocab.get(id))
            .map(|r| r.0 as usize)
            .collect()
    }

    /// Whether `offer` applies to the item in `row` (`listed`: [`Self::listed_rows`]).
    pub fn applies(&self, offer: &Offer, listed: &HashSet<usize>, row: usize) -> bool {
        listed.contains(&row)
            || self.meta(row).is_some_and(|m| {
                offer
                    .categories
                    .iter()
                    .any(|c| category_matches(&m.category, c))
                    || offer
                        .brands
                        .iter()
                        .any(|b| b.eq_ignore_ascii_case(&m.brand))
            })
    }
}

/// One offer's standing for a shopper (see [`Engine::rank_offers`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RankedOffer {
    /// Index into the offers passed in.
    pub offer: usize,
    /// Softmax mass on the offer's eligible, not-yet-bought items.
    pub probability: f32,
    /// The eligible item the model likes best (explains the offer).
    pub top_row: usize,
}
