//! Shared code of the fuzz targets: what a loaded model is asked to do, and how an unsealed
//! artefact gets a valid envelope (lengths and checksum) so the fuzzer reaches the parser behind it.

use std::collections::HashMap;
use std::sync::LazyLock;

use localrec::catalog::ItemMeta;
use localrec::event::{Event, EventKind};
use localrec::format;
use localrec::format::quant::Encoding;
use localrec::runtime::{Engine, HistoryPolicy, History, OfferOptions, RecommendOptions};
use localrec::model::SeqRecConfig;

/// Splits `header JSON, 0x00, payload` and frames it as a complete file with
/// [`format::envelope`] (magic, version, lengths, SHA-256). JSON never contains a raw 0x00 byte,
/// so the split is unambiguous; without one, the whole input is the header and the payload is empty.
pub fn seal(unsealed: &[u8]) -> Vec<u8> {
    let (header, payload) = match unsealed.iter().position(|&b| b == 0) {
        Some(at) => (&unsealed[..at], &unsealed[at + 1..]),
        None => (unsealed, &[][..]),
    };
    format::envelope(header, payload)
}

/// Loads a weights file the way the browser does and, when it loads, asks it for recommendations
/// on an empty and a short history. Errors are fine; panics, hangs and runaway allocations are bugs.
pub fn exercise_model(bytes: &[u8]) {
    let Ok(engine) = Engine::load(bytes, &localrec::cpu_device(), None) else {
        return;
    };
    // Cold start gives popular items; viewing the first three makes a history the model knows.
    let Ok(popular) = engine.recommend_blocking(&[], &RecommendOptions::default()) else {
        return;
    };
    let history: Vec<Event> = popular
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, r)| Event::item(EventKind::View, r.item_id.clone(), 1.0e12 + i as f64))
        .collect();
    let _ = engine.recommend_blocking(&history, &RecommendOptions::default());
}

/// A small model with a catalogue, built once per process.
pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let config = SeqRecConfig::new(40)
        .with_d_model(16)
        .with_layers(1)
        .with_max_len(12)
        .with_query_buckets(64)
        .with_event_types(true);
    let bytes = format::random_model(&config, 7, Encoding::Int8).expect("random model");
    let catalog: HashMap<String, ItemMeta> = (1..=40)
        .map(|i| {
            let meta = ItemMeta {
                title: format!("item {i}"),
                category: ["shoes/trail", "shoes/road", "bags", "socks"][i % 4].into(),
                brand: ["north", "south", "east"][i % 3].into(),
                price: (i % 5 != 0).then_some(i as f32 * 3.5),
                in_stock: i % 7 != 0,
            };
            (format!("item-{i}"), meta)
        })
        .collect();
    Engine::load(&bytes, &localrec::cpu_device(), Some(catalog)).expect("engine")
});

/// Plays one input as the calls a page makes: each line is a `track()` event (JSON), or, after
/// `R`, `recommend()` options, or, after `O`, `pickOffers()` options. Valid events join the
/// history (bounded as in the browser); every call runs on the history so far.
pub fn exercise_calls(text: &str) {
    let engine = &*ENGINE;
    // Bounded as in the browser: the same policy, at most 50 events, no expiry.
    let policy = HistoryPolicy {
        max_events: 50,
        retention_days: 0.0,
    };
    let (mut history, _) = History::new(Vec::new(), policy, 0.0);
    for line in text.lines().take(64) {
        if let Some(rest) = line.strip_prefix('R') {
            if let Ok(opts) = serde_json::from_str::<RecommendOptions>(rest) {
                if opts.k <= 10_000 {
                    let _ = engine.recommend_blocking(history.events(), &opts);
                }
            }
        } else if let Some(rest) = line.strip_prefix('O') {
            if let Ok(opts) = serde_json::from_str::<OfferOptions>(rest) {
                let encoded = engine.encode(history.events());
                if let Ok(state) = engine.state_blocking(&encoded) {
                    let state = state.as_ref().map(|(s, a)| (s.as_slice(), a.as_slice()));
                    let _ = engine.pick_offers(&encoded, state, &opts);
                }
            }
        } else if let Ok(event) = serde_json::from_str::<Event>(line) {
            if let Ok(event) = engine.validate(event) {
                history.push(event, 0.0);
            }
        }
    }
}
