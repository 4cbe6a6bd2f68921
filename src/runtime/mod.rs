//! The recommender behind the browser API, free of JS types so it tests natively.
//!
//! Encode once, score many: the Transformer (burn, on WebGPU or CPU) turns the shopper's history
//! into one user state; the catalogue is then scored on the host against the int8 item table, and
//! top-k, filters, diversity, offers and reasons work on plain slices.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::{EventKind, query_buckets};
use crate::format::quant::QuantizedMatrix;
use crate::format::{self, Artefact, ItemMeta};
use crate::model::vocab::{ItemIndex, Vocab};
use crate::model::{SeqBatch, SeqRec, SeqRecConfig, Step};
use rank::top_k;

pub mod rank;

/// An event as stored on the device (what `history()` returns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The category page visited (`category` events), e.g. `hiking/boots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub ts: f64,
}

impl StoredEvent {
    /// What the model reads as query tokens: a search's query or a visited category's path.
    pub fn text(&self) -> Option<&str> {
        match self.kind {
            EventKind::Search => self.query.as_deref(),
            EventKind::Category => self.category.as_deref(),
            _ => None,
        }
    }
}

/// Filters shared by `recommend()` and `pickOffers()`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Category names or prefixes (`"running"` matches `"running/shoes"`).
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub brands: Option<Vec<String>>,
    #[serde(default)]
    pub min_price: Option<f32>,
    #[serde(default)]
    pub max_price: Option<f32>,
    #[serde(default)]
    pub in_stock: Option<bool>,
}

/// Options of `recommend()`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendOptions {
    #[serde(default = "default_k")]
    pub k: usize,
    #[serde(default = "yes")]
    pub exclude_seen: bool,
    #[serde(default)]
    pub filter: Filter,
    /// 0 = pure relevance; towards 1 trades relevance for variety (maximal marginal relevance).
    #[serde(default)]
    pub diversity: f32,
}

fn default_k() -> usize {
    10
}

fn yes() -> bool {
    true
}

impl Default for RecommendOptions {
    fn default() -> Self {
        Self {
            k: default_k(),
            exclude_seen: true,
            filter: Filter::default(),
            diversity: 0.0,
        }
    }
}

/// Why an item was recommended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// `viewed`, `carted`, `bought`, `searched`, `browsed` (a category page) or `popular`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Reason {
    /// No history to explain by: the item is popular.
    const POPULAR: Reason = Reason {
        kind: "popular",
        item_id: None,
        query: None,
        category: None,
    };
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub item_id: String,
    pub score: f32,
    pub reason: Reason,
}

/// An offer a shop may show.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    #[serde(default)]
    pub item_ids: Vec<String>,
    pub discount: f32,
}

/// Options of `pickOffers()`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfferOptions {
    pub offers: Vec<Offer>,
    #[serde(default = "one")]
    pub k: usize,
    #[serde(default)]
    pub filter: Filter,
}

fn one() -> usize {
    1
}

/// A ranked offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferPick {
    pub offer_id: String,
    /// Probability mass on the offer's eligible items times its discount (the expected
    /// discount; offers are ranked by `probability`).
    pub score: f32,
    /// Probability mass on the offer's eligible, not-yet-bought items: the ranking key.
    pub probability: f32,
    pub reason: Reason,
}

/// Public facts about the loaded model (`rec.model` in JS).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub version: u32,
    pub items: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_len: usize,
    pub sha256: String,
    pub bytes: usize,
    pub has_catalog: bool,
}

/// A loaded model plus everything needed to rank on the host.
pub struct Engine {
    config: SeqRecConfig,
    vocab: Vocab,
    model: SeqRec,
    items: QuantizedMatrix,
    /// Dequantised item rows, normalised, for diversity and reasons.
    unit_items: Vec<f32>,
    popularity: Vec<f32>,
    item_attrs: Vec<Vec<u32>>,
    catalog: Option<Vec<ItemMeta>>,
    info: ModelInfo,
}

/// A history ready for the model: the batch plus what each position was.
pub struct Encoded {
    pub batch: SeqBatch,
    /// The events the model read, oldest first (the last `max_len`).
    pub events: Vec<StoredEvent>,
}

impl Engine {
    /// Verifies the weights file and builds the model on `device`. A catalogue passed here
    /// (item id → metadata) overrides the one in the file.
    pub fn load(
        bytes: &[u8],
        device: &burn::prelude::Device,
        catalog: Option<HashMap<String, ItemMeta>>,
    ) -> Result<Self> {
        let a: Artefact = format::read(bytes)?;
        let model = a.model(device)?;
        let config = a.header.config.clone();
        let vocab = Vocab::from_ids(a.header.items.clone())?;
        let item_table = &a.weights["item_emb"];
        let (rows, cols) = (item_table.shape[0], item_table.shape[1]);
        let items = match &a.item_table {
            Some(stored) => stored.clone(),
            None => QuantizedMatrix::quantize(&item_table.values, rows, cols),
        };
        let mut unit_items = item_table.values.clone();
        for row in unit_items.chunks_exact_mut(cols) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
        }
        let catalog = match catalog {
            Some(map) => Some(
                vocab
                    .ids()
                    .iter()
                    // An item missing from the catalogue passed at load: no category, not in stock.
                    .map(|id| {
                        map.get(id).cloned().unwrap_or(ItemMeta {
                            in_stock: false,
                            ..ItemMeta::default()
                        })
                    })
                    .collect(),
            ),
            None => a.header.catalog.clone(),
        };
        let info = ModelInfo {
            version: format::FORMAT_VERSION,
            items: config.n_items,
            d_model: config.d_model,
            layers: config.layers,
            heads: config.heads,
            max_len: config.max_len,
            sha256: a.sha256.clone(),
            bytes: a.size,
            has_catalog: catalog.is_some(),
        };
        Ok(Self {
            popularity: a.popularity_rows().iter().map(|&c| c as f32).collect(),
            item_attrs: a.item_attrs(),
            config,
            vocab,
            model,
            items,
            unit_items,
            catalog,
            info,
        })
    }

    /// Facts about the model.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The model, for encoding on its device.
    pub fn model(&self) -> &SeqRec {
        &self.model
    }

    /// The architecture.
    pub fn config(&self) -> &SeqRecConfig {
        &self.config
    }

    /// Model width.
    pub fn d_model(&self) -> usize {
        self.config.d_model
    }

    /// Checks an incoming event and stamps it. Unknown items, empty queries and categories no
    /// catalogue item is in are errors.
    pub fn validate(&self, mut event: StoredEvent) -> Result<StoredEvent> {
        match event.kind {
            EventKind::Search => {
                event.query = Some(required_text(event.query.as_deref(), "search", "query")?);
                event.category = None;
                if let Some(id) = &event.item_id {
                    self.vocab.require(id)?;
                }
            }
            EventKind::Category => {
                let c = required_text(event.category.as_deref(), "category", "category")?;
                if let Some(catalog) = &self.catalog
                    && !catalog.iter().any(|m| category_matches(&m.category, &c))
                {
                    return Err(Error::BadEvent(format!(
                        "unknown category {c:?}: no item of the catalogue is in it"
                    )));
                }
                event.category = Some(c);
                event.item_id = None;
                event.query = None;
            }
            kind => {
                let id = event.item_id.as_deref().ok_or_else(|| {
                    Error::BadEvent(format!("a {} event needs an `itemId`", kind.as_str()))
                })?;
                self.vocab.require(id)?;
                event.query = None;
                event.category = None;
            }
        }
        if !event.ts.is_finite() || event.ts < 0.0 {
            return Err(Error::BadEvent(
                "`ts` must be milliseconds since the epoch".into(),
            ));
        }
        Ok(event)
    }

    /// Turns stored events into model input. Events whose item the model does not know (an older
    /// catalogue) are skipped, never an error: stored history must keep working.
    pub fn encode(&self, history: &[StoredEvent]) -> Encoded {
        let mut steps = Vec::new();
        let mut events = Vec::new();
        for e in history {
            let item = e
                .item_id
                .as_deref()
                .and_then(|id| self.vocab.get(id))
                .map(|r| r.0)
                .unwrap_or(0);
            if item == 0 && !e.kind.is_text() {
                continue;
            }
            let query = e
                .text()
                .map(|t| query_buckets(t, self.config.query_buckets, self.config.max_query_tokens))
                .unwrap_or_default();
            if item == 0 && query.is_empty() {
                continue;
            }
            let kind = if self.config.event_types {
                e.kind.row()
            } else {
                EventKind::Purchase.row()
            };
            steps.push(Step { item, kind, query });
            events.push(e.clone());
        }
        let keep = steps.len().saturating_sub(self.config.max_len);
        let batch = SeqBatch::new(&self.config, &[&steps[keep..]], &self.item_attrs);
        Encoded {
            batch,
            events: events.split_off(keep),
        }
    }

    /// The newest position's state `[d]` and its attention over the history `[len]`, still on the
    /// device (None for an empty history). The browser awaits their readback (`web.rs`); native
    /// code reads them with [`Self::state_blocking`].
    pub fn forward(
        &self,
        encoded: &Encoded,
    ) -> Option<(burn::prelude::Tensor<1>, burn::prelude::Tensor<1>)> {
        if encoded.events.is_empty() {
            return None;
        }
        let (hidden, attention) = self.model.encode_with_attention(&encoded.batch);
        let [_, l, d] = hidden.dims();
        Some((
            hidden.narrow(1, l - 1, 1).reshape([d]),
            attention.reshape([l]),
        ))
    }

    /// [`Self::forward`] with a blocking readback: native and CPU only.
    pub fn state_blocking(&self, encoded: &Encoded) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        let Some((state, attention)) = self.forward(encoded) else {
            return Ok(None);
        };
        let read = |t: burn::prelude::Tensor<1>| -> Result<Vec<f32>> {
            t.try_into_data()
                .map_err(|e| Error::Compute(format!("{e:?}")))?
                .try_to_vec::<f32>()
                .map_err(|e| Error::Compute(format!("{e:?}")))
        };
        Ok(Some((read(state)?, read(attention)?)))
    }

    /// Encode, score and rank in one blocking call (native tools and tests; CPU only).
    pub fn recommend_blocking(
        &self,
        history: &[StoredEvent],
        opts: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        let encoded = self.encode(history);
        let state = self.state_blocking(&encoded)?;
        self.recommend(
            &encoded,
            state.as_ref().map(|(s, a)| (s.as_slice(), a.as_slice())),
            opts,
        )
    }

    /// Scores every catalogue row for a user state (int8 table, host side).
    pub fn score(&self, state: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.items.rows);
        self.items.matvec(state, &mut out);
        out
    }

    fn meta(&self, row: usize) -> Option<&ItemMeta> {
        self.catalog
            .as_ref()
            .and_then(|c| c.get(row.wrapping_sub(1)))
    }

    /// Whether a row passes a filter. Filters on metadata need a catalogue.
    fn passes(&self, row: usize, f: &Filter) -> Result<bool> {
        let needs_meta = f.categories.is_some()
            || f.brands.is_some()
            || f.min_price.is_some()
            || f.max_price.is_some()
            || f.in_stock.is_some();
        if !needs_meta {
            return Ok(true);
        }
        let Some(m) = self.meta(row) else {
            return Err(Error::InvalidArgument(
                "filters need item metadata: train with --catalog or pass `catalog` to load()"
                    .into(),
            ));
        };
        Ok(f.categories
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|c| category_matches(&m.category, c)))
            && f.brands
                .as_ref()
                .is_none_or(|bs| bs.iter().any(|b| b.eq_ignore_ascii_case(&m.brand)))
            && f.min_price.is_none_or(|p| m.price.is_some_and(|x| x >= p))
            && f.max_price.is_none_or(|p| m.price.is_some_and(|x| x <= p))
            && f.in_stock.is_none_or(|want| m.in_stock == want))
    }

    fn check_filter(f: &Filter) -> Result<()> {
        if let (Some(lo), Some(hi)) = (f.min_price, f.max_price)
            && lo > hi
        {
            return Err(Error::InvalidArgument(format!(
                "minPrice {lo} is above maxPrice {hi}"
            )));
        }
        Ok(())
    }

    /// The history event that best explains `row`: attention on the event times the cosine
    /// similarity between the candidate and the event's item.
    /// With no model state (`attention` is `None`: an empty history) the reason is `popular`.
    fn reason(&self, row: usize, encoded: &Encoded, attention: Option<&[f32]>) -> Reason {
        let Some(attention) = attention else {
            return Reason::POPULAR;
        };
        let d = self.config.d_model;
        let cand = &self.unit_items[row * d..(row + 1) * d];
        let offset = attention.len().saturating_sub(encoded.events.len());
        let mut best: Option<(f32, &StoredEvent)> = None;
        for (i, e) in encoded.events.iter().enumerate() {
            let weight = attention.get(offset + i).copied().unwrap_or(0.0);
            let sim = match e.item_id.as_deref().and_then(|id| self.vocab.get(id)) {
                Some(ItemIndex(r)) => {
                    let other = &self.unit_items[r as usize * d..(r as usize + 1) * d];
                    cand.iter()
                        .zip(other)
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                        .max(0.0)
                }
                None => 0.5, // a search or a category: no item row; attention alone decides
            };
            let c = weight * sim;
            if best.is_none_or(|(b, _)| c > b) {
                best = Some((c, e));
            }
        }
        match best {
            Some((c, e)) if c > 0.0 => Reason {
                kind: match e.kind {
                    EventKind::View => "viewed",
                    EventKind::Cart => "carted",
                    EventKind::Purchase => "bought",
                    EventKind::Search => "searched",
                    EventKind::Category => "browsed",
                },
                item_id: e.item_id.clone(),
                query: e.query.clone(),
                category: e.category.clone(),
            },
            _ => Reason::POPULAR,
        }
    }

    /// Ranks the catalogue. `state` and `attention` come from the model (None for an empty
    /// history, which ranks by popularity).
    pub fn recommend(
        &self,
        encoded: &Encoded,
        state: Option<(&[f32], &[f32])>,
        opts: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
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
        let scores = match state {
            Some((s, _)) => self.score(s),
            None => self.popularity.clone(),
        };
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
        let candidates = top_k(&scores, pool, &mut keep);
        if let Some(e) = filter_err {
            return Err(e);
        }
        let chosen = if opts.diversity > 0.0 {
            self.mmr(&candidates, opts.k, opts.diversity)
        } else {
            candidates
        };
        let attention = state.map(|(_, a)| a);
        Ok(chosen
            .into_iter()
            .map(|(row, score)| Recommendation {
                item_id: self
                    .vocab
                    .id(ItemIndex(row as u32))
                    .unwrap_or_default()
                    .to_owned(),
                score,
                reason: self.reason(row, encoded, attention),
            })
            .collect())
    }

    fn mmr(&self, candidates: &[(usize, f32)], k: usize, lambda: f32) -> Vec<(usize, f32)> {
        let d = self.config.d_model;
        let (lo, hi) = candidates
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), c| {
                (l.min(c.1), h.max(c.1))
            });
        let norm = |s: f32| if hi > lo { (s - lo) / (hi - lo) } else { 1.0 };
        let mut left: Vec<(usize, f32)> = candidates.to_vec();
        let mut out: Vec<(usize, f32)> = Vec::with_capacity(k);
        while out.len() < k && !left.is_empty() {
            let mut best = (0, f32::NEG_INFINITY);
            for (i, &(row, s)) in left.iter().enumerate() {
                let v = &self.unit_items[row * d..(row + 1) * d];
                let max_sim = out
                    .iter()
                    .map(|&(o, _)| {
                        v.iter()
                            .zip(&self.unit_items[o * d..(o + 1) * d])
                            .map(|(a, b)| a * b)
                            .sum::<f32>()
                    })
                    .fold(0f32, f32::max);
                let value = (1.0 - lambda) * norm(s) - lambda * max_sim;
                if value > best.1 {
                    best = (i, value);
                }
            }
            out.push(left.remove(best.0));
        }
        out
    }

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
        Ok(ranked
            .into_iter()
            .map(|r| OfferPick {
                offer_id: opts.offers[r.offer].id.clone(),
                score: r.probability * opts.offers[r.offer].discount,
                probability: r.probability,
                reason: self.reason(r.top_row, encoded, attention),
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

/// The trimmed, non-empty text a `kind` event needs in `field` (at most 200 characters).
fn required_text(text: Option<&str>, kind: &str, field: &str) -> Result<String> {
    let t = text.map(str::trim).unwrap_or("");
    if t.is_empty() {
        return Err(Error::BadEvent(format!(
            "a {kind} event needs a non-empty `{field}`"
        )));
    }
    if t.chars().count() > 200 {
        return Err(Error::BadEvent(format!(
            "`{field}` is longer than 200 characters"
        )));
    }
    Ok(t.to_owned())
}

/// `running` matches `running` and `running/shoes`, not `runningwear`.
fn category_matches(category: &str, wanted: &str) -> bool {
    category == wanted
        || category
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_prefixes() {
        assert!(category_matches("running/shoes", "running"));
        assert!(category_matches("running/shoes", "running/shoes"));
        assert!(!category_matches("runningwear", "running"));
        assert!(!category_matches("running", "running/shoes"));
    }
}
