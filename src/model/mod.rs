//! The sequence Transformer (SASRec-style, pre-LayerNorm) shared by the trainer and the browser.
//!
//! One [`SeqRec::encode`] serves training and inference: it turns a batch of event histories into
//! one hidden state per position. Scoring the catalogue and top-k live elsewhere
//! (`score_items`, [`crate::runtime::rank`]).

use std::collections::BTreeMap;

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{gelu, softmax};

use crate::error::{Error, Result};
use crate::event::{EVENT_TYPES, EventKind};
use vocab::left_pad;

pub mod vocab;

/// Architecture of the model. It travels inside the weights file, and builds the module.
#[derive(Config, Debug)]
pub struct SeqRecConfig {
    /// Number of items in the catalogue (the embedding table has one more row, for padding).
    pub n_items: usize,
    /// Width of every embedding and hidden state.
    #[config(default = 64)]
    pub d_model: usize,
    /// Transformer blocks.
    #[config(default = 2)]
    pub layers: usize,
    /// Attention heads (must divide `d_model`).
    #[config(default = 1)]
    pub heads: usize,
    /// Longest history the model reads; older events are dropped.
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on embeddings, attention output and feed-forward output while training.
    #[config(default = 0.3)]
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
    /// Whether the event type (view, cart, purchase, search) is an input feature.
    #[config(default = true)]
    pub event_types: bool,
}

impl SeqRecConfig {
    /// Checks the numbers fit together.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.n_items == 0 {
            return bad("the catalogue is empty".into());
        }
        if self.d_model == 0 || self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return bad(format!(
                "d_model {} must be a positive multiple of heads {}",
                self.d_model, self.heads
            ));
        }
        if self.max_len == 0 || self.layers == 0 {
            return bad("max_len and layers must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        Ok(())
    }

    /// Every parameter's name and shape, in a fixed order. The weights file must match it exactly.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let d = self.d_model;
        let mut out = vec![
            ("item_emb".to_owned(), vec![self.n_items + 1, d]),
            ("pos_emb".to_owned(), vec![self.max_len, d]),
        ];
        if self.event_types {
            out.push(("event_emb".into(), vec![EVENT_TYPES, d]));
        }
        if self.query_buckets > 0 {
            out.push(("query_emb".into(), vec![self.query_buckets + 1, d]));
        }
        if self.n_attributes > 0 {
            out.push(("attr_emb".into(), vec![self.n_attributes + 1, d]));
        }
        for l in 0..self.layers {
            for (name, shape) in [
                ("ln1.gamma", vec![d]),
                ("ln1.beta", vec![d]),
                ("wqkv", vec![d, 3 * d]),
                ("bqkv", vec![3 * d]),
                ("wo", vec![d, d]),
                ("bo", vec![d]),
                ("ln2.gamma", vec![d]),
                ("ln2.beta", vec![d]),
                ("w1", vec![d, d]),
                ("b1", vec![d]),
                ("w2", vec![d, d]),
                ("b2", vec![d]),
            ] {
                out.push((format!("blocks.{l}.{name}"), shape));
            }
        }
        out.push(("ln_final.gamma".into(), vec![d]));
        out.push(("ln_final.beta".into(), vec![d]));
        out
    }

    /// A model with freshly initialised weights (seed the device first for reproducibility).
    pub fn init(&self, device: &Device) -> Result<SeqRec> {
        self.validate()?;
        SeqRec::build(self, device, |name, shape| {
            let as2 = as_matrix(shape);
            let dist = if name.ends_with("gamma") {
                return Ok(Tensor::ones(as2, device));
            } else if shape.len() == 1 {
                return Ok(Tensor::zeros(as2, device));
            } else if name.ends_with("_emb") {
                // Xavier-normal, as RecTools' SASRec: the item table starts small (std 0.013 at
                // 12,101 x 64), so position and attribute embeddings lead at first. On Beauty it
                // reached validation NDCG@10 0.057 in 14 epochs instead of 24 with N(0, 1/d).
                Distribution::Normal(0.0, (2.0 / (shape[0] + shape[1]) as f64).sqrt())
            } else {
                let bound = (6.0 / (shape[0] + shape[1]) as f64).sqrt();
                Distribution::Uniform(-bound, bound)
            };
            Ok(Tensor::random(as2, dist, device))
        })
    }

    /// A model from named f32 weights, checked against [`Self::param_shapes`].
    pub fn init_with(&self, device: &Device, weights: &Weights) -> Result<SeqRec> {
        self.validate()?;
        let expected = self.param_shapes();
        if weights.len() != expected.len() {
            let extra: Vec<&String> = weights
                .keys()
                .filter(|k| !expected.iter().any(|(n, _)| n == *k))
                .collect();
            return Err(Error::ModelCorrupt(format!(
                "expected {} tensors for this architecture, found {} (unexpected: {extra:?})",
                expected.len(),
                weights.len()
            )));
        }
        SeqRec::build(self, device, |name, shape| {
            let w = weights
                .get(name)
                .ok_or_else(|| Error::ModelCorrupt(format!("tensor {name} is missing")))?;
            if w.shape != shape || w.values.len() != shape.iter().product::<usize>() {
                return Err(Error::ModelCorrupt(format!(
                    "tensor {name} has shape {:?} ({} values), the config expects {shape:?}",
                    w.shape,
                    w.values.len()
                )));
            }
            Ok(Tensor::from_data(
                TensorData::new(w.values.clone(), as_matrix(shape)),
                device,
            ))
        })
    }
}

/// The 2-D shape a parameter is made in: vectors become `[1, n]`.
fn as_matrix(shape: &[usize]) -> [usize; 2] {
    match shape {
        [n] => [1, *n],
        [r, c] => [*r, *c],
        _ => [1, shape.iter().product()],
    }
}

/// A named f32 tensor outside burn: what the weights file holds after dequantisation.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// All weights of a model by parameter name.
pub type Weights = BTreeMap<String, WeightTensor>;

/// Named tensors being handed to a model's fields.
struct Tensors(BTreeMap<String, Tensor<2>>);

impl Tensors {
    fn take(&mut self, name: &str) -> Result<Tensor<2>> {
        self.0
            .remove(name)
            .ok_or_else(|| Error::ModelCorrupt(format!("tensor {name} is missing")))
    }

    fn matrix(&mut self, name: &str) -> Result<Param<Tensor<2>>> {
        Ok(Param::from_tensor(self.take(name)?))
    }

    fn vector(&mut self, name: &str) -> Result<Param<Tensor<1>>> {
        let t = self.take(name)?;
        let n = t.dims().iter().product::<usize>();
        Ok(Param::from_tensor(t.reshape([n])))
    }

    fn layer_norm(&mut self, prefix: &str, d: usize, device: &Device) -> Result<LayerNorm> {
        let mut norm = LayerNormConfig::new(d).init(device);
        norm.gamma = self.vector(&format!("{prefix}.gamma"))?;
        norm.beta = Some(self.vector(&format!("{prefix}.beta"))?);
        Ok(norm)
    }
}

/// One pre-LayerNorm Transformer block with causal self-attention.
#[derive(Module, Debug)]
pub struct Block {
    ln1: LayerNorm,
    wqkv: Param<Tensor<2>>,
    bqkv: Param<Tensor<1>>,
    wo: Param<Tensor<2>>,
    bo: Param<Tensor<1>>,
    ln2: LayerNorm,
    w1: Param<Tensor<2>>,
    b1: Param<Tensor<1>>,
    w2: Param<Tensor<2>>,
    b2: Param<Tensor<1>>,
}

/// The sequence recommender. Build it with [`SeqRecConfig::init`] or [`SeqRecConfig::init_with`].
#[derive(Module, Debug)]
pub struct SeqRec {
    item_emb: Param<Tensor<2>>,
    pos_emb: Param<Tensor<2>>,
    event_emb: Option<Param<Tensor<2>>>,
    query_emb: Option<Param<Tensor<2>>>,
    attr_emb: Option<Param<Tensor<2>>>,
    blocks: Vec<Block>,
    ln_final: LayerNorm,
    dropout: Dropout,
    d_model: usize,
    heads: usize,
}

/// One event as the model reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// Item row (0 for a search without an item).
    pub item: u32,
    /// Event-type row (`EventKind::row`).
    pub kind: u32,
    /// Hashed query-token rows (empty unless a search).
    pub query: Vec<u32>,
}

impl Step {
    /// An item event.
    pub fn item(item: u32, kind: EventKind) -> Self {
        Self {
            item,
            kind: kind.row(),
            query: Vec::new(),
        }
    }
}

/// Host-side inputs for a batch: every history left-padded to the same length.
#[derive(Debug, Clone)]
pub struct SeqBatch {
    pub batch: usize,
    pub len: usize,
    items: Vec<i64>,
    kinds: Vec<i64>,
    valid: Vec<f32>,
    query: Vec<i64>,
    query_w: Vec<f32>,
    attrs: Vec<i64>,
    attrs_w: Vec<f32>,
}

impl SeqBatch {
    /// Truncates each history to its newest `config.max_len` events and left-pads all of them to
    /// the longest one in the batch. Positions are counted from the newest event, so the padding
    /// length never changes a result (tests/model.rs checks this); short histories stay cheap.
    /// `item_attrs[row]` lists an item's attribute ids (1-based) when the model reads attributes.
    pub fn new(config: &SeqRecConfig, histories: &[&[Step]], item_attrs: &[Vec<u32>]) -> Self {
        let len = histories
            .iter()
            .map(|h| h.len().min(config.max_len))
            .max()
            .unwrap_or(0)
            .max(1);
        let q = if config.query_buckets > 0 {
            config.max_query_tokens
        } else {
            0
        };
        let a = if config.n_attributes > 0 {
            config.max_attributes
        } else {
            0
        };
        let n = histories.len() * len;
        let mut b = SeqBatch {
            batch: histories.len(),
            len,
            items: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            valid: Vec::with_capacity(n),
            query: vec![0; n * q],
            query_w: vec![0.0; n * q],
            attrs: vec![0; n * a],
            attrs_w: vec![0.0; n * a],
        };
        let empty = Step::default();
        for history in histories {
            let refs: Vec<&Step> = history.iter().collect();
            for step in left_pad(&refs, len, &empty) {
                let pos = b.items.len();
                b.items.push(step.item as i64);
                b.kinds.push(step.kind as i64);
                b.valid.push(if step.kind == 0 { 0.0 } else { 1.0 });
                fill_bag(
                    &mut b.query[pos * q..(pos + 1) * q],
                    &mut b.query_w[pos * q..(pos + 1) * q],
                    &step.query,
                );
                if a > 0 {
                    let attrs = item_attrs
                        .get(step.item as usize)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    fill_bag(
                        &mut b.attrs[pos * a..(pos + 1) * a],
                        &mut b.attrs_w[pos * a..(pos + 1) * a],
                        attrs,
                    );
                }
            }
        }
        b
    }
}

/// Writes up to `ids.len()` ids and equal weights summing to one (a mean) into the slots.
fn fill_bag(slots: &mut [i64], weights: &mut [f32], ids: &[u32]) {
    let n = ids.len().min(slots.len());
    for i in 0..n {
        slots[i] = ids[i] as i64;
        weights[i] = 1.0 / n as f32;
    }
}

impl SeqRec {
    fn build(
        config: &SeqRecConfig,
        device: &Device,
        mut make: impl FnMut(&str, &[usize]) -> Result<Tensor<2>>,
    ) -> Result<Self> {
        // Every parameter is made as a 2-D tensor ([1, n] for vectors) in the order of
        // `param_shapes`, then handed to its field.
        let mut t = Tensors(BTreeMap::new());
        for (name, shape) in config.param_shapes() {
            let made = make(&name, &shape)?;
            t.0.insert(name, made);
        }
        let d = config.d_model;
        let mut blocks = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let p = format!("blocks.{l}");
            blocks.push(Block {
                ln1: t.layer_norm(&format!("{p}.ln1"), d, device)?,
                wqkv: t.matrix(&format!("{p}.wqkv"))?,
                bqkv: t.vector(&format!("{p}.bqkv"))?,
                wo: t.matrix(&format!("{p}.wo"))?,
                bo: t.vector(&format!("{p}.bo"))?,
                ln2: t.layer_norm(&format!("{p}.ln2"), d, device)?,
                w1: t.matrix(&format!("{p}.w1"))?,
                b1: t.vector(&format!("{p}.b1"))?,
                w2: t.matrix(&format!("{p}.w2"))?,
                b2: t.vector(&format!("{p}.b2"))?,
            });
        }
        Ok(SeqRec {
            item_emb: t.matrix("item_emb")?,
            pos_emb: t.matrix("pos_emb")?,
            event_emb: if config.event_types {
                Some(t.matrix("event_emb")?)
            } else {
                None
            },
            query_emb: if config.query_buckets > 0 {
                Some(t.matrix("query_emb")?)
            } else {
                None
            },
            attr_emb: if config.n_attributes > 0 {
                Some(t.matrix("attr_emb")?)
            } else {
                None
            },
            blocks,
            ln_final: t.layer_norm("ln_final", d, device)?,
            dropout: DropoutConfig::new(config.dropout).init(),
            d_model: d,
            heads: config.heads,
        })
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.item_emb.val().device()
    }

    /// Hidden state for every position: `[batch, len, d_model]`. Position `len - 1` is the newest
    /// event; it summarises the whole history and is what inference scores with.
    pub fn encode(&self, batch: &SeqBatch) -> Tensor<3> {
        self.encode_with_attention(batch).0
    }

    /// Like [`Self::encode`], also returning the last block's attention of the newest position over
    /// the history, averaged over heads: `[batch, len]` (the "why" behind a recommendation).
    pub fn encode_with_attention(&self, batch: &SeqBatch) -> (Tensor<3>, Tensor<2>) {
        let device = self.device();
        let (b, l, d) = (batch.batch, batch.len, self.d_model);
        let ints = |v: &[i64], n: usize| {
            Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [n]), &device)
        };
        let mut x = self
            .item_emb
            .val()
            .select(0, ints(&batch.items, b * l))
            .reshape([b, l, d])
            .mul_scalar((d as f64).sqrt());
        let pos = self
            .pos_emb
            .val()
            .narrow(0, self.pos_emb.val().dims()[0] - l, l);
        x = x + pos.unsqueeze_dim::<3>(0);
        if let Some(emb) = &self.event_emb {
            x = x + emb
                .val()
                .select(0, ints(&batch.kinds, b * l))
                .reshape([b, l, d]);
        }
        let bag = |emb: &Param<Tensor<2>>, ids: &[i64], w: &[f32]| -> Tensor<3> {
            let k = ids.len() / (b * l);
            let e = emb
                .val()
                .select(0, ints(ids, ids.len()))
                .reshape([b, l, k, d]);
            let w = Tensor::<1>::from_data(TensorData::new(w.to_vec(), [w.len()]), &device)
                .reshape([b, l, k, 1]);
            (e * w).sum_dim(2).reshape([b, l, d])
        };
        if let Some(emb) = &self.query_emb {
            x = x + bag(emb, &batch.query, &batch.query_w);
        }
        if let Some(emb) = &self.attr_emb {
            x = x + bag(emb, &batch.attrs, &batch.attrs_w);
        }
        let valid = Tensor::<1>::from_data(TensorData::new(batch.valid.clone(), [b * l]), &device);
        x = self.dropout.forward(x) * valid.clone().reshape([b, l, 1]);

        // Additive mask [b, 1, l, l]: a query sees earlier non-padding keys and always itself
        // (so padding rows attend only to themselves and nothing leaks backwards in time).
        let mut mask = Vec::with_capacity(b * l * l);
        for s in 0..b {
            let row_valid = &batch.valid[s * l..(s + 1) * l];
            for qi in 0..l {
                for (ki, &valid) in row_valid.iter().enumerate() {
                    mask.push(if ki == qi || (ki < qi && valid > 0.0) {
                        0.0f32
                    } else {
                        -1e9
                    });
                }
            }
        }
        let mask = Tensor::<1>::from_data(TensorData::new(mask, [b * l * l]), &device)
            .reshape([b, 1, l, l]);

        let mut x2 = x.reshape([b * l, d]);
        let mut last_attention = None;
        for block in &self.blocks {
            let (y, att) = block.forward(x2, mask.clone(), b, l, self.heads, &self.dropout);
            x2 = y;
            last_attention = Some(att);
        }
        let out = self.ln_final.forward(x2).reshape([b, l, d]);
        let att = match last_attention {
            Some(att) => att.narrow(2, l - 1, 1).mean_dim(1).reshape([b, l]),
            None => Tensor::zeros([b, l], &device),
        };
        (out, att)
    }

    /// The newest position's hidden state: `[batch, d_model]`.
    pub fn user_state(&self, batch: &SeqBatch) -> Tensor<2> {
        let (b, l) = (batch.batch, batch.len);
        self.encode(batch)
            .narrow(1, l - 1, 1)
            .reshape([b, self.d_model])
    }

    /// Scores of every catalogue row (row 0 is padding) for each user state: `[batch, n_items + 1]`.
    pub fn score_items(&self, states: Tensor<2>) -> Tensor<2> {
        states.matmul(self.item_emb.val().transpose())
    }

    /// The item embedding table `[n_items + 1, d_model]` (tied input/output embeddings).
    pub fn item_embeddings(&self) -> Tensor<2> {
        self.item_emb.val()
    }

    /// The item table as the training loss scores against: with dropout while training (a
    /// regulariser on the output side of the tied embeddings), unchanged otherwise.
    pub fn output_embeddings(&self) -> Tensor<2> {
        self.dropout.forward(self.item_emb.val())
    }

    /// All weights as plain f32, by name (blocking readback: native or CPU only).
    pub fn to_weights(&self) -> Result<Weights> {
        let mut out = Weights::new();
        let mut put = |name: String, data: TensorData| -> Result<()> {
            let shape = data.shape().as_slice().to_vec();
            let values = data
                .try_to_vec::<f32>()
                .map_err(|e| Error::Compute(format!("{e:?}")))?;
            out.insert(name, WeightTensor { shape, values });
            Ok(())
        };
        let read2 = |p: &Param<Tensor<2>>| {
            p.val()
                .try_into_data()
                .map_err(|e| Error::Compute(format!("{e:?}")))
        };
        let read1 = |p: &Param<Tensor<1>>| {
            p.val()
                .try_into_data()
                .map_err(|e| Error::Compute(format!("{e:?}")))
        };
        put("item_emb".into(), read2(&self.item_emb)?)?;
        put("pos_emb".into(), read2(&self.pos_emb)?)?;
        for (name, p) in [
            ("event_emb", &self.event_emb),
            ("query_emb", &self.query_emb),
            ("attr_emb", &self.attr_emb),
        ] {
            if let Some(p) = p {
                put(name.into(), read2(p)?)?;
            }
        }
        let put_ln = |put: &mut dyn FnMut(String, TensorData) -> Result<()>,
                      prefix: String,
                      ln: &LayerNorm|
         -> Result<()> {
            put(format!("{prefix}.gamma"), read1(&ln.gamma)?)?;
            if let Some(beta) = &ln.beta {
                put(format!("{prefix}.beta"), read1(beta)?)?;
            }
            Ok(())
        };
        for (l, blk) in self.blocks.iter().enumerate() {
            let p = format!("blocks.{l}");
            put_ln(&mut put, format!("{p}.ln1"), &blk.ln1)?;
            put(format!("{p}.wqkv"), read2(&blk.wqkv)?)?;
            put(format!("{p}.bqkv"), read1(&blk.bqkv)?)?;
            put(format!("{p}.wo"), read2(&blk.wo)?)?;
            put(format!("{p}.bo"), read1(&blk.bo)?)?;
            put_ln(&mut put, format!("{p}.ln2"), &blk.ln2)?;
            put(format!("{p}.w1"), read2(&blk.w1)?)?;
            put(format!("{p}.b1"), read1(&blk.b1)?)?;
            put(format!("{p}.w2"), read2(&blk.w2)?)?;
            put(format!("{p}.b2"), read1(&blk.b2)?)?;
        }
        put_ln(&mut put, "ln_final".into(), &self.ln_final)?;
        Ok(out)
    }
}

impl Block {
    fn forward(
        &self,
        x: Tensor<2>,
        mask: Tensor<4>,
        b: usize,
        l: usize,
        heads: usize,
        dropout: &Dropout,
    ) -> (Tensor<2>, Tensor<4>) {
        let d = x.dims()[1];
        let dh = d / heads;
        let h = self.ln1.forward(x.clone());
        let qkv = h.matmul(self.wqkv.val()) + self.bqkv.val().unsqueeze_dim::<2>(0);
        let split = |i: usize| {
            qkv.clone()
                .narrow(1, i * d, d)
                .reshape([b, l, heads, dh])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (split(0), split(1), split(2));
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (dh as f64).sqrt())
            + mask;
        let att = softmax(scores, 3);
        // Dropout (training only) on the attention weights, the attention output, inside the
        // feed-forward and on its output.
        let o = dropout
            .forward(att.clone())
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b * l, d]);
        let o = o.matmul(self.wo.val()) + self.bo.val().unsqueeze_dim::<2>(0);
        let x = x + dropout.forward(o);
        let h = self.ln2.forward(x.clone());
        let f = dropout.forward(gelu(
            h.matmul(self.w1.val()) + self.b1.val().unsqueeze_dim::<2>(0),
        ));
        let f = f.matmul(self.w2.val()) + self.b2.val().unsqueeze_dim::<2>(0);
        (x + dropout.forward(f), att)
    }
}
