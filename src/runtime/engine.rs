//! The recommender behind the browser API, free of JS types so it tests natively.
//!
//! Encode once, score many: the Transformer (burn, on WebGPU or CPU) turns the shopper's history
//! into one user state; the catalogue is then scored on the host against the quantised item table
//! (int8, or int4 for large catalogues), and top-k, filters, diversity, offers and reasons work on
//! plain slices. The item table exists once, quantised: the model reads a history's rows gathered
//! from it, and diversity and reasons decode the few rows they compare.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::catalog::{ItemMeta, category_matches};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::format::quant::Quantized;
use crate::format::shard::{self as shards, Shard, ShardEntry, ShardIndex};
use crate::format::{self, Artefact};
use crate::model::vocab::Vocab;
use crate::model::weights::float_tensor;
use crate::model::{
    HostBlocks, HostKeys, KvCache, SeqBatch, SeqRec, SeqRecConfig, Step, Weights, floats,
};

use super::options::{ModelInfo, RecommendOptions, Recommendation};

/// A loaded model plus everything needed to rank on the host.
pub struct Engine {
    pub(super) config: SeqRecConfig,
    pub(super) vocab: Vocab,
    /// The model in burn, on `device`. Built at load, except where the host-side blocks
    /// (`host`) run the model: there histories of up to [`HOST_ROWS`] events and appended
    /// events never need it, so it is built from `unbuilt` the first time a longer history
    /// does. A cold start on the CPU then builds none (building it was 4-7 ms of a 50-60 ms
    /// `load()` in the browser, most of it first-run code).
    model: OnceLock<SeqRec>,
    /// The config and weights the model is built from, until it is.
    unbuilt: Mutex<Option<(SeqRecConfig, Weights)>>,
    device: burn::prelude::Device,
    pub(super) items: Quantized,
    pub(super) popularity: Vec<f32>,
    item_attrs: Vec<Vec<u32>>,
    pub(super) catalog: Option<Vec<ItemMeta>>,
    /// The catalogue passed to `load()`, kept for the items of shards loaded later.
    catalog_override: Option<HashMap<String, ItemMeta>>,
    /// A core's manifest and which of its shards are in.
    shards: Option<Shards>,
    info: ModelInfo,
    /// The last history [`Self::forward`] encoded, for a model whose earlier positions never
    /// change ([`SeqRec::caches_keys`]): the next history that extends it computes only its new
    /// events, and the same history again computes nothing.
    last: Mutex<Option<Last>>,
    /// On the CPU, such a model's blocks on the host ([`HostBlocks`]): a few appended events
    /// through them take a handful of loops instead of some 100 tensor operations.
    host: Option<HostBlocks>,
}

/// Most events [`HostBlocks`] encodes with no cached keys before them; a longer history goes
/// through burn, whose matrix products are faster there. Natively (`cargo bench --bench
/// inference -- forward`), a history encoded whole: 10 events 52 us on the host against 86
/// through burn, 16 events 78 against 90, 24 events 121 against 108, 50 events 256 against 170;
/// one event appended to 49 cached ones: 13 us against 70.
const HOST_ROWS: usize = 16;

/// Most f32 the host copy of a model's blocks and input tables may take (16 MB; Beauty's is
/// 0.37 MB): a model with more query buckets or attributes appends through burn.
const HOST_FLOATS: usize = 4 << 20;

/// What [`Engine::forward`] keeps of the last history it encoded: its steps, every position's
/// keys and values, and the result (still on the device).
struct Last {
    steps: Vec<Step>,
    keys: Keys,
    state: burn::prelude::Tensor<2>,
    attention: burn::prelude::Tensor<2>,
}

/// Cached keys and values: on the model's device, or on the host with [`HostBlocks`].
enum Keys {
    Device(KvCache),
    Host(HostKeys),
}

/// The shards of a core: the manifest and, per shard, whether its items are in the engine.
struct Shards {
    index: ShardIndex,
    loaded: Vec<bool>,
}

/// A history ready for the model: the batch plus what each position was.
pub struct Encoded {
    pub batch: SeqBatch,
    /// What the model read, one step per event (its window: [`SeqRecConfig::window_start`]).
    pub steps: Vec<Step>,
    /// The events the model read, oldest first.
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
        Self::from_artefact(format::read_for_inference(bytes, None)?, device, catalog)
    }

    /// Builds the engine from a file already read for inference ([`format::read_for_inference`],
    /// or [`format::stream::StreamReader`] as it downloads).
    pub fn from_artefact(
        mut a: Artefact,
        device: &burn::prelude::Device,
        given_catalog: Option<HashMap<String, ItemMeta>>,
    ) -> Result<Self> {
        let host = (a.header.config.positions.caches_keys()
            && *device == burn::prelude::Device::flex()
            && HostBlocks::copied_floats(&a.header.config) <= HOST_FLOATS)
            .then(|| HostBlocks::new(&a.header.config, &a.weights))
            .transpose()?;
        let model = OnceLock::new();
        let unbuilt = if host.is_some() {
            Some((a.header.config.clone(), std::mem::take(&mut a.weights)))
        } else {
            let _ = model.set(a.model(device)?);
            None
        };
        // The artefact's large parts are moved, not copied: at a million items its ids and item
        // table are most of the engine's memory.
        let popularity = a.popularity_rows().iter().map(|&c| c as f32).collect();
        let item_attrs = a.take_item_attrs();
        let vocab = Vocab::from_ids(std::mem::take(&mut a.header.items))?;
        let config = a.header.config.clone();
        let items = a
            .item_table
            .take()
            .ok_or_else(|| Error::ModelCorrupt("the item table is not quantised".into()))?;
        let catalog = match &given_catalog {
            Some(map) => Some(vocab.ids().iter().map(|id| ItemMeta::of(map, id)).collect()),
            None => a.header.catalog.take(),
        };
        let shards = a.header.shards.take().map(|index| Shards {
            loaded: vec![false; index.shards.len()],
            index,
        });
        let info = ModelInfo {
            version: a.version,
            item_table: items.describe(),
            // Counted when asked for (`info`): shards add items.
            items: 0,
            catalog_items: shards
                .as_ref()
                .map_or(config.n_items, |s| s.index.total_items),
            shards: shards.as_ref().map_or(0, |s| s.index.shards.len()),
            shards_loaded: 0,
            d_model: config.d_model,
            layers: config.layers,
            heads: config.heads,
            max_len: config.max_len,
            sha256: a.sha256,
            bytes: a.size,
            has_catalog: catalog.is_some(),
        };
        Ok(Self {
            popularity,
            item_attrs,
            config,
            vocab,
            model,
            unbuilt: Mutex::new(unbuilt),
            device: device.clone(),
            items,
            catalog,
            // Kept only where shards may add items later.
            catalog_override: given_catalog.filter(|_| shards.is_some()),
            shards,
            info,
            last: Mutex::new(None),
            host,
        })
    }

    /// The manifest entries of the shards not loaded yet whose category is `category` or under
    /// it (`top` covers `top/sub`); every one not loaded for None. Empty for a model without
    /// shards.
    pub fn shards_to_load(&self, category: Option<&str>) -> Vec<ShardEntry> {
        let Some(s) = &self.shards else {
            return Vec::new();
        };
        s.index
            .shards
            .iter()
            .zip(&s.loaded)
            .filter(|(e, loaded)| {
                !**loaded && category.is_none_or(|c| category_matches(&e.category, c))
            })
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// Whether some of the catalogue is in shards not loaded yet.
    pub fn has_unloaded_shards(&self) -> bool {
        self.shards
            .as_ref()
            .is_some_and(|s| s.loaded.iter().any(|l| !l))
    }

    /// Verifies a shard file against this core ([`shards::read_shard`]); None when that shard
    /// is already in. A model without shards refuses every file.
    pub fn read_shard(
        &self,
        bytes: &[u8],
        digests: Option<&format::Digests>,
    ) -> Result<Option<Shard>> {
        let s = self.shards.as_ref().ok_or_else(|| {
            Error::InvalidArgument("this model has no shards: it holds the whole catalogue".into())
        })?;
        let shard = shards::read_shard(
            bytes,
            digests,
            &shards::Core {
                index: &s.index,
                config: &self.config,
                table: &self.items,
            },
        )?;
        Ok((!s.loaded[shard.index]).then_some(shard))
    }

    /// Adds a verified shard's items to the catalogue (nothing changes if it was already in, or
    /// on an error). The core with every shard ranks as the model it was split from.
    pub fn add_shard(&mut self, shard: Shard) -> Result<()> {
        let Some(s) = self.shards.as_mut() else {
            return Err(Error::InvalidArgument("this model has no shards".into()));
        };
        let Some(loaded) = s.loaded.get_mut(shard.index) else {
            return Err(Error::InvalidArgument("no such shard".into()));
        };
        if *loaded {
            return Ok(());
        }
        let mut seen = std::collections::HashSet::with_capacity(shard.items.len());
        if let Some(id) = shard
            .items
            .iter()
            .find(|id| self.vocab.get(id).is_some() || !seen.insert(id.as_str()))
        {
            return Err(Error::ModelCorrupt(format!(
                "item {id:?} of a shard is already in the catalogue"
            )));
        }
        self.items.append(shard.table)?;
        *loaded = true;
        for id in &shard.items {
            self.vocab.intern(id);
        }
        self.popularity
            .extend(shard.popularity.iter().map(|&c| c as f32));
        if !self.item_attrs.is_empty() {
            self.item_attrs.extend(shard.attributes);
        }
        if let Some(catalog) = &mut self.catalog {
            match &self.catalog_override {
                Some(map) => catalog.extend(shard.items.iter().map(|id| ItemMeta::of(map, id))),
                None => catalog.extend(shard.catalog),
            }
        }
        Ok(())
    }

    /// Facts about the model, with the items ranked now and the shards loaded so far.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            items: self.vocab.len(),
            shards_loaded: self
                .shards
                .as_ref()
                .map_or(0, |s| s.loaded.iter().filter(|&&l| l).count()),
            ..self.info.clone()
        }
    }

    /// The model, for encoding on its device: built here the first time it is asked for where
    /// the host-side blocks made building it at load unnecessary.
    pub fn model(&self) -> Result<&SeqRec> {
        if let Some(model) = self.model.get() {
            return Ok(model);
        }
        let mut unbuilt = self.unbuilt.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((config, weights)) = unbuilt.as_ref() {
            // The same weights `from_artefact` checked `HostBlocks::new` against.
            let _ = self.model.set(config.init_with(&self.device, weights)?);
            *unbuilt = None;
        }
        self.model
            .get()
            .ok_or_else(|| Error::Compute("the model was neither built nor kept".into()))
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
                    self.require_item(id)?;
                }
            }
            EventKind::Category => {
                let c = required_text(event.category.as_deref(), "category", "category")?;
                if let Some(catalog) = &self.catalog
                    && !catalog.iter().any(|m| category_matches(&m.category, &c))
                    && !self.shards.as_ref().is_some_and(|s| {
                        s.index
                            .shards
                            .iter()
                            .any(|e| category_matches(&e.category, &c))
                    })
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
                self.require_item(id)?;
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

    /// An item id must be in the catalogue, or possibly in a shard not loaded yet (then the
    /// model reads it once its shard is in).
    fn require_item(&self, id: &str) -> Result<()> {
        if self.vocab.get(id).is_none() && !self.has_unloaded_shards() {
            return Err(Error::UnknownItem(id.to_owned()));
        }
        Ok(())
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
        let keep = self.config.window_start(steps.len());
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
    #[allow(clippy::type_complexity)]
    pub fn forward(
        &self,
        encoded: &Encoded,
    ) -> Result<Option<(burn::prelude::Tensor<1>, burn::prelude::Tensor<1>)>> {
        if encoded.events.is_empty() {
            return Ok(None);
        }
        let (state, attention) = if self.config.positions.caches_keys() {
            self.encode_after_last(encoded)?
        } else {
            self.encode_newest(&encoded.batch)?
        };
        let ([_, d], [_, l]) = (state.dims(), attention.dims());
        Ok(Some((state.reshape([d]), attention.reshape([l]))))
    }

    /// [`Self::forward`] for a model that caches keys and values: the same history as last time
    /// returns its result again; one that extends it (events appended, the window not yet
    /// sliding) computes only the new events; any other is encoded whole. Each result is that
    /// of the history encoded whole (tests hold them within 1e-5).
    #[allow(clippy::type_complexity)]
    fn encode_after_last(
        &self,
        encoded: &Encoded,
    ) -> Result<(burn::prelude::Tensor<2>, burn::prelude::Tensor<2>)> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let steps = &encoded.steps;
        let past = match last.take() {
            Some(l) if l.steps.len() == steps.len() && *steps == l.steps => {
                let result = (l.state.clone(), l.attention.clone());
                *last = Some(l);
                return Ok(result);
            }
            Some(l) if steps.starts_with(&l.steps) => Some(l),
            _ => None,
        };
        // On an error the cache stays empty: the next history is encoded whole.
        let appended = past
            .as_ref()
            .map(|l| SeqBatch::new(&self.config, &[&steps[l.steps.len()..]], &self.item_attrs));
        let batch = appended.as_ref().unwrap_or(&encoded.batch);
        let past = past.map(|l| l.keys);
        let (state, attention, keys) = match (&self.host, past) {
            // Many events at once: burn's matrix products, then the keys to the host.
            (Some(_), None) if batch.len > HOST_ROWS => {
                let rows = self.item_rows(batch)?;
                let (state, attention, keys) =
                    self.model()?.encode_appended(batch, Some(rows), None)?;
                (state, attention, Keys::Host(keys.to_host()?))
            }
            (Some(host), None) => self.append_on_host(host, batch, None)?,
            (Some(host), Some(Keys::Host(k))) => self.append_on_host(host, batch, Some(k))?,
            (None, None) => self.append_on_device(batch, None)?,
            (None, Some(Keys::Device(k))) => self.append_on_device(batch, Some(&k))?,
            _ => return Err(Error::Compute("cached keys of the other kind".into())),
        };
        *last = Some(Last {
            steps: steps.clone(),
            keys,
            state: state.clone(),
            attention: attention.clone(),
        });
        Ok((state, attention))
    }

    /// [`HostBlocks::append`], its state and attention handed back as tensors on the device.
    fn append_on_host(
        &self,
        host: &HostBlocks,
        batch: &SeqBatch,
        past: Option<HostKeys>,
    ) -> Result<(burn::prelude::Tensor<2>, burn::prelude::Tensor<2>, Keys)> {
        let a = host.append(batch, &self.gather_items(batch)?, past)?;
        let (d, n) = (a.state.len(), a.attention.len());
        Ok((
            float_tensor(a.state, [1, d], &self.device),
            float_tensor(a.attention, [1, n], &self.device),
            Keys::Host(a.keys),
        ))
    }

    /// [`SeqRec::encode_appended`] on the model's device.
    fn append_on_device(
        &self,
        batch: &SeqBatch,
        past: Option<&KvCache>,
    ) -> Result<(burn::prelude::Tensor<2>, burn::prelude::Tensor<2>, Keys)> {
        let rows = self.item_rows(batch)?;
        let (state, attention, keys) = self.model()?.encode_appended(batch, Some(rows), past)?;
        Ok((state, attention, Keys::Device(keys)))
    }

    /// A batch's item rows gathered from the quantised table, `[batch * len * d]` on the host.
    fn gather_items(&self, batch: &SeqBatch) -> Result<Vec<f32>> {
        // Item ids come from this model's vocabulary (`encode`) or are checked by the gather.
        self.items.gather(
            batch
                .items
                .iter()
                .map(|&r| usize::try_from(r).unwrap_or(usize::MAX)),
        )
    }

    /// [`Self::gather_items`] as a tensor `[batch * len, d]` on the device.
    fn item_rows(&self, batch: &SeqBatch) -> Result<burn::prelude::Tensor<2>> {
        let d = self.config.d_model;
        let rows = self.gather_items(batch)?;
        let n = rows.len() / d;
        Ok(crate::model::weights::float_tensor(
            rows,
            [n, d],
            &self.device,
        ))
    }

    /// The newest position's state `[batch, d]` and the last block's attention from it
    /// `[batch, len]` for a batch of histories, on the device, the history's item rows gathered
    /// from the quantised table.
    pub fn encode_newest(
        &self,
        batch: &SeqBatch,
    ) -> Result<(burn::prelude::Tensor<2>, burn::prelude::Tensor<2>)> {
        let rows = self.item_rows(batch)?;
        Ok(self.model()?.encode_newest_with_items(batch, rows))
    }

    /// [`Self::encode_newest`]'s states with a blocking readback, `[batch * d]` (native and
    /// CPU only).
    pub fn states_blocking(&self, batch: &SeqBatch) -> Result<Vec<f32>> {
        floats(self.encode_newest(batch)?.0)
    }

    /// [`Self::forward`] with a blocking readback: native and CPU only.
    pub fn state_blocking(&self, encoded: &Encoded) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        let Some((state, attention)) = self.forward(encoded)? else {
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

    /// Scores every catalogue row for a user state (quantised table, host side).
    pub fn score(&self, state: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.items.rows());
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
