//! The blocks of a model whose keys and values can be cached ([`SeqRec::caches_keys`]),
//! computed on the host over plain slices, for the few events `track()` appends between two
//! answers.
//!
//! One appended event through two blocks at `d` 64 is about 30 k multiply-adds per block, but
//! through burn it is some 100 tensor operations (embedding included), each with its allocation
//! and dispatch: 0.3 ms in the browser, nearly all overhead. Here it is a handful of loops over
//! the same weights ([`HostBlocks::new`]). Featurisation (events
//! to [`SeqBatch`]) stays the one the model reads; tests hold the results to
//! [`SeqRec::encode_newest`] within 1e-5 on models with every feature, both layouts and both
//! cacheable position schemes (`tests/common/checks.rs`).

use crate::error::{Error, Result};
use crate::model::batch::SeqBatch;
use crate::model::config::{BlockLayout, BlockParam, Positions, SeqRecConfig, Slot};
use crate::model::weights::{Weights, floats};
use crate::vector::{axpy, dot};

#[cfg(doc)]
use super::SeqRec;
use super::{KvCache, check_append};

/// The epsilon of every LayerNorm of the model (`LayerNormConfig`'s default, which the model
/// is built with).
const LN_EPS: f32 = 1e-5;

/// A model's blocks, final LayerNorm and input tables but the item table, as plain f32 on the
/// host ([`HostBlocks::new`]).
#[derive(Debug, Clone)]
pub struct HostBlocks {
    d: usize,
    heads: usize,
    layout: BlockLayout,
    positions: Positions,
    max_len: usize,
    blocks: Vec<HostBlock>,
    final_norm: Norm,
    /// With [`Positions::Relative`], the attention bias by distance `[max_len, layers * heads]`;
    /// empty otherwise (positions are then in the input rows).
    bias: Vec<f32>,
    /// The input tables but the item table (whose rows the caller gathers): empty where the
    /// model has no such feature.
    tables: Tables,
}

/// The embedding tables an input row adds to its item row, `[rows, d]` each.
#[derive(Debug, Clone, Default)]
struct Tables {
    /// Counted from the oldest event ([`Positions::FromOldest`]).
    positions: Vec<f32>,
    events: Vec<f32>,
    queries: Vec<f32>,
    attributes: Vec<f32>,
}

/// One block's weights, row-major `[in, out]` as the model multiplies them (`x W + b`).
#[derive(Debug, Clone)]
struct HostBlock {
    ln1: Norm,
    /// The query projection `[d, d]` and its bias, scaled by `1 / sqrt(d / heads)` (the score
    /// scale folded in).
    wq: Vec<f32>,
    bq: Vec<f32>,
    /// The key and value projection `[d, 2d]` and its bias.
    wkv: Vec<f32>,
    bkv: Vec<f32>,
    wo: Vec<f32>,
    bo: Vec<f32>,
    ln2: Norm,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
}

#[derive(Debug, Clone)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// Every position's keys and values in each block, `[len, 2d]` per block on the host: what
/// [`HostBlocks::append`] needs from the events before the ones it appends.
#[derive(Debug, Clone, Default)]
pub struct HostKeys {
    blocks: Vec<Vec<f32>>,
    len: usize,
}

impl HostKeys {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no position is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What [`HostBlocks::append`] returns: the newest position's state `[d]`, the last block's
/// attention from it over every position, averaged over heads `[len]`, and the keys and values
/// of every position (pass them as `past` when more events follow).
#[derive(Debug, Clone)]
pub struct Appended {
    pub state: Vec<f32>,
    pub attention: Vec<f32>,
    pub keys: HostKeys,
}

impl HostBlocks {
    /// The blocks, final LayerNorm and input tables (all but the item table) of the model
    /// `config` builds from `weights` ([`SeqRecConfig::init_with`]), on the host. Errors for
    /// a model whose positions move when an event is appended ([`SeqRec::caches_keys`]) and
    /// for weights that do not match the config.
    pub fn new(config: &SeqRecConfig, weights: &Weights) -> Result<Self> {
        config.validate()?;
        if !config.positions.caches_keys() {
            return Err(Error::InvalidArgument(
                "this model's positions move when an event is appended: nothing before it \
                 can be reused"
                    .into(),
            ));
        }
        let params = config.params();
        // An optional table the model lacks (no such parameter) is empty.
        let get = |slot: Slot| -> Result<Vec<f32>> {
            params
                .iter()
                .find(|p| p.slot == slot)
                .map_or(Ok(Vec::new()), |p| {
                    Ok(p.checked_in(weights)?.values.clone())
                })
        };
        let d = config.d_model;
        let scale = 1.0 / ((d / config.heads) as f32).sqrt();
        let blocks = (0..config.layers)
            .map(|l| {
                let b = |p: BlockParam| get(Slot::Block(l, p));
                let norm = |gamma, beta| -> Result<Norm> {
                    Ok(Norm {
                        gamma: b(gamma)?,
                        beta: b(beta)?,
                    })
                };
                let (wqkv, bqkv) = (b(BlockParam::Wqkv)?, b(BlockParam::Bqkv)?);
                let (mut wq, mut wkv) = (Vec::with_capacity(d * d), Vec::with_capacity(2 * d * d));
                for row in wqkv.chunks_exact(3 * d) {
                    wq.extend(row[..d].iter().map(|w| w * scale));
                    wkv.extend_from_slice(&row[d..]);
                }
                Ok(HostBlock {
                    ln1: norm(BlockParam::Ln1Gamma, BlockParam::Ln1Beta)?,
                    wq,
                    bq: bqkv[..d].iter().map(|b| b * scale).collect(),
                    wkv,
                    bkv: bqkv[d..].to_vec(),
                    wo: b(BlockParam::Wo)?,
                    bo: b(BlockParam::Bo)?,
                    ln2: norm(BlockParam::Ln2Gamma, BlockParam::Ln2Beta)?,
                    w1: b(BlockParam::W1)?,
                    b1: b(BlockParam::B1)?,
                    w2: b(BlockParam::W2)?,
                    b2: b(BlockParam::B2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pos = get(Slot::PosEmb)?;
        let (bias, positions) = match config.positions {
            Positions::Relative => (pos, Vec::new()),
            _ => (Vec::new(), pos),
        };
        Ok(HostBlocks {
            d,
            heads: config.heads,
            layout: config.layout,
            positions: config.positions,
            max_len: config.max_len,
            blocks,
            final_norm: Norm {
                gamma: get(Slot::FinalGamma)?,
                beta: get(Slot::FinalBeta)?,
            },
            bias,
            tables: Tables {
                positions,
                events: get(Slot::EventEmb)?,
                queries: get(Slot::QueryEmb)?,
                attributes: get(Slot::AttrEmb)?,
            },
        })
    }

    /// How many f32 [`HostBlocks::new`] copies for a model of `config`: the blocks, the
    /// position table or bias and the event, query and attribute tables (not the item table).
    pub fn copied_floats(config: &SeqRecConfig) -> usize {
        config
            .params()
            .iter()
            .filter(|p| p.slot != Slot::ItemEmb)
            .map(|p| p.len().unwrap_or(usize::MAX))
            .fold(0, usize::saturating_add)
    }

    /// [`SeqRec::encode_appended`] on the host: `batch` holds one unpadded history, the events
    /// that follow `past`'s, and `items` their item rows (`[len, d]`, gathered by the caller);
    /// only they are computed, the last block only for the newest. The result equals the
    /// newest row of the whole history encoded at once by the model of the same weights (tests
    /// hold them within 1e-5). At most `max_len` events in all.
    pub fn append(
        &self,
        batch: &SeqBatch,
        items: &[f32],
        past: Option<HostKeys>,
    ) -> Result<Appended> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        let mut keys = past.unwrap_or_else(|| HostKeys {
            blocks: vec![Vec::new(); self.blocks.len()],
            len: 0,
        });
        let (p, m, d) = (keys.len, batch.len, self.d);
        let n = check_append(self.positions, batch, p, self.max_len)?;
        if keys.blocks.len() != self.blocks.len()
            || keys.blocks.iter().any(|k| k.len() != p * 2 * d)
        {
            return bad("the cached keys and values are another model's".into());
        }
        if items.len() != m * d {
            return bad(format!(
                "{m} events need {} item values, got {}",
                m * d,
                items.len()
            ));
        }
        let mut x = self.embed(batch, items, p)?;
        let last = self.blocks.len() - 1;
        let mut attention = Vec::new();
        let mut scratch = Scratch::new(d, self.heads, n);
        for (i, (block, cache)) in self.blocks.iter().zip(&mut keys.blocks).enumerate() {
            // Keys and values of the new rows read the normalised stream (pre-norm) or the raw
            // one (SASRec's block); queries always the normalised one.
            let normed: Vec<f32> = x
                .chunks_exact(d)
                .flat_map(|row| layer_norm(row, &block.ln1))
                .collect();
            let kv_in = match self.layout {
                BlockLayout::PreNorm => &normed,
                BlockLayout::Sasrec => &x,
            };
            for row in kv_in.chunks_exact(d) {
                let at = cache.len();
                cache.resize(at + 2 * d, 0.0);
                affine(row, &block.wkv, &block.bkv, &mut cache[at..]);
            }
            // The last block computes only the newest row: the state `recommend()` reads.
            let rows = if i == last { m - 1..m } else { 0..m };
            let mut out = Vec::with_capacity(rows.len() * d);
            for r in rows {
                let position = p + r;
                let row = &x[r * d..(r + 1) * d];
                let q = &mut scratch.q;
                affine(&normed[r * d..(r + 1) * d], &block.wq, &block.bq, q);
                self.attend(i, position, cache, &mut scratch);
                if i == last {
                    attention = scratch.mean_weights(self.heads, position + 1);
                }
                let o = &mut scratch.o;
                affine(&scratch.heads_out, &block.wo, &block.bo, o);
                out.extend(self.finish(block, row, o, &mut scratch.f));
            }
            x = out;
        }
        Ok(Appended {
            state: layer_norm(&x, &self.final_norm).collect(),
            attention,
            keys: HostKeys { len: n, ..keys },
        })
    }

    /// The input rows `[len, d]` of `batch`'s events (the `before`-th event onward): the item
    /// row scaled by `sqrt(d)`, plus the position (from the oldest event), the event type and
    /// the weighted query tokens and attributes, as the model's embedding.
    fn embed(&self, batch: &SeqBatch, items: &[f32], before: usize) -> Result<Vec<f32>> {
        let (m, d) = (batch.len, self.d);
        let t = &self.tables;
        let scale = (d as f64).sqrt() as f32;
        let mut x: Vec<f32> = items.iter().map(|v| v * scale).collect();
        // Weighted bags of query tokens and of attributes: `k` ids (and weights) per event.
        let bags = [
            (&t.queries, &batch.query, &batch.query_w),
            (&t.attributes, &batch.attrs, &batch.attrs_w),
        ];
        for (r, out) in x.chunks_exact_mut(d).enumerate() {
            if !t.positions.is_empty() {
                axpy(out, 1.0, table_row(&t.positions, (before + r) as i64, d)?);
            }
            if !t.events.is_empty() {
                axpy(out, 1.0, table_row(&t.events, batch.kinds[r], d)?);
            }
            for (table, ids, weights) in bags.iter().filter(|(table, ..)| !table.is_empty()) {
                let k = ids.len() / m;
                let at = r * k..(r + 1) * k;
                for (&id, &w) in ids[at.clone()].iter().zip(&weights[at]) {
                    axpy(out, w, table_row(table, id, d)?);
                }
            }
        }
        Ok(x)
    }

    /// Attention of the query in `scratch.q` at `position` over the keys and values `0..=position`
    /// of block `block` (`cache`, `[len, 2d]`), head by head, with the relative bias: the
    /// weights into `scratch.weights` (`[heads, position + 1]`), the output into
    /// `scratch.heads_out`.
    fn attend(&self, block: usize, position: usize, cache: &[f32], scratch: &mut Scratch) {
        let (d, h) = (self.d, self.heads);
        let dh = d / h;
        let keys = position + 1;
        scratch.weights.clear();
        scratch.heads_out.iter_mut().for_each(|v| *v = 0.0);
        for head in 0..h {
            let cols = head * dh..(head + 1) * dh;
            let q = &scratch.q[cols.clone()];
            let start = scratch.weights.len();
            for k in 0..keys {
                let key = &cache[k * 2 * d..k * 2 * d + d];
                let mut s = dot(q, &key[cols.clone()]);
                if !self.bias.is_empty() {
                    s += self.bias[(position - k) * self.blocks.len() * h + block * h + head];
                }
                scratch.weights.push(s);
            }
            let w = &mut scratch.weights[start..];
            softmax(w);
            let out = &mut scratch.heads_out[cols.clone()];
            for (k, &a) in w.iter().enumerate() {
                let value = &cache[k * 2 * d + d..(k + 1) * 2 * d];
                axpy(out, a, &value[cols.clone()]);
            }
        }
    }

    /// The rest of a block for one row: `row` is its input, `o` the attention output after the
    /// output projection.
    fn finish(&self, block: &HostBlock, row: &[f32], o: &[f32], f: &mut [f32]) -> Vec<f32> {
        let sum: Vec<f32> = row.iter().zip(o).map(|(x, o)| x + o).collect();
        let h: Vec<f32> = layer_norm(&sum, &block.ln2).collect();
        affine(&h, &block.w1, &block.b1, f);
        // Pre-norm: `sum + FFN(LN(sum))` with GELU; SASRec's: `LN(sum) + FFN(LN(sum))` with ReLU.
        let (act, residual): (fn(f32) -> f32, _) = match self.layout {
            BlockLayout::PreNorm => (gelu, &sum),
            BlockLayout::Sasrec => (|v: f32| v.max(0.0), &h),
        };
        f.iter_mut().for_each(|v| *v = act(*v));
        let mut out = vec![0.0; self.d];
        affine(f, &block.w2, &block.b2, &mut out);
        out.iter_mut().zip(residual).for_each(|(o, r)| *o += r);
        out
    }
}

impl KvCache {
    /// These keys and values on the host, to append to with [`HostBlocks::append`] (a blocking
    /// readback: native or on the CPU backend only).
    pub fn to_host(&self) -> Result<HostKeys> {
        Ok(HostKeys {
            blocks: self
                .blocks
                .iter()
                .map(|k| {
                    let [_, n, w] = k.dims();
                    floats(k.clone().reshape([n, w]))
                })
                .collect::<Result<_>>()?,
            len: self.len,
        })
    }
}

/// Row `id` of a `[rows, d]` table (an error for one out of range: ids come from this model's
/// featurisation, but a bad one must not panic).
fn table_row(table: &[f32], id: i64, d: usize) -> Result<&[f32]> {
    usize::try_from(id)
        .ok()
        .and_then(|r| table.get(r * d..(r + 1) * d))
        .ok_or_else(|| Error::InvalidArgument(format!("no embedding row {id}")))
}

/// Buffers reused across rows and blocks.
struct Scratch {
    q: Vec<f32>,
    o: Vec<f32>,
    f: Vec<f32>,
    heads_out: Vec<f32>,
    weights: Vec<f32>,
}

impl Scratch {
    fn new(d: usize, heads: usize, n: usize) -> Self {
        Scratch {
            q: vec![0.0; d],
            o: vec![0.0; d],
            f: vec![0.0; d],
            heads_out: vec![0.0; d],
            weights: Vec::with_capacity(heads * n),
        }
    }

    /// The attention weights over `keys` positions, averaged over `heads`.
    fn mean_weights(&self, heads: usize, keys: usize) -> Vec<f32> {
        let mut mean = vec![0.0; keys];
        for head in self.weights.chunks_exact(keys) {
            mean.iter_mut().zip(head).for_each(|(m, w)| *m += w);
        }
        mean.iter_mut().for_each(|m| *m /= heads as f32);
        mean
    }
}

/// `out = x W + b`, `W` row-major `[x.len(), out.len()]`.
fn affine(x: &[f32], w: &[f32], b: &[f32], out: &mut [f32]) {
    let cols = out.len();
    out.copy_from_slice(b);
    for (&xi, row) in x.iter().zip(w.chunks_exact(cols)) {
        axpy(out, xi, row);
    }
}

fn softmax(w: &mut [f32]) {
    let max = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in w.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    w.iter_mut().for_each(|v| *v /= sum);
}

fn layer_norm<'a>(row: &'a [f32], n: &'a Norm) -> impl Iterator<Item = f32> + 'a {
    let len = row.len() as f32;
    let mean = row.iter().sum::<f32>() / len;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / len;
    let inv = 1.0 / (var + LN_EPS).sqrt();
    row.iter()
        .zip(n.gamma.iter().zip(&n.beta))
        .map(move |(v, (g, b))| (v - mean) * inv * g + b)
}

/// GELU with the exact error function, as the model's.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2))
}
