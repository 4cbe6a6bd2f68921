//! The recommender behind the browser API, free of JS types so it tests natively.
//!
//! Encode once, score many: the Transformer (burn, on WebGPU or CPU) turns the shopper's history
//! into one user state; the catalogue is then scored on the host against the int8 item table, and
//! top-k, filters, diversity, offers and reasons work on plain slices.

use std::collections::HashMap;

use crate::catalog::{ItemMeta, category_matches};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::format::quant::QuantizedMatrix;
use crate::format::{self, Artefact};
use crate::model::vocab::Vocab;
use crate::model::{SeqBatch, SeqRec, SeqRecConfig, Step, floats};

use super::options::{ModelInfo, RecommendOptions, Recommendation};

/// A loaded model plus everything needed to rank on the host.
pub struct Engine {
    pub(super) config: SeqRecConfig,
    pub(super) vocab: Vocab,
    model: SeqRec,
    pub(super) items: QuantizedMatrix,
    /// Dequantised item rows, normalised, for diversity and reasons.
    pub(super) unit_items: Vec<f32>,
    pub(super) popularity: Vec<f32>,
    item_attrs: Vec<Vec<u32>>,
    pub(super) catalog: Option<Vec<ItemMeta>>,
    info: ModelInfo,
}

/// A history ready for the model: the batch plus what each position was.
pub struct Encoded {
    pub batch: SeqBatch,
    /// What the model read, one step per event (the last `max_len`).
    pub steps: Vec<Step>,
    /// The events the model read, oldest first (the last `max_len`).
    pub events: Vec<Event>,
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

    /// Checks an incoming event and stamps it. Unknown items, empty queries and categories no
    /// catalogue item is in are errors.
    pub fn validate(&self, mut event: Event) -> Result<Event> {
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

    /// Turns stored events into model input with the model's [`crate::model::Features`], the
    /// same function the trainer and `localrec eval` use. Events the model cannot read (an item
    /// of an older catalogue, a search with no token) are skipped, never an error: stored
    /// history must keep working.
    pub fn encode(&self, history: &[Event]) -> Encoded {
        let features = self.config.features();
        let mut steps = Vec::new();
        let mut events = Vec::new();
        for e in history {
            if let Some(step) = features.step(e, |id| self.vocab.get(id).map(|r| r.0)) {
                steps.push(step);
                events.push(e.clone());
            }
        }
        let keep = steps.len().saturating_sub(self.config.max_len);
        let steps = steps.split_off(keep);
        let batch = SeqBatch::new(&self.config, &[&steps], &self.item_attrs);
        Encoded {
            batch,
            steps,
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
        let (state, attention) = self.model.encode_newest(&encoded.batch);
        let ([_, d], [_, l]) = (state.dims(), attention.dims());
        Some((state.reshape([d]), attention.reshape([l])))
    }

    /// [`Self::forward`] with a blocking readback: native and CPU only.
    pub fn state_blocking(&self, encoded: &Encoded) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        let Some((state, attention)) = self.forward(encoded) else {
            return Ok(None);
        };
        Ok(Some((floats(state)?, floats(attention)?)))
    }

    /// Encode, score and rank in one blocking call (native tools and tests; CPU only).
    pub fn recommend_blocking(
        &self,
        history: &[Event],
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
