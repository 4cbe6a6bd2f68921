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

#[cfg(feature = "train")]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

/// The crate version, as reported to JS.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The CPU device. The design names burn-ndarray for the CPU path; burn 0.22 marks it deprecated
/// in favour of burn-flex, so this is the one place that chooses it.
#[allow(deprecated)]
pub fn cpu_device() -> burn::prelude::Device {
    burn::prelude::Device::ndarray()
}
