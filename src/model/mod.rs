//! The model: a compact sequence Transformer and everything it reads.
//!
//! - [`config`]: the architecture ([`SeqRecConfig`]), its bounds and the one table of
//!   parameter names and shapes.
//! - [`features`]: the one function that turns an event into model input ([`Features::step`]),
//!   shared by the browser, the trainer and `localrec eval`.
//! - [`batch`]: histories of [`Step`]s left-padded into a [`SeqBatch`].
//! - [`seqrec`]: the Transformer ([`SeqRec`]): one [`SeqRec::encode`] for training and inference,
//!   and its blocks on the host for events appended to cached keys and values ([`HostBlocks`]).
//! - [`vocab`]: shop item ids and the embedding rows behind them.
//! - [`weights`]: named f32 tensors outside burn, and [`floats`] to read one out of burn.
//!
//! Scoring the catalogue and top-k live in [`crate::runtime`].

pub mod batch;
pub mod config;
pub mod features;
pub mod seqrec;
pub mod vocab;
pub mod weights;

pub use batch::{SeqBatch, Step};
pub use config::{BlockLayout, ParamSpec, Positions, SeqRecConfig};
pub use features::Features;
pub use seqrec::{Appended, Block, HostBlocks, HostKeys, KvCache, SeqRec};
pub use weights::{WeightTensor, Weights, floats, floats_shared};
