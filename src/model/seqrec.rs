//! The sequence Transformer (SASRec-style, pre-LayerNorm) shared by the trainer and the browser.

use std::collections::HashMap;
use std::ops::Range;

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, relu, softmax};

use crate::error::{Error, Result};

use super::batch::SeqBatch;
use super::config::{BlockLayout, BlockParam, ParamSpec, Positions, SeqRecConfig, Slot};
use super::weights::{Weights, float_tensor, int_tensor};

mod host;
pub use host::{Appended, HostBlocks, HostKeys};

impl SeqRecConfig {
    /// A model with freshly initialised weights (seed the device first for reproducibility).
    #[cfg(feature = "train")]
    pub fn init(&self, device: &Device) -> Result<SeqRec> {
        use burn::tensor::Distribution;
        self.validate()?;
        let d = self.d_model;
        SeqRec::build(self, device, |p| {
            let shape = &p.shape;
            let as2 = as_matrix(shape);
            let dist = if p.name.ends_with("gamma") {
                return Ok(Tensor::ones(as2, device));
            } else if p.slot == Slot::PosEmb && self.positions == Positions::Relative {
                // No preference for any distance at first: attention starts as causal
                // averaging, and the bias learns how much recency matters.
                return Ok(Tensor::zeros(as2, device));
            } else if matches!(
                p.slot,
                Slot::Block(
                    _,
                    BlockParam::W1 | BlockParam::B1 | BlockParam::W2 | BlockParam::B2
                )
            ) {
                // PyTorch's default for the published SASRec's feed-forward (Conv1d, kernel 1):
                // uniform within 1/sqrt(fan_in), the biases too. On Beauty (published recipe,
                // bucketed batches) validation NDCG@10 was 0.0607 at epoch 51 against 0.0593
                // with Xavier-uniform weights and zero biases.
                let bound = 1.0 / (d as f64).sqrt();
                Distribution::Uniform(-bound, bound)
            } else if shape.len() == 1 {
                return Ok(Tensor::zeros(as2, device));
            } else if p.name.ends_with("_emb") {
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

    /// A model from named f32 weights, checked against [`Self::params`]. Without `item_emb`
    /// the model holds a one-row placeholder table and encodes only with rows given to it
    /// ([`SeqRec::encode_newest_with_items`]): the browser keeps the item table quantised on
    /// the host and gathers a history's rows from it.
    pub fn init_with(&self, device: &Device, weights: &Weights) -> Result<SeqRec> {
        self.validate()?;
        let expected = self.params();
        let without_items = !weights.contains_key("item_emb");
        if weights.len() + usize::from(without_items) != expected.len() {
            let extra: Vec<&String> = weights
                .keys()
                .filter(|k| !expected.iter().any(|p| &p.name == *k))
                .collect();
            return Err(Error::ModelCorrupt(format!(
                "expected {} tensors for this architecture, found {} (unexpected: {extra:?})",
                expected.len(),
                weights.len()
            )));
        }
        SeqRec::build(self, device, |p| {
            if p.slot == Slot::ItemEmb && without_items {
                return Ok(Tensor::zeros([1, self.d_model], device));
            }
            let w = p.checked_in(weights)?;
            Ok(float_tensor(w.values.clone(), as_matrix(&p.shape), device))
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

/// Tensors made for each field, handed out as the model is assembled.
struct Made(HashMap<Slot, Tensor<2>>);

impl Made {
    fn take(&mut self, slot: Slot) -> Result<Tensor<2>> {
        self.0
            .remove(&slot)
            .ok_or_else(|| Error::ModelCorrupt(format!("no tensor for {slot:?}")))
    }

    fn matrix(&mut self, slot: Slot) -> Result<Param<Tensor<2>>> {
        Ok(Param::from_tensor(self.take(slot)?))
    }

    fn vector(&mut self, slot: Slot) -> Result<Param<Tensor<1>>> {
        let t = self.take(slot)?;
        let n = t.dims().iter().product::<usize>();
        Ok(Param::from_tensor(t.reshape([n])))
    }

    fn layer_norm(
        &mut self,
        gamma: Slot,
        beta: Slot,
        d: usize,
        device: &Device,
    ) -> Result<LayerNorm> {
        let mut norm = LayerNormConfig::new(d).init(device);
        norm.gamma = self.vector(gamma)?;
        norm.beta = Some(self.vector(beta)?);
        Ok(norm)
    }
}

/// A parameter of the model, borrowed (see [`SeqRec::param`]).
#[cfg(feature = "train")]
enum ParamRef<'a> {
    Matrix(&'a Param<Tensor<2>>),
    Vector(&'a Param<Tensor<1>>),
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
    /// The position table `[max_len, d]` added to the input, or with [`Positions::Relative`] the
    /// attention bias by distance `[max_len, layers * heads]`.
    pos_emb: Param<Tensor<2>>,
    event_emb: Option<Param<Tensor<2>>>,
    query_emb: Option<Param<Tensor<2>>>,
    attr_emb: Option<Param<Tensor<2>>>,
    blocks: Vec<Block>,
    ln_final: LayerNorm,
    dropout: Dropout,
    d_model: usize,
    heads: usize,
    #[module(skip)]
    layout: BlockLayout,
    #[module(skip)]
    positions: Positions,
}

impl SeqRec {
    fn build(
        config: &SeqRecConfig,
        device: &Device,
        mut make: impl FnMut(&ParamSpec) -> Result<Tensor<2>>,
    ) -> Result<Self> {
        // Every parameter is made as a 2-D tensor ([1, n] for vectors) in the order of the
        // table (`SeqRecConfig::params`), then handed to its field.
        let mut t = Made(HashMap::new());
        for p in config.params() {
            let made = make(&p)?;
            t.0.insert(p.slot, made);
        }
        let d = config.d_model;
        let mut blocks = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let s = |p: BlockParam| Slot::Block(l, p);
            blocks.push(Block {
                ln1: t.layer_norm(s(BlockParam::Ln1Gamma), s(BlockParam::Ln1Beta), d, device)?,
                wqkv: t.matrix(s(BlockParam::Wqkv))?,
                bqkv: t.vector(s(BlockParam::Bqkv))?,
                wo: t.matrix(s(BlockParam::Wo))?,
                bo: t.vector(s(BlockParam::Bo))?,
                ln2: t.layer_norm(s(BlockParam::Ln2Gamma), s(BlockParam::Ln2Beta), d, device)?,
                w1: t.matrix(s(BlockParam::W1))?,
                b1: t.vector(s(BlockParam::B1))?,
                w2: t.matrix(s(BlockParam::W2))?,
                b2: t.vector(s(BlockParam::B2))?,
            });
        }
        Ok(SeqRec {
            item_emb: t.matrix(Slot::ItemEmb)?,
            pos_emb: t.matrix(Slot::PosEmb)?,
            event_emb: config
                .event_types
                .then(|| t.matrix(Slot::EventEmb))
                .transpose()?,
            query_emb: (config.query_buckets > 0)
                .then(|| t.matrix(Slot::QueryEmb))
                .transpose()?,
            attr_emb: (config.n_attributes > 0)
                .then(|| t.matrix(Slot::AttrEmb))
                .transpose()?,
            blocks,
            ln_final: t.layer_norm(Slot::FinalGamma, Slot::FinalBeta, d, device)?,
            dropout: DropoutConfig::new(config.dropout).init(),
            d_model: d,
            heads: config.heads,
            layout: config.layout,
            positions: config.positions,
        })
    }

    /// The field a parameter of the table fills (None for an optional one this model lacks).
    #[cfg(feature = "train")]
    fn param(&self, slot: Slot) -> Option<ParamRef<'_>> {
        use ParamRef::{Matrix, Vector};
        Some(match slot {
            Slot::ItemEmb => Matrix(&self.item_emb),
            Slot::PosEmb => Matrix(&self.pos_emb),
            Slot::EventEmb => Matrix(self.event_emb.as_ref()?),
            Slot::QueryEmb => Matrix(self.query_emb.as_ref()?),
            Slot::AttrEmb => Matrix(self.attr_emb.as_ref()?),
            Slot::FinalGamma => Vector(&self.ln_final.gamma),
            Slot::FinalBeta => Vector(self.ln_final.beta.as_ref()?),
            Slot::Block(l, p) => {
                let b = self.blocks.get(l)?;
                match p {
                    BlockParam::Ln1Gamma => Vector(&b.ln1.gamma),
                    BlockParam::Ln1Beta => Vector(b.ln1.beta.as_ref()?),
                    BlockParam::Wqkv => Matrix(&b.wqkv),
                    BlockParam::Bqkv => Vector(&b.bqkv),
                    BlockParam::Wo => Matrix(&b.wo),
                    BlockParam::Bo => Vector(&b.bo),
                    BlockParam::Ln2Gamma => Vector(&b.ln2.gamma),
                    BlockParam::Ln2Beta => Vector(b.ln2.beta.as_ref()?),
                    BlockParam::W1 => Matrix(&b.w1),
                    BlockParam::B1 => Vector(&b.b1),
                    BlockParam::W2 => Matrix(&b.w2),
                    BlockParam::B2 => Vector(&b.b2),
                }
            }
        })
    }

    /// The architecture this model's parameters spell out (training-only fields at defaults).
    #[cfg(feature = "train")]
    fn shape_config(&self) -> SeqRecConfig {
        let rows = |p: &Param<Tensor<2>>| p.val().dims()[0];
        SeqRecConfig::new(rows(&self.item_emb) - 1)
            .with_d_model(self.d_model)
            .with_heads(self.heads)
            .with_layers(self.blocks.len())
            .with_max_len(rows(&self.pos_emb))
            .with_event_types(self.event_emb.is_some())
            .with_query_buckets(self.query_emb.as_ref().map_or(0, |p| rows(p) - 1))
            .with_n_attributes(self.attr_emb.as_ref().map_or(0, |p| rows(p) - 1))
            .with_layout(self.layout)
            .with_positions(self.positions)
    }

    /// All weights as plain f32, by name (blocking readback: native or CPU only).
    #[cfg(feature = "train")]
    pub fn to_weights(&self) -> Result<Weights> {
        use super::weights::WeightTensor;
        let mut out = Weights::new();
        fn compute(e: impl std::fmt::Debug) -> Error {
            Error::Compute(format!("{e:?}"))
        }
        for p in self.shape_config().params() {
            let data = match self.param(p.slot) {
                Some(ParamRef::Matrix(m)) => m.val().try_into_data().map_err(compute)?,
                Some(ParamRef::Vector(v)) => v.val().try_into_data().map_err(compute)?,
                None => return Err(Error::ModelCorrupt(format!("model has no {}", p.name))),
            };
            let values = data.try_to_vec::<f32>().map_err(compute)?;
            out.insert(
                p.name,
                WeightTensor {
                    shape: data.shape().as_slice().to_vec(),
                    values,
                },
            );
        }
        Ok(out)
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

    /// [`Self::encode`] with each position's item embedding given (`[batch * len, d]`, in the
    /// batch's order) instead of read from the model's table: the trainer's sparse item table
    /// ([`crate::train::lazy`]) passes the rows a step reads.
    #[cfg(feature = "train")]
    pub fn encode_with_items(&self, batch: &SeqBatch, items: Tensor<2>) -> Tensor<3> {
        let (b, l, d) = (batch.batch, batch.len, self.d_model);
        self.blocks_forward(batch, Rows::All, Some(items))
            .0
            .reshape([b, l, d])
    }

    /// [`Self::encode_newest`] with each position's item embedding given (`[batch * len, d]`,
    /// in the batch's order) instead of read from the model's table: the browser's engine
    /// gathers a history's rows from its quantised table (the same values the table would hold).
    pub fn encode_newest_with_items(
        &self,
        batch: &SeqBatch,
        items: Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>) {
        self.newest(batch, Some(items))
    }

    /// The item table, `[n_items + 1, d]` row-major (blocking readback: native or CPU only).
    #[cfg(feature = "train")]
    pub fn item_table(&self) -> Result<Vec<f32>> {
        super::floats(self.item_emb.val())
    }

    /// Replaces the item table's values (`[rows, d]` row-major), keeping the parameter. The
    /// trainer's sparse table holds the values while an epoch runs and leaves the model an empty
    /// table meanwhile (no second copy of a large catalogue's table); it puts them back before
    /// the model is read.
    #[cfg(feature = "train")]
    pub fn set_item_table(&mut self, values: Vec<f32>) -> Result<()> {
        let old = self.item_emb.val();
        let d = self.d_model;
        if !values.len().is_multiple_of(d) {
            return Err(Error::InvalidArgument(format!(
                "{} values do not make rows of {d}",
                values.len()
            )));
        }
        let shape = [values.len() / d, d];
        let device = old.device();
        let tracked = old.is_require_grad();
        drop(old);
        self.item_emb = self.item_emb.clone().map(|_| {
            let t = float_tensor(values, shape, &device);
            if tracked { t.require_grad() } else { t }
        });
        Ok(())
    }

    /// The input of the first block, `[batch, len, d]`: the sum of each event's embeddings,
    /// dropped out (training only) and zero at padding.
    /// `items`, when given, are the positions' item embeddings ([`Self::encode_with_items`]).
    fn embed(&self, batch: &SeqBatch, items: Option<Tensor<2>>) -> Tensor<3> {
        self.embed_after(batch, items, 0)
    }

    /// [`Self::embed`] for events that follow `before` earlier ones (positions counted from the
    /// oldest event start there; [`Self::encode_appended`]).
    fn embed_after(&self, batch: &SeqBatch, items: Option<Tensor<2>>, before: usize) -> Tensor<3> {
        let device = self.device();
        let (b, l, d) = (batch.batch, batch.len, self.d_model);
        let ints = |v: &[i64], n: usize| {
            debug_assert_eq!(v.len(), n);
            int_tensor(v.to_vec(), &device)
        };
        let items = match items {
            Some(rows) => rows,
            None => self.item_emb.val().select(0, ints(&batch.items, b * l)),
        };
        let mut x = items.reshape([b, l, d]).mul_scalar((d as f64).sqrt());
        x = match self.positions {
            Positions::FromNewest => {
                let pos = self
                    .pos_emb
                    .val()
                    .narrow(0, self.pos_emb.val().dims()[0] - l, l);
                x + pos.unsqueeze_dim::<3>(0)
            }
            Positions::FromOldest => {
                // Histories are left-padded: each one's oldest event is its first valid row.
                let mut rows = Vec::with_capacity(b * l);
                for valid in batch.valid.chunks(l) {
                    let mut next = before as i64;
                    rows.extend(valid.iter().map(|&v| {
                        if v > 0.0 {
                            next += 1;
                            next - 1
                        } else {
                            0
                        }
                    }));
                }
                x + self
                    .pos_emb
                    .val()
                    .select(0, ints(&rows, b * l))
                    .reshape([b, l, d])
            }
            // Attention reads the distances ([`Self::relative_bias`]).
            Positions::Relative => x,
        };
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
            let w = float_tensor(w.to_vec(), [w.len()], &device).reshape([b, l, k, 1]);
            (e * w).sum_dim(2).reshape([b, l, d])
        };
        if let Some(emb) = &self.query_emb {
            x = x + bag(emb, &batch.query, &batch.query_w);
        }
        if let Some(emb) = &self.attr_emb {
            x = x + bag(emb, &batch.attrs, &batch.attrs_w);
        }
        let valid = float_tensor(batch.valid.clone(), [b * l], &device);
        self.dropout.forward(x) * valid.reshape([b, l, 1])
    }

    /// The additive attention mask `[b, 1, queries, n]` of `b` histories of `n` positions each
    /// (`valid` flags each position, `[b * n]`): a query sees earlier valid keys and always
    /// itself (so padding rows attend only to themselves and nothing leaks backwards in time).
    fn mask(&self, valid: &[f32], b: usize, n: usize, queries: Range<usize>) -> Tensor<4> {
        let q = queries.len();
        let mut mask = Vec::with_capacity(b * q * n);
        for row_valid in valid.chunks(n) {
            for qi in queries.clone() {
                mask.extend(row_valid.iter().enumerate().map(|(ki, &valid)| {
                    if ki == qi || (ki < qi && valid > 0.0) {
                        0.0f32
                    } else {
                        -1e9
                    }
                }));
            }
        }
        float_tensor(mask, [b * q * n], &self.device()).reshape([b, 1, q, n])
    }

    /// With [`Positions::Relative`], block `block`'s bias on each attention score of the queries
    /// at positions `queries` over keys `0..n`, `[1, heads, queries, n]`: the table's entry for
    /// how many events the key precedes the query (keys after the query are masked out; they
    /// read distance 0). Left padding moves no distance, so a history's result does not depend
    /// on the batch it is in.
    fn relative_bias(&self, block: usize, queries: Range<usize>, n: usize) -> Option<Tensor<4>> {
        if self.positions != Positions::Relative {
            return None;
        }
        let h = self.heads;
        let table = self.pos_emb.val().narrow(1, block * h, h).transpose();
        let q = queries.len();
        let distance: Vec<i64> = queries
            .flat_map(|qi| (0..n).map(move |k| qi.saturating_sub(k) as i64))
            .collect();
        let bias = table.select(1, int_tensor(distance, &self.device()));
        Some(bias.reshape([1, h, q, n]))
    }

    /// Like [`Self::encode`], also returning the last block's attention of the newest position over
    /// the history, averaged over heads: `[batch, len]` (the "why" behind a recommendation).
    pub fn encode_with_attention(&self, batch: &SeqBatch) -> (Tensor<3>, Tensor<2>) {
        let (b, l, d) = (batch.batch, batch.len, self.d_model);
        let (out, att) = self.blocks_forward(batch, Rows::All, None);
        let att = att.narrow(2, l - 1, 1).mean_dim(1).reshape([b, l]);
        (out.reshape([b, l, d]), att)
    }

    /// What `recommend()` reads, computed as the inference path does: the newest position's
    /// hidden state `[batch, d]` and the last block's attention from it, averaged over heads
    /// `[batch, len]`. Every position goes through the lower blocks (the last block's keys and
    /// values need them), only the newest through the last block: the same result as the newest
    /// row of [`Self::encode_with_attention`] (tests hold them within 1e-5) for a fraction of the
    /// last block's work.
    pub fn encode_newest(&self, batch: &SeqBatch) -> (Tensor<2>, Tensor<2>) {
        self.newest(batch, None)
    }

    fn newest(&self, batch: &SeqBatch, items: Option<Tensor<2>>) -> (Tensor<2>, Tensor<2>) {
        let (b, l) = (batch.batch, batch.len);
        let (out, att) = self.blocks_forward(batch, Rows::Newest, items);
        (out, att.mean_dim(1).reshape([b, l]))
    }

    /// Whether an event appended to a history leaves every earlier position's keys and values
    /// as they were (positions counted from the oldest event, or a relative bias), so
    /// [`Self::encode_appended`] can reuse them while the history fits `max_len`.
    pub fn caches_keys(&self) -> bool {
        self.positions.caches_keys()
    }

    /// [`Self::encode_newest_with_items`] for one history (`batch` holds one unpadded history,
    /// `items` its item rows, when given), read as the events that follow `past`'s: only the new
    /// positions are computed, attending over `past`'s keys and values and their own. Returns
    /// the newest state `[1, d]`, the last block's attention from it over every position
    /// `[1, past + new]` (averaged over heads) and the keys and values of every position, to
    /// pass as `past` when more events follow. Without `past` it encodes the whole history; with
    /// it, the result equals that of the whole history encoded at once (tests hold them within
    /// 1e-5). Needs [`Self::caches_keys`] and at most `max_len` events in all. The CPU-only
    /// wasm bundle takes no `past` (its engine appends on the host, [`HostBlocks`]).
    pub fn encode_appended(
        &self,
        batch: &SeqBatch,
        items: Option<Tensor<2>>,
        past: Option<&KvCache>,
    ) -> Result<(Tensor<2>, Tensor<2>, KvCache)> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        let p = past.map_or(0, KvCache::len);
        let (m, d) = (batch.len, self.d_model);
        let n = check_append(self.positions, batch, p, self.pos_emb.val().dims()[0])?;
        if past.is_some_and(|c| c.blocks.len() != self.blocks.len()) {
            return bad("the cached keys and values are another model's".into());
        }
        // The CPU bundle's engine appends on the host (`HostBlocks`): leaving burn's tensor
        // concatenation out of it took the bundle from 349.9 to 346.0 kB gzipped.
        if cfg!(all(target_arch = "wasm32", not(feature = "webgpu"))) && past.is_some() {
            return bad("the CPU bundle appends events on the host (HostBlocks)".into());
        }
        let x = self.embed_after(batch, items, p).reshape([m, d]);
        let (state, att, blocks) = self.through_blocks(x, 1, m, &vec![1.0; n], past, Rows::Newest);
        Ok((
            state,
            att.mean_dim(1).reshape([1, n]),
            KvCache { blocks, len: n },
        ))
    }

    /// Embeddings, every block and the final LayerNorm, the last block computing `last_rows`:
    /// the output (`[b * l, d]`, or `[b, d]` for the newest rows) and the last block's
    /// attention weights `[b, heads, rows, l]`.
    fn blocks_forward(
        &self,
        batch: &SeqBatch,
        last_rows: Rows,
        items: Option<Tensor<2>>,
    ) -> (Tensor<2>, Tensor<4>) {
        let (b, l, d) = (batch.batch, batch.len, self.d_model);
        let x = self.embed(batch, items).reshape([b * l, d]);
        let (out, att, _) = self.through_blocks(x, b, l, &batch.valid, None, last_rows);
        (out, att)
    }

    /// Every block and the final LayerNorm over `x`, `[b * l, d]`: the `l` positions of each of
    /// `b` histories that follow `past`'s (`valid` flags every position, `past`'s included,
    /// `[b * (p + l)]`), the last block computing `last_rows`. Returns the output (`[b * l, d]`,
    /// or `[b, d]` for the newest rows), the last block's attention weights
    /// `[b, heads, rows, p + l]` and each block's keys and values of every position
    /// `[b, p + l, 2d]`.
    fn through_blocks(
        &self,
        mut x: Tensor<2>,
        b: usize,
        l: usize,
        valid: &[f32],
        past: Option<&KvCache>,
        last_rows: Rows,
    ) -> (Tensor<2>, Tensor<4>, Vec<Tensor<3>>) {
        let p = past.map_or(0, KvCache::len);
        let n = p + l;
        let all = self.mask(valid, b, n, p..n);
        let last = self.blocks.len() - 1;
        let mut att = None;
        let mut keys = Vec::with_capacity(self.blocks.len());
        for (i, block) in self.blocks.iter().enumerate() {
            let rows = if i == last { last_rows } else { Rows::All };
            let (mask, queries) = match rows {
                Rows::All => (all.clone(), p..n),
                Rows::Newest => (all.clone().narrow(2, l - 1, 1), n - 1..n),
            };
            let mask = match self.relative_bias(i, queries, n) {
                Some(bias) => mask + bias,
                None => mask,
            };
            let (y, a, kv) = block.forward(
                x,
                past.map(|c| c.blocks[i].clone()),
                mask,
                b,
                l,
                self.heads,
                &self.dropout,
                self.layout,
                rows,
            );
            x = y;
            att = Some(a);
            keys.push(kv);
        }
        let att = att.expect("a model has at least one block (validated)");
        (self.ln_final.forward(x), att, keys)
    }

    /// The newest position's hidden state: `[batch, d_model]` ([`Self::encode_newest`]).
    pub fn user_state(&self, batch: &SeqBatch) -> Tensor<2> {
        self.encode_newest(batch).0
    }

    /// Scores of every catalogue row (row 0 is padding) for each user state: `[batch, n_items + 1]`.
    pub fn score_items(&self, states: Tensor<2>) -> Tensor<2> {
        states.matmul(self.item_emb.val().transpose())
    }

    /// The item table the training loss scores against (the input table: tied embeddings).
    /// Without dropout: dropping half its dimensions at the published rate (0.5) made the
    /// logits of 12,000 items so noisy that Beauty's validation NDCG@10 after 8 epochs was
    /// 0.020 instead of 0.043.
    #[cfg(feature = "train")]
    pub fn output_embeddings(&self) -> Tensor<2> {
        self.item_emb.val()
    }
}

/// Checks what appending `batch` (events after `past` cached ones) needs, for
/// [`SeqRec::encode_appended`] and [`HostBlocks::append`] alike: positions that leave earlier
/// keys and values as they were, one unpadded history, at most `max_len` events in all.
/// Returns that total.
fn check_append(
    positions: Positions,
    batch: &SeqBatch,
    past: usize,
    max_len: usize,
) -> Result<usize> {
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if !positions.caches_keys() {
        return bad(
            "this model's positions move when an event is appended: nothing before it \
                    can be reused"
                .into(),
        );
    }
    if batch.batch != 1 || batch.len == 0 || batch.valid.contains(&0.0) {
        return bad("appending reads one history without padding".into());
    }
    let n = past + batch.len;
    if n > max_len {
        return bad(format!(
            "{n} events do not fit the model's {max_len}: encode the newest {max_len} anew"
        ));
    }
    Ok(n)
}

/// The keys and values of every position of one history in each block (`[1, len, 2 * d]`):
/// what [`SeqRec::encode_appended`] needs from the events before the ones it appends. On the
/// model's device.
#[derive(Debug, Clone)]
pub struct KvCache {
    blocks: Vec<Tensor<3>>,
    len: usize,
}

impl KvCache {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no position is held (never for a cache [`SeqRec::encode_appended`] returns).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Which rows a block computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Every position (training, and the lower blocks at inference).
    All,
    /// Only the newest position of each history (the last block at inference: the state
    /// `recommend()` reads). Its keys and values still cover the whole history.
    Newest,
}

impl Block {
    /// One block. `x` is `[b * l, d]`, the rows after `past`'s (`[b, p, 2d]`: the keys and
    /// values of earlier positions, [`KvCache`]); `mask` is `[b, 1 or heads, rows, p + l]` for the
    /// query rows (every new row for [`Rows::All`], the newest for [`Rows::Newest`]), with the
    /// relative bias per head added. Returns the block's output (`[b * l, d]`, or `[b, d]` for
    /// the newest rows), the attention weights `[b, heads, rows, p + l]` and the keys and values
    /// of every position `[b, p + l, 2d]`.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        x: Tensor<2>,
        past: Option<Tensor<3>>,
        mask: Tensor<4>,
        b: usize,
        l: usize,
        heads: usize,
        dropout: &Dropout,
        layout: BlockLayout,
        rows: Rows,
    ) -> (Tensor<2>, Tensor<4>, Tensor<3>) {
        let d = x.dims()[1];
        let dh = d / heads;
        let newest = |t: Tensor<2>| t.reshape([b, l, d]).narrow(1, l - 1, 1).reshape([b, d]);
        let h = self.ln1.forward(x.clone());
        // Queries read the normalised stream; keys and values read it too (pre-norm) or the raw
        // stream (SASRec's block).
        let kv_in = match layout {
            BlockLayout::PreNorm => h.clone(),
            BlockLayout::Sasrec => x.clone(),
        };
        let (q_in, x, q_rows) = match rows {
            Rows::All => (h, x, l),
            Rows::Newest => (newest(h), newest(x), 1),
        };
        let w = self.wqkv.val();
        let bias = self.bqkv.val();
        let q = q_in.matmul(w.clone().narrow(1, 0, d))
            + bias.clone().narrow(0, 0, d).unsqueeze_dim::<2>(0);
        let kv = (kv_in.matmul(w.narrow(1, d, 2 * d))
            + bias.narrow(0, d, 2 * d).unsqueeze_dim::<2>(0))
        .reshape([b, l, 2 * d]);
        let kv = match past {
            #[cfg(not(all(target_arch = "wasm32", not(feature = "webgpu"))))]
            Some(past) => Tensor::cat(vec![past, kv], 1),
            // Refused by `SeqRec::encode_appended` in the CPU bundle.
            #[cfg(all(target_arch = "wasm32", not(feature = "webgpu")))]
            Some(_) => kv,
            None => kv,
        };
        let n = kv.dims()[1];
        let heads_of = |t: Tensor<3>, n: usize| t.reshape([b, n, heads, dh]).swap_dims(1, 2);
        let q = heads_of(q.reshape([b, q_rows, d]), q_rows);
        let k = heads_of(kv.clone().narrow(2, 0, d), n);
        let v = heads_of(kv.clone().narrow(2, d, d), n);
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (dh as f64).sqrt())
            + mask;
        let att = softmax(scores, 3);
        // Dropout (training only) on the attention weights, inside the feed-forward and on its
        // output; the pre-norm block also drops the attention output.
        let o = dropout
            .forward(att.clone())
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b * q_rows, d]);
        let o = o.matmul(self.wo.val()) + self.bo.val().unsqueeze_dim::<2>(0);
        let out = match layout {
            BlockLayout::PreNorm => {
                let x = x + dropout.forward(o);
                let f = self.feed_forward(self.ln2.forward(x.clone()), gelu, dropout);
                x + f
            }
            BlockLayout::Sasrec => {
                let h = self.ln2.forward(x + o);
                h.clone() + self.feed_forward(h, relu, dropout)
            }
        };
        (out, att, kv)
    }

    /// `drop(W2 drop(act(W1 h + b1)) + b2)`.
    fn feed_forward(
        &self,
        h: Tensor<2>,
        act: fn(Tensor<2>) -> Tensor<2>,
        dropout: &Dropout,
    ) -> Tensor<2> {
        let f = dropout.forward(act(
            h.matmul(self.w1.val()) + self.b1.val().unsqueeze_dim::<2>(0)
        ));
        dropout.forward(f.matmul(self.w2.val()) + self.b2.val().unsqueeze_dim::<2>(0))
    }
}
