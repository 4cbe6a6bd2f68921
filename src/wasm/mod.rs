//! The browser boundary (wasm32 only): the `Recommender` a storefront calls, device choice,
//! storage and the JS conversions. Everything else is in [`crate::runtime`], free of JS types.
//!
//! - [`js`]: errors as JS `Error`s with a `code`; options and events converted once by serde.
//! - [`device`]: WebGPU or CPU.

use std::cell::{Ref, RefCell};
use std::collections::HashMap;

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::catalog::CatalogEntry;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::format::shard::Shard;
use crate::format::stream::StreamReader;
use crate::format::{self, Artefact};
use crate::runtime::{Encoded, Engine, History, HistoryPolicy, OfferOptions, RecommendOptions};

pub mod device;
mod js;

pub use device::select_device;
use js::{JsResult, from_js, js_message, to_js};

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = openModel, catch)]
    async fn open_model(source: JsValue) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = readChunk, catch)]
    async fn read_chunk(source: &JsValue) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = closeModel)]
    fn close_model(source: &JsValue);
    #[wasm_bindgen(js_name = canDigest)]
    fn can_digest() -> bool;
    #[wasm_bindgen(js_name = fileDigests)]
    async fn file_digests(bytes: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = modelUrl)]
    fn model_url(source: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = prefetchShards)]
    fn prefetch_shards(base: &str, paths: Vec<String>);
    #[wasm_bindgen(js_name = forgetShards)]
    fn forget_shards(base: &str, paths: Vec<String>);
    #[wasm_bindgen(js_name = fetchShard, catch)]
    async fn fetch_shard(base: &str, path: &str) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = now)]
    fn now_ms() -> f64;
    #[wasm_bindgen(js_name = perfNow)]
    fn perf_now() -> f64;
    /// Never rejects: a store that cannot open falls back to memory.
    #[wasm_bindgen(js_name = openStore)]
    fn open_store(kind: &str, namespace: &str) -> js_sys::Promise;

    /// Where the history persists. It only mirrors [`History`]: it appends what it is given and
    /// drops the positions it is told to, each call applied in call order.
    type Store;
    #[wasm_bindgen(method, getter)]
    fn kind(this: &Store) -> String;
    #[wasm_bindgen(method, catch)]
    async fn load(this: &Store) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    async fn apply(
        this: &Store,
        event: JsValue,
        drop: Vec<u32>,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    async fn clear(this: &Store) -> std::result::Result<JsValue, JsValue>;
}

/// Panics are bugs; if one happens, say so on the console before the module traps.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(
            &format!("localrec panicked (a bug, please report): {info}").into(),
        );
    }));
}

/// The package version.
#[wasm_bindgen(js_name = version)]
pub fn js_version() -> String {
    crate::version().to_owned()
}

/// Options of `Recommender.load()` (besides `model`, read before these).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoadOptions {
    #[serde(default = "auto")]
    backend: String,
    #[serde(default = "indexeddb")]
    storage: String,
    #[serde(default = "namespace")]
    namespace: String,
    #[serde(default = "max_events")]
    max_events: u32,
    #[serde(default = "retention")]
    retention_days: f64,
    #[serde(default)]
    catalog: Option<Vec<CatalogEntry>>,
    /// A core's shards: `"category"` (fetched by `loadCategory()`) or `"all"` (by `load()`).
    #[serde(default = "by_category")]
    shards: String,
    /// Where a core's `shards/` folder is (default: beside the model's URL).
    #[serde(default)]
    shards_base: Option<String>,
}

fn by_category() -> String {
    "category".into()
}

fn auto() -> String {
    "auto".into()
}
fn indexeddb() -> String {
    "indexeddb".into()
}
fn namespace() -> String {
    "default".into()
}
fn max_events() -> u32 {
    HistoryPolicy::default().max_events as u32
}
fn retention() -> f64 {
    HistoryPolicy::default().retention_days
}

/// A downloaded file's bytes, copied into wasm memory, with their SHA-256 digests computed by
/// the browser (`fileDigests`; None where it cannot, and the core hashes them itself).
async fn bytes_and_digests(bytes: &JsValue) -> (Vec<u8>, Option<format::Digests>) {
    let digests = digests_of(file_digests(bytes).await);
    (u8_array(bytes).to_vec(), digests)
}

/// `value` as a `Uint8Array`: itself when it is one (`new Uint8Array(array)` would copy it first:
/// 80-90 ms of a million-item model's cold start in a profile), else a view of it.
fn u8_array(value: &JsValue) -> js_sys::Uint8Array {
    match value.dyn_ref::<js_sys::Uint8Array>() {
        Some(array) => array.clone(),
        None => js_sys::Uint8Array::new(value),
    }
}

/// Downloads a model and reads it as it arrives ([`StreamReader`]): the header is parsed and the
/// tensors decoded while the rest is on its way; the file is verified when complete, its SHA-256
/// by the browser where it can (`fileDigests`), else hashed here chunk by chunk.
async fn read_model(source: JsValue) -> Result<Artefact> {
    let download = open_model(source)
        .await
        .map_err(|e| Error::InvalidArgument(js_message(&e)))?;
    let native_digests = can_digest();
    let mut reader = StreamReader::new(!native_digests);
    let read = async {
        loop {
            let chunk = read_chunk(&download).await.map_err(|e| {
                Error::Fetch(format!("the model's download failed: {}", js_message(&e)))
            })?;
            if chunk.is_null() {
                return Ok(());
            }
            let chunk = u8_array(&chunk);
            // SAFETY: `copy_to_uninit` writes all of `dst` (it panics unless the lengths match,
            // and they do: `dst` is `chunk.length()` long).
            unsafe {
                reader.push_with(chunk.length() as usize, |dst| {
                    chunk.copy_to_uninit(dst);
                })?
            };
        }
    };
    if let Err(e) = read.await {
        close_model(&download);
        return Err(e);
    }
    let digests = if native_digests {
        // SAFETY: `fileDigests` hands the view to `crypto.subtle.digest`, which copies its input
        // when called, before this module runs again (nothing can grow its memory meanwhile).
        let view = unsafe { js_sys::Uint8Array::view(reader.bytes()) };
        digests_of(file_digests(&view).await)
    } else {
        None
    };
    reader.finish(digests.as_ref())
}

/// `fileDigests`'s answer (`[body, file]`, 32 bytes each, or null) as [`format::Digests`].
fn digests_of(value: JsValue) -> Option<format::Digests> {
    let pair = value.dyn_into::<js_sys::Array>().ok()?;
    let digest = |i: u32| -> Option<[u8; 32]> {
        let bytes = pair.get(i).dyn_into::<js_sys::Uint8Array>().ok()?;
        bytes.to_vec().try_into().ok()
    };
    Some(format::Digests {
        body: digest(0)?,
        file: digest(1)?,
    })
}

/// Reads the newest position's state and the attention over the history, awaiting the device.
async fn user_state(engine: &Engine, encoded: &Encoded) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    let Some((state, attention)) = engine.forward(encoded)? else {
        return Ok(None);
    };
    let read = |e| Error::Compute(format!("reading back from the device failed: {e:?}"));
    let vec = |d: TensorData| {
        d.try_to_vec::<f32>()
            .map_err(|e| Error::Compute(format!("{e:?}")))
    };
    let state = vec(state.into_data_async().await.map_err(read)?)?;
    let attention = vec(attention.into_data_async().await.map_err(read)?)?;
    Ok(Some((state, attention)))
}

/// The recommender a storefront uses. Every method is `async` and takes `&self`, so calls may
/// overlap freely from JS.
#[wasm_bindgen]
pub struct Recommender {
    engine: RefCell<Engine>,
    /// Verified shards waiting for the engine to be free (a `recommend()` awaiting the device
    /// holds it); added at the start of the next call.
    pending: RefCell<Vec<Shard>>,
    /// The URL shard paths are resolved against (a core's URL or `shardsBase`).
    shards_base: Option<String>,
    store: Store,
    history: RefCell<History>,
    backend: &'static str,
    timings: RefCell<Timings>,
}

/// Where the last `recommend()` spent its time, in milliseconds.
#[derive(Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Timings {
    /// History to model input, the Transformer on the backend, and the readback of the state.
    forward_ms: f64,
    /// int8 scoring of the whole catalogue, filters, top-k, diversity and reasons: the sum of
    /// the next three.
    rank_ms: f64,
    /// int8 scoring of the whole catalogue.
    scoring_ms: f64,
    /// Exclusions, filters, top-k and diversity.
    top_k_ms: f64,
    /// Explaining the recommended items.
    reasons_ms: f64,
    total_ms: f64,
    /// Events the model read.
    events: usize,
}

#[wasm_bindgen]
impl Recommender {
    /// Loads and verifies a model, picks the backend and opens the on-device history.
    pub async fn load(options: JsValue) -> JsResult<Recommender> {
        if !options.is_object() {
            return Err(Error::InvalidArgument(
                "load() needs an options object with `model`".into(),
            )
            .into());
        }
        let model = js_sys::Reflect::get(&options, &"model".into()).unwrap_or(JsValue::UNDEFINED);
        if model.is_undefined() || model.is_null() {
            return Err(Error::InvalidArgument(
                "load() needs `model`: a URL, Uint8Array or Response".into(),
            )
            .into());
        }
        // The other options, read from a copy without `model` (the caller's object is not touched).
        let rest =
            js_sys::Object::assign(&js_sys::Object::new(), &options.clone().unchecked_into());
        let _ = js_sys::Reflect::delete_property(&rest, &"model".into());
        let opts: LoadOptions = from_js(&rest.into(), "load options")?;
        if opts.storage != "indexeddb" && opts.storage != "memory" {
            return Err(Error::InvalidArgument(format!(
                "storage must be \"indexeddb\" or \"memory\", got {:?}",
                opts.storage
            ))
            .into());
        }
        if opts.max_events == 0 {
            return Err(Error::InvalidArgument("maxEvents must be at least 1".into()).into());
        }
        if !opts.retention_days.is_finite() || opts.retention_days < 0.0 {
            return Err(Error::InvalidArgument(
                "retentionDays must be a number of days (0: no limit)".into(),
            )
            .into());
        }
        if opts.shards != "category" && opts.shards != "all" {
            return Err(Error::InvalidArgument(format!(
                "shards must be \"category\" or \"all\", got {:?}",
                opts.shards
            ))
            .into());
        }
        let shards_base = opts.shards_base.clone().or_else(|| model_url(&model));
        // The history store opens (IndexedDB reads the stored events) while the model downloads.
        let store = JsFuture::from(open_store(&opts.storage, &opts.namespace));
        let artefact = read_model(model).await?;
        let (device, backend) = select_device(&opts.backend).await?;
        let catalog = opts.catalog.map(|c| {
            c.into_iter()
                .map(|e| (e.item_id, e.meta))
                .collect::<HashMap<_, _>>()
        });
        let engine = Engine::from_artefact(artefact, &device, catalog)?;
        let store: Store = store
            .await
            .map_err(|e| Error::Storage(js_message(&e)))?
            .unchecked_into();
        let stored = store
            .load()
            .await
            .map_err(|e| Error::Storage(js_message(&e)))?;
        // Stored events were checked when tracked. One this version cannot read (written by
        // another) is dropped from the store too, so that the store and the history stay aligned.
        let mut events = Vec::new();
        let mut unreadable = Vec::new();
        for (i, v) in js_sys::Array::from(&stored).iter().enumerate() {
            match serde_wasm_bindgen::from_value::<Event>(v) {
                Ok(e) => events.push(e),
                Err(_) => unreadable.push(i as u32),
            }
        }
        let policy = HistoryPolicy {
            max_events: opts.max_events as usize,
            retention_days: opts.retention_days,
        };
        let (history, dropped) = History::new(events, policy, now_ms());
        let rec = Recommender {
            engine: RefCell::new(engine),
            pending: RefCell::new(Vec::new()),
            shards_base,
            store,
            history: RefCell::new(history),
            backend,
            timings: RefCell::new(Timings::default()),
        };
        if !unreadable.is_empty() {
            rec.persist(JsValue::NULL, unreadable).await?;
        }
        rec.persist(JsValue::NULL, positions(dropped)).await?;
        if opts.shards == "all" {
            rec.fetch_shards(None).await?;
        }
        Ok(rec)
    }

    /// Fetches the shards of `category` (a category page the shopper opened, or a prefix such
    /// as `"hiking"`) that are not loaded yet, verifies each against the core's manifest and adds
    /// its items; resolves to the number of items added (0 for a model without shards, or when
    /// they are already in). The requests name only shard files: `shards/<sha256>.lrec`.
    #[wasm_bindgen(js_name = loadCategory)]
    pub async fn load_category(&self, category: JsValue) -> JsResult<u32> {
        let category = category
            .as_string()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "loadCategory() needs a category name (loadCatalog() loads every shard)".into(),
                )
            })?;
        Ok(self.fetch_shards(Some(category.trim())).await?)
    }

    /// Fetches every shard not loaded yet (the whole catalogue); resolves to the number of items
    /// added.
    #[wasm_bindgen(js_name = loadCatalog)]
    pub async fn load_catalog(&self) -> JsResult<u32> {
        Ok(self.fetch_shards(None).await?)
    }

    /// `"webgpu"` or `"cpu"`: what actually runs.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.to_owned()
    }

    /// `"indexeddb"` or `"memory"`: what actually stores the history.
    #[wasm_bindgen(getter)]
    pub fn storage(&self) -> String {
        self.store.kind()
    }

    /// Where the last `recommend()` spent its time: `{forwardMs, rankMs, scoringMs, topKMs,
    /// reasonsMs, totalMs, events}`.
    #[wasm_bindgen(getter, js_name = lastTimings)]
    pub fn last_timings(&self) -> JsResult<JsValue> {
        to_js(&*self.timings.borrow())
    }

    /// Which wasm bundle runs: `"webgpu"` (CPU and WebGPU backends) or `"cpu"` (CPU only).
    #[wasm_bindgen(getter)]
    pub fn bundle(&self) -> String {
        if cfg!(feature = "webgpu") {
            "webgpu"
        } else {
            "cpu"
        }
        .into()
    }

    /// Facts about the loaded model.
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> JsResult<JsValue> {
        to_js(&self.engine().info())
    }

    /// Records an event on this device: `{type: "view"|"cart"|"purchase", itemId}`,
    /// `{type: "search", query}` or `{type: "category", category}`. A malformed event is rejected
    /// and the history is untouched.
    pub async fn track(&self, event: JsValue) -> JsResult<JsValue> {
        let mut parsed: Event = from_js(&event, "event").map_err(|e| {
            Error::BadEvent(format!(
                "{} (expected {{type, itemId}}, {{type: \"search\", query}} or {{type: \"category\", category}})",
                match e {
                    Error::InvalidArgument(m) => m,
                    other => other.to_string(),
                }
            ))
        })?;
        let now = now_ms();
        if parsed.ts == 0.0 {
            parsed.ts = now;
        }
        let event = self.engine().validate(parsed)?;
        let js_event = to_js(&event)?;
        // The history changes and the store is told in the same turn, so overlapping calls
        // reach the store in the order they changed the history.
        let dropped = self.history.borrow_mut().push(event, now);
        self.persist(js_event, positions(dropped)).await?;
        Ok(JsValue::UNDEFINED)
    }

    /// Ranks the catalogue for this shopper: `[{itemId, score, reason}]`.
    pub async fn recommend(&self, options: JsValue) -> JsResult<JsValue> {
        let opts: RecommendOptions = from_js(&options, "recommend options")?;
        let t0 = perf_now();
        let encoded = self.current().await?;
        let engine = self.engine();
        let state = user_state(&engine, &encoded).await?;
        let t1 = perf_now();
        let (recs, rank) = engine.recommend_timed(
            &encoded,
            state.as_ref().map(|(s, a)| (s.as_slice(), a.as_slice())),
            &opts,
            &perf_now,
        )?;
        let t2 = perf_now();
        *self.timings.borrow_mut() = Timings {
            forward_ms: t1 - t0,
            rank_ms: t2 - t1,
            scoring_ms: rank.scoring,
            top_k_ms: rank.top_k,
            reasons_ms: rank.reasons,
            total_ms: t2 - t0,
            events: encoded.events.len(),
        };
        to_js(&recs)
    }

    /// Ranks offers for this shopper: `[{offerId, score, probability, reason}]`.
    #[wasm_bindgen(js_name = pickOffers)]
    pub async fn pick_offers(&self, options: JsValue) -> JsResult<JsValue> {
        if options.is_undefined() {
            return Err(Error::InvalidArgument("pickOffers() needs `offers`".into()).into());
        }
        let opts: OfferOptions = from_js(&options, "pickOffers options")?;
        let encoded = self.current().await?;
        let engine = self.engine();
        let state = user_state(&engine, &encoded).await?;
        let picks = engine.pick_offers(
            &encoded,
            state.as_ref().map(|(s, a)| (s.as_slice(), a.as_slice())),
            &opts,
        )?;
        to_js(&picks)
    }

    /// Exactly what is stored on this device, oldest first.
    pub async fn history(&self) -> JsResult<JsValue> {
        self.expire().await?;
        to_js(&self.history.borrow().events())
    }

    /// Wipes this device's history.
    pub async fn forget(&self) -> JsResult<JsValue> {
        self.history.borrow_mut().clear();
        self.store
            .clear()
            .await
            .map_err(|e| Error::Storage(js_message(&e)))?;
        Ok(JsValue::UNDEFINED)
    }
}

impl Recommender {
    /// Mirrors a change of the history in the store: `event` appended (or null), then the
    /// positions `drop` removed.
    async fn persist(&self, event: JsValue, drop: Vec<u32>) -> Result<()> {
        if event.is_null() && drop.is_empty() {
            return Ok(());
        }
        self.store
            .apply(event, drop)
            .await
            .map(|_| ())
            .map_err(|e| Error::Storage(js_message(&e)))
    }

    /// Drops what retention has expired since the last call.
    async fn expire(&self) -> Result<()> {
        let dropped = self.history.borrow_mut().expire(now_ms());
        self.persist(JsValue::NULL, positions(dropped)).await
    }

    /// The history as the model reads it now, expired events dropped first.
    async fn current(&self) -> Result<Encoded> {
        self.expire().await?;
        Ok(self.engine().encode(self.history.borrow().events()))
    }

    /// The engine, with the shards that arrived since the last call added first when nothing
    /// else holds it (an overlapping `recommend()` awaiting its readback keeps them waiting).
    fn engine(&self) -> Ref<'_, Engine> {
        if !self.pending.borrow().is_empty()
            && let Ok(mut engine) = self.engine.try_borrow_mut()
        {
            for shard in self.pending.borrow_mut().drain(..) {
                // Verified against this core when read; a failure here leaves the engine as it
                // was and the shard out.
                if let Err(e) = engine.add_shard(shard) {
                    web_sys::console::warn_1(
                        &format!("localrec: a shard was not added: {e}").into(),
                    );
                }
            }
        }
        self.engine.borrow()
    }

    /// Fetches and verifies one shard and adds it (now, or at the next call if the engine is
    /// busy); the number of items it holds (0 if it was already in).
    async fn fetch_shard_at(&self, base: &str, path: &str) -> Result<u32> {
        let bytes = fetch_shard(base, path)
            .await
            .map_err(|e| Error::Fetch(js_message(&e)))?;
        let (bytes, digests) = bytes_and_digests(&bytes).await;
        let shard = self.engine().read_shard(&bytes, digests.as_ref())?;
        let mut added = 0;
        if let Some(shard) = shard
            && !self.pending.borrow().iter().any(|p| p.index == shard.index)
        {
            added = shard.items.len() as u32;
            self.pending.borrow_mut().push(shard);
        }
        // Adds it now if the engine is free (else at the start of the next call).
        drop(self.engine());
        Ok(added)
    }

    /// Fetches the shards of `category` (None: all) not loaded yet, a few downloads ahead, and
    /// adds each as soon as it is verified; the number of items they hold.
    async fn fetch_shards(&self, category: Option<&str>) -> Result<u32> {
        let wanted = self.engine().shards_to_load(category);
        if wanted.is_empty() {
            return Ok(0);
        }
        let base = self.shards_base.as_deref().ok_or_else(|| {
            Error::InvalidArgument(
                "this model was given as bytes: pass load({ shardsBase }), the URL its shards/ folder is under".into(),
            )
        })?;
        // A few downloads run ahead while each shard is verified and added in turn.
        let paths: Vec<String> = wanted.iter().map(|e| e.path()).collect();
        if paths.len() > 1 {
            prefetch_shards(base, paths.clone());
        }
        let mut added = 0u32;
        for path in &paths {
            match self.fetch_shard_at(base, path).await {
                Ok(n) => added += n,
                Err(e) => {
                    // Downloads started ahead for this call are not kept for the next one.
                    forget_shards(base, paths.clone());
                    return Err(e);
                }
            }
        }
        Ok(added)
    }
}

fn positions(dropped: Vec<usize>) -> Vec<u32> {
    dropped.into_iter().map(|i| i as u32).collect()
}
