//! localrec: on-device personalisation for web shops.
//!
//! A compact sequence Transformer ([`model::SeqRec`]) reads a shopper's own events and ranks the
//! catalogue. The same model code runs in the native trainer (feature `train`) and, compiled to
//! WebAssembly, in the shopper's browser (module `web`).

pub mod catalog;
pub mod error;
pub mod event;
pub mod format;
pub mod model;
pub mod runtime;
pub(crate) mod vector;

#[cfg(feature = "train")]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

/// The crate version, as reported to JS.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The CPU device: burn-flex, burn 0.22's recommended CPU backend (burn-ndarray is deprecated
/// there). In the browser's CPU bundle (both built with SIMD) it ran the Beauty model's forward
/// (2 blocks) in 0.415 ms against 0.86 ms with burn-ndarray at 50 events, 0.31 against 0.435 ms
/// at 10 (p50, two benchmark runs minutes apart; README "burn-flex").
pub fn cpu_device() -> burn::prelude::Device {
    burn::prelude::Device::flex()
}
