//! The item table trained sparsely: lazy Adam over the rows a step reads.
//!
//! With sampled negatives a training step reads a small part of the item table: the batch's
//! items, its targets and its negatives. Left in the model, the table still costs whole-table
//! work every step: autodiff's gradient of a row gather is a zero-filled table-sized tensor, and
//! Adam updates every value with a dozen element-wise passes. At 500,000 x 64 items that work
//! (page faults, zeroing, copies, element-wise kernels in a profile of the 5M-event shop) set
//! the step rate; at Beauty's 12,101 items it was invisible.
//!
//! Here the table lives on the host with Adam's two moments. A step copies out the rows it reads
//! ([`LazyTable::gather`]); the encoder and the loss read those (on the CPU each length group's
//! positions as a small leaf tensor and the loss the host rows, their gradients meeting on the
//! host; on a GPU the rows as one leaf tensor), and [`LazyTable::step`] updates those rows
//! only: lazy Adam, as TensorFlow
//! Addons' `LazyAdam` and PyTorch's `SparseAdam`. On the rows it touches the update is burn's
//! `Adam` with the same settings (tests hold them equal); a row a step does not read keeps its
//! value and moments, where dense Adam would go on moving it on its momentum. The bias
//! correction counts the table's steps.

use burn::prelude::*;

use crate::error::{Error, Result};

/// Adam's settings, as the rest of the model is trained with.
#[derive(Debug, Clone, Copy)]
pub struct AdamSettings {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// L2 penalty added to the gradient (burn's `WeightDecay`), applied to the rows updated.
    pub weight_decay: f32,
}

/// An embedding table `[rows, d]` and Adam's moments, on the host.
pub struct LazyTable {
    d: usize,
    values: Vec<f32>,
    moment_1: Vec<f32>,
    moment_2: Vec<f32>,
    /// Steps taken (Adam's bias correction).
    time: u64,
    adam: AdamSettings,
}

/// The rows of a [`LazyTable`] one step reads, copied out on the host.
pub struct Gathered {
    /// Table rows, ascending, each once; row 0 (padding, and the item of a search) first.
    pub rows: Vec<u32>,
    /// `[rows.len(), d]` row-major: local row `i` holds table row `rows[i]`.
    pub values: Vec<f32>,
    d: usize,
}

/// Row 0 and the rows `ids` name, ascending and each once: the rows a step gathers.
pub fn step_rows(ids: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut rows: Vec<u32> = std::iter::once(0).chain(ids).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The local row holding table row `row` in `rows` ([`step_rows`]), which must hold it.
pub fn local_row(rows: &[u32], row: u32) -> u32 {
    let found = rows.binary_search(&row);
    debug_assert!(found.is_ok(), "row {row} was not gathered");
    found.map_or(0, |i| i as u32)
}

impl Gathered {
    /// The local row holding table row `row` (which the step gathered).
    pub fn local(&self, row: u32) -> u32 {
        local_row(&self.rows, row)
    }

    /// The local rows `items`, one after another: `[items.len(), d]` (what the encoder reads
    /// for a batch whose items were renumbered to local rows).
    pub fn rows_of(&self, items: &[u32]) -> Vec<f32> {
        copy_rows(&self.values, self.d, items)
    }

    /// Adds `grad` (`[items.len(), d]`: the gradient of [`Self::rows_of`]'s rows) into `into`,
    /// a gradient of the gathered rows (`[rows.len(), d]`).
    pub fn scatter_add(&self, into: &mut [f32], items: &[u32], grad: &[f32]) {
        let d = self.d;
        for (&i, g) in items.iter().zip(grad.chunks_exact(d)) {
            let i = i as usize;
            for (a, &x) in into[i * d..(i + 1) * d].iter_mut().zip(g) {
                *a += x;
            }
        }
    }

    /// The table rows and the gathered values as one tensor on `device`, recording its gradient
    /// where the device differentiates (training on a GPU, where the loss runs as tensor ops).
    pub fn into_tensor(self, device: &Device) -> (Vec<u32>, Tensor<2>) {
        let shape = [self.rows.len(), self.d];
        let table = Tensor::<2>::from_data(TensorData::new(self.values, shape), device);
        let table = if table.is_autodiff() {
            table.require_grad()
        } else {
            table
        };
        (self.rows, table)
    }
}

/// Rows `rows` of a `[_, d]` row-major table, one after another.
fn copy_rows(table: &[f32], d: usize, rows: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        let r = r as usize;
        out.extend_from_slice(&table[r * d..(r + 1) * d]);
    }
    out
}

/// The first bytes of [`LazyTable::write_state`]'s output.
const MAGIC: &[u8; 8] = b"LRLADAM1";

impl LazyTable {
    /// A table of `values` (`[rows, d]`, row-major) with no Adam state yet.
    pub fn new(values: Vec<f32>, d: usize, adam: AdamSettings) -> Result<Self> {
        if d == 0 || !values.len().is_multiple_of(d) {
            return Err(Error::InvalidArgument(format!(
                "{} values do not make rows of {d}",
                values.len()
            )));
        }
        let n = values.len();
        Ok(Self {
            d,
            values,
            moment_1: vec![0.0; n],
            moment_2: vec![0.0; n],
            time: 0,
            adam,
        })
    }

    /// The table, `[rows, d]` row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    fn rows(&self) -> usize {
        self.values.len() / self.d
    }

    /// Copies out row 0 and the rows `ids` name (any order, repeats allowed).
    pub fn gather(&self, ids: impl IntoIterator<Item = u32>) -> Result<Gathered> {
        let rows = step_rows(ids);
        if let Some(&last) = rows.last()
            && last as usize >= self.rows()
        {
            return Err(Error::InvalidArgument(format!(
                "row {last} is outside the item table's {} rows",
                self.rows()
            )));
        }
        let values = copy_rows(&self.values, self.d, &rows);
        Ok(Gathered {
            rows,
            values,
            d: self.d,
        })
    }

    /// One Adam step at learning rate `lr` on the gathered rows, with their gradient `grad`
    /// (`[rows.len(), d]`; row `i` is table row `rows[i]`'s).
    pub fn step(&mut self, lr: f64, rows: &[u32], grad: &[f32]) -> Result<()> {
        let d = self.d;
        if grad.len() != rows.len() * d {
            return Err(Error::Compute(format!(
                "{} gradient values for {} rows of {d}",
                grad.len(),
                rows.len()
            )));
        }
        self.time += 1;
        let AdamSettings {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } = self.adam;
        // burn's `AdaptiveMomentum`, operation for operation.
        let t = self.time.min(i32::MAX as u64) as i32;
        let bias_correction2_sqrt = (1.0 - beta_2.powi(t)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - beta_1.powi(t));
        let eps = epsilon * bias_correction2_sqrt;
        let lr = lr as f32;
        let update = |values: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| {
            for (((x, m), v), &g) in values.iter_mut().zip(m).zip(v).zip(g) {
                let g = *x * weight_decay + g;
                *m = *m * beta_1 + g * (1.0 - beta_1);
                *v = *v * beta_2 + g * g * (1.0 - beta_2);
                let step = *m * combined_factor / (v.sqrt() + eps);
                *x -= step * lr;
            }
        };
        // The rows are ascending and distinct: each worker takes a run of them and the part of
        // the table (and moments) they lie in.
        let parts = rayon::current_num_threads().max(1);
        let per = rows.len().div_ceil(parts).max(1);
        let mut work = Vec::with_capacity(parts);
        let (mut values, mut m, mut v) = (
            &mut self.values[..],
            &mut self.moment_1[..],
            &mut self.moment_2[..],
        );
        let mut offset = 0usize;
        for (chunk, g) in rows.chunks(per).zip(grad.chunks(per * d)) {
            let end = chunk.last().map_or(offset, |&r| (r as usize + 1) * d);
            let (head, rest) = std::mem::take(&mut values).split_at_mut(end - offset);
            let (m_head, m_rest) = std::mem::take(&mut m).split_at_mut(end - offset);
            let (v_head, v_rest) = std::mem::take(&mut v).split_at_mut(end - offset);
            work.push((chunk, g, offset, head, m_head, v_head));
            (values, m, v) = (rest, m_rest, v_rest);
            offset = end;
        }
        use rayon::prelude::*;
        work.into_par_iter()
            .for_each(|(chunk, g, offset, values, m, v)| {
                for (&row, g) in chunk.iter().zip(g.chunks_exact(d)) {
                    let at = row as usize * d - offset..(row as usize + 1) * d - offset;
                    update(&mut values[at.clone()], &mut m[at.clone()], &mut v[at], g);
                }
            });
        Ok(())
    }

    /// Writes Adam's state (step count and both moments) for a checkpoint, straight to `out`
    /// (at 500k x 64 items that is 256 MB, never held as one buffer); the values themselves are
    /// the model's item table.
    pub fn write_state(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        out.write_all(MAGIC)?;
        for n in [self.time, self.rows() as u64, self.d as u64] {
            out.write_all(&n.to_le_bytes())?;
        }
        let mut chunk = Vec::with_capacity(4 * 4096);
        for moments in [&self.moment_1, &self.moment_2] {
            for part in moments.chunks(4096) {
                chunk.clear();
                chunk.extend(part.iter().flat_map(|x| x.to_le_bytes()));
                out.write_all(&chunk)?;
            }
        }
        out.flush()
    }

    /// [`Self::write_state`] into memory.
    pub fn state_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 8 * self.values.len());
        self.write_state(&mut out)
            .expect("writing into a Vec cannot fail");
        out
    }

    /// Restores Adam's state from [`Self::state_bytes`] of a table of the same shape.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        let corrupt = |why: &str| {
            Err(Error::ModelCorrupt(format!(
                "item table's Adam state: {why}"
            )))
        };
        let Some(header) = bytes.get(..32) else {
            return corrupt("truncated header");
        };
        if &header[..8] != MAGIC {
            return corrupt("not a localrec lazy Adam state");
        }
        let word = |i: usize| {
            u64::from_le_bytes(header[8 + 8 * i..16 + 8 * i].try_into().unwrap_or_default())
        };
        let (time, rows, d) = (word(0), word(1), word(2));
        if rows != self.rows() as u64 || d != self.d as u64 {
            return corrupt(&format!(
                "saved for [{rows}, {d}], the table is [{}, {}]",
                self.rows(),
                self.d
            ));
        }
        let n = self.values.len();
        if bytes.len() - 32 != 8 * n {
            return corrupt(&format!(
                "{} bytes of moments, expected {}",
                bytes.len() - 32,
                8 * n
            ));
        }
        let moments = self.moment_1.iter_mut().chain(&mut self.moment_2);
        for (x, b) in moments.zip(bytes[32..].chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        self.time = time;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::optim::{AdamConfig, GradientsParams};

    #[derive(burn::module::Module, Debug)]
    struct Table {
        emb: Param<Tensor<2>>,
    }

    fn settings() -> AdamSettings {
        AdamSettings {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.01,
        }
    }

    /// Every row of a 6 x 3 table read each step (some with a zero gradient): three steps of
    /// lazy Adam equal three of burn's Adam, and the state survives a round trip through bytes.
    #[test]
    fn on_the_rows_it_reads_lazy_adam_is_burns_adam() {
        let device = crate::cpu_device().autodiff();
        let (rows, d) = (6usize, 3usize);
        let start: Vec<f32> = (0..rows * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let s = settings();
        let mut lazy = LazyTable::new(start.clone(), d, s).unwrap();
        let mut module = Table {
            emb: Param::from_tensor(Tensor::from_data(
                TensorData::new(start, [rows, d]),
                &device,
            )),
        };
        let mut optim = AdamConfig::new()
            .with_epsilon(s.epsilon)
            .with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(
                s.weight_decay,
            )))
            .init();
        for step in 0..3 {
            let grad: Vec<f32> = (0..rows * d)
                .map(|i| {
                    if i / d == step {
                        0.0
                    } else {
                        ((i * 7 + step) as f32).cos()
                    }
                })
                .collect();
            let all: Vec<u32> = (0..rows as u32).collect();
            let g = lazy.gather(all.iter().copied()).unwrap();
            assert_eq!(g.rows, all);
            lazy.step(1e-2, &g.rows, &grad).unwrap();
            // The same gradient through burn: the surrogate sum(emb * grad).
            let surrogate = (module.emb.val()
                * Tensor::<2>::from_data(TensorData::new(grad, [rows, d]), &device))
            .sum();
            let grads = GradientsParams::from_grads(surrogate.backward(), &module);
            module = optim.step(1e-2, module, grads);
            let want = crate::model::floats(module.emb.val()).unwrap();
            for (a, b) in lazy.values().iter().zip(&want) {
                assert!((a - b).abs() < 1e-6, "step {step}: {a} vs {b}");
            }
        }
        let bytes = lazy.state_bytes();
        let mut copy = LazyTable::new(lazy.values().to_vec(), d, s).unwrap();
        copy.restore(&bytes).unwrap();
        assert_eq!(copy.state_bytes(), bytes);
        assert!(copy.restore(&bytes[..bytes.len() - 4]).is_err());
        assert!(
            LazyTable::new(vec![0.0; 4 * d], d, s)
                .unwrap()
                .restore(&bytes)
                .is_err()
        );
    }

    /// A row no step reads keeps its value and its moments; gathered rows are copied out and
    /// their per-position gradients meet on the right rows.
    #[test]
    fn rows_not_read_stay_put() {
        let d = 4;
        let start: Vec<f32> = (0..5 * d).map(|i| i as f32).collect();
        let mut lazy = LazyTable::new(start.clone(), d, settings()).unwrap();
        let g = lazy.gather([3, 1, 3]).unwrap();
        assert_eq!(g.rows, vec![0, 1, 3]);
        assert_eq!(g.local(3), 2);
        assert_eq!(g.values[2 * d..], start[3 * d..4 * d]);
        let items = [2, 0, 2];
        assert_eq!(g.rows_of(&items)[..d], start[3 * d..4 * d]);
        let mut into = vec![0.0; 3 * d];
        g.scatter_add(&mut into, &items, &[1.0; 3 * 4]);
        assert_eq!(into, [[1.0; 4], [0.0; 4], [2.0; 4]].concat());
        lazy.step(0.1, &g.rows, &vec![1.0; 3 * d]).unwrap();
        for r in [2, 4] {
            assert_eq!(lazy.values()[r * d..(r + 1) * d], start[r * d..(r + 1) * d]);
        }
        assert!(lazy.values()[3 * d..4 * d] != start[3 * d..4 * d]);
        assert!(lazy.gather([5]).is_err(), "row past the table");
        assert!(
            lazy.step(0.1, &g.rows, &[1.0]).is_err(),
            "gradient of the wrong size"
        );
    }
}
