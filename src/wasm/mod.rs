//! The browser boundary (wasm32 only): JS types, async device set-up and readback, storage, and
//! errors turned into JS `Error`s with a stable `code`. Everything else is in [`crate::runtime`].

use std::cell::RefCell;
use std::collections::HashMap;

use burn::prelude::*;
use serde::Deserialize;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result};
use crate::format::ItemMeta;
use crate::runtime::{Encoded, Engine, OfferOptions, RecommendOptions, StoredEvent};

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = fetchModel, catch)]
    async fn fetch_model(source: JsValue) -> std::result::Result<JsValue, JsValue>;
    #[cfg(feature = "webgpu")]
    #[wasm_bindgen(js_name = hasWebGpu)]
    async fn has_webgpu() -> JsValue;
    #[wasm_bindgen(js_name = now)]
    fn now_ms() -> f64;
    #[wasm_bindgen(js_name = perfNow)]
    fn perf_now() -> f64;
    #[wasm_bindgen(js_name = openStore)]
    async fn open_store(
        kind: &str,
        namespace: &str,
        max_events: u32,
        retention_days: f64,
    ) -> JsValue;

    type Store;
    #[wasm_bindgen(method, getter)]
    fn kind(this: &Store) -> String;
    #[wasm_bindgen(method, catch)]
    async fn load(this: &Store) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    async fn append(this: &Store, event: JsValue) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    async fn clear(this: &Store) -> std::result::Result<JsValue, JsValue>;
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let err = js_sys::Error::new(&e.to_string());
        let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
        err.into()
    }
}

type JsResult<T> = std::result::Result<T, JsValue>;

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

fn js_message(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// Refuses unknown option names (a typo such as `exludeSeen` must not pass silently);
/// serde-wasm-bindgen only reads the fields it knows.
fn check_keys(v: &JsValue, allowed: &[&str], what: &str) -> Result<()> {
    if !v.is_object() {
        return if v.is_undefined() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!("{what} must be an object")))
        };
    }
    for key in js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "{what}: unknown option {key:?} (expected one of {allowed:?})"
            )));
        }
    }
    Ok(())
}

const FILTER_KEYS: [&str; 5] = ["categories", "brands", "minPrice", "maxPrice", "inStock"];

/// Checks a `{..., filter: {...}}` options object.
fn check_options(v: &JsValue, allowed: &[&str], what: &str) -> Result<()> {
    check_keys(v, allowed, what)?;
    if v.is_object() {
        let filter = js_sys::Reflect::get(v, &"filter".into()).unwrap_or(JsValue::UNDEFINED);
        check_keys(&filter, &FILTER_KEYS, &format!("{what}.filter"))?;
    }
    Ok(())
}

fn from_js<T: for<'de> Deserialize<'de>>(v: JsValue, what: &str) -> Result<T> {
    serde_wasm_bindgen::from_value(v).map_err(|e| Error::InvalidArgument(format!("{what}: {e}")))
}

fn to_js<T: Serialize>(v: &T) -> JsResult<JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::Compute(format!("cannot convert a result to JS: {e}")).into())
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// burn's WebGPU runtime can be initialised once per page.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

/// Picks the compute device: WebGPU when asked for (or `auto`) and an adapter exists, else CPU.
pub async fn select_device(preference: &str) -> Result<(Device, &'static str)> {
    match preference {
        "cpu" => return Ok((crate::cpu_device(), "cpu")),
        "auto" | "webgpu" => {}
        other => {
            return Err(Error::InvalidArgument(format!(
                "backend must be \"auto\", \"webgpu\" or \"cpu\", got {other:?}"
            )));
        }
    }
    webgpu_device(preference).await
}

#[cfg(feature = "webgpu")]
async fn webgpu_device(preference: &str) -> Result<(Device, &'static str)> {
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return Ok((device, "webgpu"));
    }
    // Check first: asking wgpu for an adapter where the page has no WebGPU can panic.
    let available = has_webgpu().await.as_bool().unwrap_or(false);
    let attempt = if available {
        Device::wgpu_options()
            .init_async()
            .await
            .map_err(|e| format!("{e:?}"))
    } else {
        Err(
            "this browser exposes no WebGPU adapter (navigator.gpu.requestAdapter() gave none)"
                .to_owned(),
        )
    };
    match (attempt, preference) {
        (Ok(device), _) => {
            WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
            Ok((device, "webgpu"))
        }
        (Err(why), "webgpu") => Err(Error::BackendUnavailable(why)),
        (Err(_), _) => Ok((crate::cpu_device(), "cpu")),
    }
}

/// The CPU-only bundle: `auto` is the CPU, and asking for WebGPU says which bundle to load.
#[cfg(not(feature = "webgpu"))]
async fn webgpu_device(preference: &str) -> Result<(Device, &'static str)> {
    if preference == "webgpu" {
        return Err(Error::BackendUnavailable(
            "this is the CPU-only bundle (localrec_cpu); load the package entry `localrec`, which \
             picks the WebGPU bundle when an adapter exists"
                .into(),
        ));
    }
    Ok((crate::cpu_device(), "cpu"))
}

/// Options of `Recommender.load()`.
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
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogEntry {
    #[serde(alias = "item_id")]
    item_id: String,
    #[serde(flatten)]
    meta: ItemMeta,
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
    200
}
fn retention() -> f64 {
    90.0
}

/// Reads the newest position's state and the attention over the history, awaiting the device.
async fn user_state(engine: &Engine, encoded: &Encoded) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    let Some((state, attention)) = engine.forward(encoded) else {
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
    engine: Engine,
    store: Store,
    history: RefCell<Vec<StoredEvent>>,
    backend: &'static str,
    max_events: usize,
    timings: RefCell<Timings>,
}

/// Where the last `recommend()` spent its time, in milliseconds.
#[derive(Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Timings {
    /// History to model input, the Transformer on the backend, and the readback of the state.
    forward_ms: f64,
    /// int8 scoring of the whole catalogue, filters, top-k, diversity and reasons.
    rank_ms: f64,
    total_ms: f64,
    /// Events the model read.
    events: usize,
}

#[wasm_bindgen]
impl Recommender {
    /// Loads and verifies a model, picks the backend and opens the on-device history.
    pub async fn load(options: JsValue) -> JsResult<Recommender> {
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
        check_keys(
            &rest,
            &[
                "backend",
                "storage",
                "namespace",
                "maxEvents",
                "retentionDays",
                "catalog",
            ],
            "load options",
        )?;
        let opts: LoadOptions = from_js(rest.into(), "load options")?;
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
        let bytes = fetch_model(model)
            .await
            .map_err(|e| Error::InvalidArgument(js_message(&e)))?;
        let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
        let (device, backend) = select_device(&opts.backend).await?;
        let catalog = opts.catalog.map(|c| {
            c.into_iter()
                .map(|e| (e.item_id, e.meta))
                .collect::<HashMap<_, _>>()
        });
        let engine = Engine::load(&bytes, &device, catalog)?;
        let store: Store = open_store(
            &opts.storage,
            &opts.namespace,
            opts.max_events,
            opts.retention_days,
        )
        .await
        .unchecked_into();
        let stored = store
            .load()
            .await
            .map_err(|e| Error::Storage(js_message(&e)))?;
        // Stored events were validated when tracked; anything unreadable (another version) is dropped.
        let history: Vec<StoredEvent> = js_sys::Array::from(&stored)
            .iter()
            .filter_map(|v| serde_wasm_bindgen::from_value(v).ok())
            .collect();
        Ok(Recommender {
            engine,
            store,
            history: RefCell::new(history),
            backend,
            max_events: opts.max_events as usize,
            timings: RefCell::new(Timings::default()),
        })
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

    /// Where the last `recommend()` spent its time: `{forwardMs, rankMs, totalMs, events}`.
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
        to_js(self.engine.info())
    }

    /// Records an event on this device: `{type: "view"|"cart"|"purchase", itemId}`,
    /// `{type: "search", query}` or `{type: "category", category}`. A malformed event is rejected
    /// and the history is untouched.
    pub async fn track(&self, event: JsValue) -> JsResult<JsValue> {
        let keys = ["type", "itemId", "query", "category", "ts"];
        check_keys(&event, &keys, "event").map_err(|e| match e {
            Error::InvalidArgument(m) => Error::BadEvent(m),
            other => other,
        })?;
        let mut parsed: StoredEvent = serde_wasm_bindgen::from_value(event).map_err(|e| {
            Error::BadEvent(format!(
                "{e} (expected {{type, itemId}}, {{type: \"search\", query}} or {{type: \"category\", category}})"
            ))
        })?;
        if parsed.ts == 0.0 {
            parsed.ts = now_ms();
        }
        let event = self.engine.validate(parsed)?;
        let js_event = to_js(&event)?;
        {
            let mut h = self.history.borrow_mut();
            h.push(event);
            let excess = h.len().saturating_sub(self.max_events);
            h.drain(..excess);
        }
        self.store
            .append(js_event)
            .await
            .map_err(|e| Error::Storage(js_message(&e)))?;
        Ok(JsValue::UNDEFINED)
    }

    /// Ranks the catalogue for this shopper: `[{itemId, score, reason}]`.
    pub async fn recommend(&self, options: JsValue) -> JsResult<JsValue> {
        check_options(
            &options,
            &["k", "excludeSeen", "filter", "diversity"],
            "recommend options",
        )?;
        let opts: RecommendOptions = if options.is_undefined() {
            RecommendOptions::default()
        } else {
            from_js(options, "recommend options")?
        };
        let t0 = perf_now();
        let encoded = self.engine.encode(&self.history.borrow());
        let state = user_state(&self.engine, &encoded).await?;
        let t1 = perf_now();
        let recs = self.engine.recommend(
            &encoded,
            state.as_ref().map(|(s, a)| (s.as_slice(), a.as_slice())),
            &opts,
        )?;
        let t2 = perf_now();
        *self.timings.borrow_mut() = Timings {
            forward_ms: t1 - t0,
            rank_ms: t2 - t1,
            total_ms: t2 - t0,
            events: encoded.events.len(),
        };
        to_js(&recs)
    }

    /// Ranks offers for this shopper: `[{offerId, score, probability, reason}]`.
    #[wasm_bindgen(js_name = pickOffers)]
    pub async fn pick_offers(&self, options: JsValue) -> JsResult<JsValue> {
        check_options(&options, &["offers", "k", "filter"], "pickOffers options")?;
        let opts: OfferOptions = from_js(options, "pickOffers options")?;
        let encoded = self.engine.encode(&self.history.borrow());
        let state = user_state(&self.engine, &encoded).await?;
        let picks = self.engine.pick_offers(
            &encoded,
            state.as_ref().map(|(s, a)| (s.as_slice(), a.as_slice())),
            &opts,
        )?;
        to_js(&picks)
    }

    /// Exactly what is stored on this device, oldest first.
    pub async fn history(&self) -> JsResult<JsValue> {
        to_js(&*self.history.borrow())
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
