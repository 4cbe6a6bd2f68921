//! The browser runtime, free of JS types so it tests natively: a loaded model ([`Engine`]) and
//! everything that turns its answer into what the page shows.
//!
//! - [`engine`]: loading a weights file, checking events, encoding a history, scoring.
//! - [`recommend`]: top-k with exclusions, filters and diversity.
//! - [`filter`], [`offers`], [`reasons`]: catalogue filters, offer ranking, explanations.
//! - [`history`]: the on-device history's cap and retention.
//! - [`options`]: what the JS methods take and return.
//! - [`rank`]: top-k on plain slices.

pub mod engine;
pub mod filter;
pub mod history;
pub mod offers;
pub mod options;
pub mod rank;
pub mod reasons;
pub mod recommend;

pub use engine::{Encoded, Engine};
pub use history::{History, HistoryPolicy};
pub use offers::RankedOffer;
pub use options::{
    Filter, ModelInfo, OfferOptions, OfferPick, Reason, RecommendOptions, Recommendation,
};
pub use recommend::RankTimings;
