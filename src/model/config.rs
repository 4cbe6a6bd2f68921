//! The architecture: [`SeqRecConfig`], its bounds, and the one table of parameter names and
//! shapes that the model, the weights file and the trainer all read.

use burn::prelude::*;

use crate::error::{Error, Result};
use crate::event::EVENT_TYPES;

use super::features::Features;
use super::weights::{WeightTensor, Weights};

/// Largest catalogue a model may have.
pub const MAX_ITEMS: usize = 20_000_000;
/// Largest width of the embeddings and hidden states.
pub const MAX_D_MODEL: usize = 1024;
/// Most Transformer blocks.
pub const MAX_LAYERS: usize = 16;
/// Most attention heads.
pub const MAX_HEADS: usize = 64;
/// Longest history a model may read.
pub const MAX_HISTORY: usize = 2048;
/// Most hash buckets for query tokens.
pub const MAX_QUERY_BUCKETS: usize = 1 << 22;
/// Most query tokens read per search.
pub const MAX_QUERY_TOKENS: usize = 64;
/// Most distinct item attributes.
pub const MAX_ATTRIBUTES: usize = 20_000_000;
/// Most attributes read per item.
pub const MAX_ITEM_ATTRIBUTES: usize = 256;

/// Architecture of the model. It travels inside the weights file, and builds the module. Its
/// defaults are the trainer's (`localrec train` reads them from here).
#[derive(Config, Debug)]
pub struct SeqRecConfig {
    /// Number of items in the catalogue (the embedding table has one more row, for padding).
    pub n_items: usize,
    /// Width of every embedding and hidden state.
    #[config(default = 64)]
    pub d_model: usize,
    /// Transformer blocks. Two, as the published SASRec recipes: on Beauty (pre-norm, dropout
    /// 0.5, full cross-entropy) validation NDCG@10 peaked at 0.0627 against 0.0613 with one block
    /// (test int8 0.0499 against 0.0491), for 17% more time per epoch (18.8 s against 16.1 s
    /// over the first 8 epochs).
    #[config(default = 2)]
    pub layers: usize,
    /// Attention heads (must divide `d_model`).
    #[config(default = 1)]
    pub heads: usize,
    /// Longest history the model reads; older events are dropped.
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on embeddings, attention weights and inside and after the feed-forward (and on
    /// the attention output in the pre-norm layout); training only. 0.6, the published SASRec
    /// recipe's rate at d 64, part of that recipe with batch 512 and learning rate 5e-4
    /// ([`crate::train::TrainOptions`]): on Beauty (sasrec layout, batches of similar-length
    /// histories) the recipe as a whole tested at int8 NDCG@10 0.0530 against 0.0510 for dropout
    /// 0.5, batch 128, lr 1e-3 (its effect alone was not measured); with random batches and
    /// patience 20, the defaults now, it tests at 0.0602. With the pre-norm layout and the old recipe 0.6 was
    /// worse than 0.5 (0.0467 against 0.0499).
    #[config(default = 0.6)]
    pub dropout: f64,
    /// Hash buckets for search-query tokens (0 disables query features).
    #[config(default = 0)]
    pub query_buckets: usize,
    /// Query tokens read per search event.
    #[config(default = 6)]
    pub max_query_tokens: usize,
    /// Distinct item attributes, e.g. brand and category ids (0 disables attribute features).
    #[config(default = 0)]
    pub n_attributes: usize,
    /// Attributes read per item.
    #[config(default = 8)]
    pub max_attributes: usize,
    /// Whether the event type (view, cart, purchase, search; a category visit reads as a search)
    /// is an input feature.
    #[config(default = true)]
    pub event_types: bool,
    /// How a block arranges its LayerNorms and residuals (same parameters either way): SASRec's,
    /// the published recipe's, by default. On Beauty with the old recipe (batch 128, lr 1e-3,
    /// dropout 0.5, Adam epsilon 1e-5) the two tested level: int8 NDCG@10 / HR@10 0.0498 / 0.0832
    /// (sasrec) against 0.0499 / 0.0820 (pre-norm); with the published recipe sasrec tested at
    /// 0.0530 / 0.0882 with batches of similar-length histories and 0.0599 / 0.0996 with random
    /// ones (patience 10; 0.0602 / 0.0990 with patience 20) (pre-norm was not run to the end with it). Files written before this field existed
    /// are `pre_norm`.
    #[config(default = "BlockLayout::Sasrec")]
    pub layout: BlockLayout,
    /// How the model knows where an event sits. By default no position enters the input: each
    /// block adds a learned bias to its attention scores by distance (HSTU's relative bias), so
    /// appending an event changes no earlier position's keys and values, and the browser computes
    /// only the new event ([`super::SeqRec::encode_appended`]; its window moves in steps,
    /// [`Self::window_start`]). Or a learned table added to each event's input, its rows counted
    /// back from the newest event (every file written before this field existed, and the default
    /// until format version 6) or forward from the oldest one in the window. Test NDCG@10 of the
    /// relative bias against counted from the newest, same recipe and seed: Beauty -0.4%,
    /// the demo shop -0.45% (HR@10 -1.1%); counted from the oldest lost 0.5% and 3.6%. Files
    /// counting from the oldest are format version 3, with a relative bias version 6.
    #[config(default = "Positions::Relative")]
    pub positions: Positions,
}

/// How events are numbered for the position table ([`SeqRecConfig::positions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positions {
    /// The newest event reads the last row, the one before it the row before, and so on.
    FromNewest,
    /// The oldest event in the window reads row 0, the next row 1, and so on.
    FromOldest,
    /// Nothing is added to the input; each block adds a learned bias to every attention score
    /// by how many events older the key is than the query (0 to `max_len - 1`), one per head.
    /// The table is `pos_bias`, `[max_len, layers * heads]`: column `block * heads + head`.
    Relative,
}

/// The arrangement of a Transformer block. Both have the same parameters (the weights file does
/// not change), only the forward differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockLayout {
    /// Pre-LayerNorm (GPT-2): `x + Attn(LN(x))`, then `x + FFN(LN(x))` with GELU; dropout on
    /// both branches' outputs.
    PreNorm,
    /// The original SASRec code's block (Kang & McAuley's, kept by the published PyTorch
    /// ports): only the queries are normalised (keys and values read the raw stream),
    /// `x + Attn(LN(x), x)` without dropout on the attention output, then `LN(x) + FFN(LN(x))`
    /// with ReLU, so each block's output is re-centred on a normalised stream.
    Sasrec,
}

impl Positions {
    /// Whether an event appended to a history leaves every earlier position's keys and values
    /// as they were (counted from the oldest event, or a relative bias), so they can be cached.
    pub fn caches_keys(self) -> bool {
        matches!(self, Positions::FromOldest | Positions::Relative)
    }
}

/// The shape of a parameter in units of `d_model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dims {
    D,
    ThreeD,
    DByD,
    DBy3D,
}

/// A parameter of a Transformer block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BlockParam {
    Ln1Gamma,
    Ln1Beta,
    Wqkv,
    Bqkv,
    Wo,
    Bo,
    Ln2Gamma,
    Ln2Beta,
    W1,
    B1,
    W2,
    B2,
}

/// The parameters of one block: name (after `blocks.{l}.`), which field, shape. With the
/// embeddings and the final LayerNorm in [`SeqRecConfig::params`], this is the only place the
/// names are written: the model, the weights file and `to_weights` all read them from here.
const BLOCK_PARAMS: [(&str, BlockParam, Dims); 12] = [
    ("ln1.gamma", BlockParam::Ln1Gamma, Dims::D),
    ("ln1.beta", BlockParam::Ln1Beta, Dims::D),
    ("wqkv", BlockParam::Wqkv, Dims::DBy3D),
    ("bqkv", BlockParam::Bqkv, Dims::ThreeD),
    ("wo", BlockParam::Wo, Dims::DByD),
    ("bo", BlockParam::Bo, Dims::D),
    ("ln2.gamma", BlockParam::Ln2Gamma, Dims::D),
    ("ln2.beta", BlockParam::Ln2Beta, Dims::D),
    ("w1", BlockParam::W1, Dims::DByD),
    ("b1", BlockParam::B1, Dims::D),
    ("w2", BlockParam::W2, Dims::DByD),
    ("b2", BlockParam::B2, Dims::D),
];

/// Which field of the model a parameter fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    ItemEmb,
    PosEmb,
    EventEmb,
    QueryEmb,
    AttrEmb,
    Block(usize, BlockParam),
    FinalGamma,
    FinalBeta,
}

/// One parameter: its name in the weights file, its shape, and the field it fills.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub(crate) slot: Slot,
}

impl ParamSpec {
    /// This parameter's tensor in `weights`, checked against its shape.
    pub(crate) fn checked_in<'a>(&self, weights: &'a Weights) -> Result<&'a WeightTensor> {
        let w = weights
            .get(&self.name)
            .ok_or_else(|| Error::ModelCorrupt(format!("tensor {} is missing", self.name)))?;
        if w.shape != self.shape || Some(w.values.len()) != self.len() {
            return Err(Error::ModelCorrupt(format!(
                "tensor {} has shape {:?} ({} values), the config expects {:?}",
                self.name,
                w.shape,
                w.values.len(),
                self.shape
            )));
        }
        Ok(w)
    }

    /// Number of values, or None if it does not fit this platform's `usize`.
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// True for a parameter with no values (never for a valid config).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl SeqRecConfig {
    /// Checks the numbers fit together and stay within bounds. A weights file's header is
    /// untrusted: every field is bounded here before any size is computed from it, and the sizes
    /// themselves are computed with checked arithmetic ([`Self::params`]).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        let bounded = |name: &str, value: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                bad(format!(
                    "{name} is {value}, it must be between {lo} and {hi}"
                ))
            }
        };
        if self.n_items == 0 {
            return bad("the catalogue is empty".into());
        }
        bounded("n_items", self.n_items, 1, MAX_ITEMS)?;
        bounded("d_model", self.d_model, 1, MAX_D_MODEL)?;
        bounded("heads", self.heads, 1, MAX_HEADS)?;
        if !self.d_model.is_multiple_of(self.heads) {
            return bad(format!(
                "d_model {} must be a positive multiple of heads {}",
                self.d_model, self.heads
            ));
        }
        bounded("layers", self.layers, 1, MAX_LAYERS)?;
        bounded("max_len", self.max_len, 1, MAX_HISTORY)?;
        bounded("query_buckets", self.query_buckets, 0, MAX_QUERY_BUCKETS)?;
        bounded(
            "max_query_tokens",
            self.max_query_tokens,
            0,
            MAX_QUERY_TOKENS,
        )?;
        bounded("n_attributes", self.n_attributes, 0, MAX_ATTRIBUTES)?;
        bounded(
            "max_attributes",
            self.max_attributes,
            0,
            MAX_ITEM_ATTRIBUTES,
        )?;
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        // Every tensor's size, and all of them together in bytes, must fit in this platform's
        // `usize` (32 bits in wasm): a large `d_model` times a large catalogue may not.
        let mut bytes = 0usize;
        for p in self.params() {
            bytes = p
                .len()
                .and_then(|n| n.checked_mul(4))
                .and_then(|n| bytes.checked_add(n))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "tensor {} {:?} is too large for this platform",
                        p.name, p.shape
                    ))
                })?;
        }
        Ok(())
    }

    /// Every parameter's name, shape and field, in the fixed order of the weights file. Call
    /// [`Self::validate`] first: the shapes of an unchecked config may be meaningless.
    pub fn params(&self) -> Vec<ParamSpec> {
        let d = self.d_model;
        let spec = |name: String, shape: Vec<usize>, slot: Slot| ParamSpec { name, shape, slot };
        let mut out = vec![
            spec(
                "item_emb".into(),
                vec![self.n_items.saturating_add(1), d],
                Slot::ItemEmb,
            ),
            match self.positions {
                Positions::Relative => spec(
                    "pos_bias".into(),
                    vec![self.max_len, self.layers.saturating_mul(self.heads)],
                    Slot::PosEmb,
                ),
                _ => spec("pos_emb".into(), vec![self.max_len, d], Slot::PosEmb),
            },
        ];
        if self.event_types {
            out.push(spec(
                "event_emb".into(),
                vec![EVENT_TYPES, d],
                Slot::EventEmb,
            ));
        }
        if self.query_buckets > 0 {
            out.push(spec(
                "query_emb".into(),
                vec![self.query_buckets.saturating_add(1), d],
                Slot::QueryEmb,
            ));
        }
        if self.n_attributes > 0 {
            out.push(spec(
                "attr_emb".into(),
                vec![self.n_attributes.saturating_add(1), d],
                Slot::AttrEmb,
            ));
        }
        for l in 0..self.layers {
            for (name, param, dims) in BLOCK_PARAMS {
                let shape = match dims {
                    Dims::D => vec![d],
                    Dims::ThreeD => vec![d.saturating_mul(3)],
                    Dims::DByD => vec![d, d],
                    Dims::DBy3D => vec![d, d.saturating_mul(3)],
                };
                out.push(spec(
                    format!("blocks.{l}.{name}"),
                    shape,
                    Slot::Block(l, param),
                ));
            }
        }
        out.push(spec("ln_final.gamma".into(), vec![d], Slot::FinalGamma));
        out.push(spec("ln_final.beta".into(), vec![d], Slot::FinalBeta));
        out
    }

    /// Every parameter's name and shape, in a fixed order. The weights file must match it exactly.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.params()
            .into_iter()
            .map(|p| (p.name, p.shape))
            .collect()
    }

    /// Where the window the model reads starts in a history of `n` readable events. Counted
    /// from the newest event or the oldest, it is the newest `max_len`. With a relative bias it
    /// moves in steps of half of `max_len`: it holds every event while they fit, then starts at
    /// the smallest multiple of the step that leaves at most `max_len`, so it holds between half
    /// of `max_len` (plus one) and `max_len` events, and an appended event extends the window
    /// (whose earlier keys and values are then reused) except once every step, when the window
    /// moves on. Training sees such windows too: a position of a training window reads every
    /// event before it in the window, anywhere from none to `max_len - 1`. The browser and the
    /// trainer's evaluation both read this.
    pub fn window_start(&self, n: usize) -> usize {
        let over = n.saturating_sub(self.max_len);
        match self.positions {
            Positions::Relative if over > 0 => {
                let step = (self.max_len / 2).max(1);
                over.div_ceil(step) * step
            }
            _ => over,
        }
    }

    /// How this model reads events (see [`Features::step`]).
    pub fn features(&self) -> Features {
        Features {
            query_buckets: self.query_buckets,
            max_query_tokens: self.max_query_tokens,
            event_types: self.event_types,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_bounded() {
        let ok = SeqRecConfig::new(10);
        assert!(ok.validate().is_ok());
        for (c, field) in [
            (ok.clone().with_d_model(usize::MAX), "d_model"),
            (ok.clone().with_d_model(1 << 40), "d_model"),
            (ok.clone().with_layers(10_000), "layers"),
            (
                ok.clone().with_heads(1 << 20).with_d_model(1 << 20),
                "d_model",
            ),
            (ok.clone().with_max_len(usize::MAX), "max_len"),
            (ok.clone().with_query_buckets(usize::MAX), "query_buckets"),
            (
                ok.clone().with_max_query_tokens(1 << 30),
                "max_query_tokens",
            ),
            (ok.clone().with_n_attributes(usize::MAX), "n_attributes"),
            (ok.clone().with_max_attributes(1 << 30), "max_attributes"),
            (SeqRecConfig::new(usize::MAX), "n_items"),
        ] {
            let err = c.validate().unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        assert!(ok.clone().with_dropout(f64::NAN).validate().is_err());
    }

    #[test]
    fn sizes_that_overflow_this_platform_are_refused_not_wrapped() {
        // Within every field's bound, but 20M x 1024 x 4 bytes is 80 GB: it fits a 64-bit usize
        // (and is then bounded by the file's length), never a 32-bit one.
        let big = SeqRecConfig::new(MAX_ITEMS).with_d_model(MAX_D_MODEL);
        let fits = (MAX_ITEMS + 1)
            .checked_mul(MAX_D_MODEL)
            .and_then(|n| n.checked_mul(4))
            .is_some();
        assert_eq!(big.validate().is_ok(), fits);
    }

    #[test]
    fn a_relative_window_moves_in_steps_of_half_its_length() {
        let newest = SeqRecConfig::new(10)
            .with_max_len(50)
            .with_positions(Positions::FromNewest);
        let relative = newest.clone().with_positions(Positions::Relative);
        for (n, from_newest, stepped) in [
            (0, 0, 0),
            (50, 0, 0),
            (51, 1, 25),
            (75, 25, 25),
            (76, 26, 50),
            (100, 50, 50),
            (101, 51, 75),
        ] {
            assert_eq!(newest.window_start(n), from_newest, "{n}");
            assert_eq!(relative.window_start(n), stepped, "{n}");
            let len = n - stepped;
            assert!(len <= 50 && (n <= 50 || len > 25), "{n}: {len}");
        }
        // A one-event window still moves.
        let one = relative.with_max_len(1);
        assert_eq!((one.window_start(1), one.window_start(3)), (0, 2));
    }

    #[test]
    fn names_are_unique_and_in_file_order() {
        let c = SeqRecConfig::new(5)
            .with_layers(2)
            .with_query_buckets(4)
            .with_n_attributes(3);
        let params = c.params();
        let mut names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[0], "item_emb");
        assert_eq!(names.last(), Some(&"ln_final.beta"));
        assert_eq!(params.len(), 5 + 2 * BLOCK_PARAMS.len() + 2);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), params.len());
    }
}
