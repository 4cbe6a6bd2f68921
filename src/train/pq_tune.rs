//! Quantisation-aware fine-tuning (issue 18): a trained model's item table is replaced by
//! product- or residual-quantisation codes (k-means, [`ProductQuantized::train`]) and the model
//! trains on for a few epochs *through* that table. The codes stay fixed; the codebooks and row 0
//! (padding, and a search's item input) learn, fitted to the Transformer as trained (frozen, by
//! default), or with every other weight learning too, so that the Transformer also adapts to the
//! table it will be scored with ([`PqTuneOptions::table_only`]). Each item row is its centroids
//! side by side (product codes) or summed (residual codes), so an item moves only with the
//! centroids it shares with others.
//!
//! With `head` rows (the most popular items) kept whole, those train as rows of their own and
//! are ranked as int8 would store them. `localrec eval --item-table pqM|rqM [--exact-head K]
//! --finetune-epochs N` measures what this recovers against k-means alone, on the same test
//! cases as the file's int8 figures.

use std::time::Instant;

use burn::module::Param;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::pq::{CENTROIDS, ProductQuantized};
use crate::format::quant::{Encoding, Quantized};
use crate::model::{SeqRec, SeqRecConfig, floats};

use super::eval::{Scores, Split, cases, evaluate};
use super::fit::{
    ADAM_BETAS, ADAM_EPSILON, Positions, ScoreTable, StepBatch, draw_negatives, early_stop,
    epoch_batches, epoch_seed, examples, int_tensor, lap, objective, progress_bar, seeded_sample,
};
use super::lazy::{AdamSettings, LazyTable, local_row, step_rows};
use super::options::{DEFAULT_VALIDATION_USERS, TrainOptions};
use super::prepare::Prepared;

/// How a fine-tuning run trains.
#[derive(Debug, Clone, Serialize)]
pub struct PqTuneOptions {
    /// Epochs at most (0: k-means alone).
    pub epochs: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Loss weight of the positions right after a purchase ([`TrainOptions::purchase_weight`]).
    pub purchase_weight: f64,
    /// Stop after this many epochs without a better validation NDCG@10. 5 by default: every
    /// measured run would have kept the same best epoch with it, and stopped 5 epochs sooner
    /// than with 10 (Beauty rq12: best epoch 5; the 100,000-item shop: epoch 0, k-means alone;
    /// a 5M-event shop of 494,102 items after one training epoch: epoch 7, each later epoch
    /// within 1.3% of it, at 150 s an epoch).
    pub patience: usize,
    /// Sampled-softmax negatives (0: full cross-entropy); None: the trainer's rule for the
    /// catalogue ([`TrainOptions::negatives_for`]). With sampled negatives a step builds only
    /// the rows it reads from their codes.
    pub negatives: Option<usize>,
    /// Let items change codes: a latent copy of the table takes each step's gradient of the
    /// rows (Adam, as if the rows were free), and after each epoch every coded row takes the
    /// nearest centroids to its latent row.
    pub reassign: bool,
    /// Train the table alone (codebooks, row 0, the head's rows): the Transformer stays as
    /// trained, dropout off. The default: on Beauty's shipped model it did as well as training
    /// every weight or better (test NDCG@10 relative to int8: pq8 -18.8% against -19.1%, pq16
    /// -6.3% against -7.6%, pq8 with the 1,210 most popular items kept -6.6% against -6.8%,
    /// pq16 with them -2.3% where training every weight never beat k-means' -3.0% on
    /// validation).
    pub table_only: bool,
    /// Histories an epoch trains on: when the log has more, each epoch takes a fresh seeded
    /// sample of this many (0: every history). Only the codebooks, row 0 and the exact rows
    /// learn, a few hundred thousand weights, so an epoch needs far fewer histories than
    /// training did: Beauty (22,363) and the 100,000-item shop (50,000) are below the default
    /// and train on all of theirs, while at shop scale (2M shoppers) a whole epoch would cost
    /// as much as a training epoch (979 s at 50M events) for each of up to 40 epochs.
    pub epoch_histories: usize,
    pub seed: u64,
    /// No epoch starts after this instant (the trainer's `--time-limit-min`, counted from the
    /// start of the run); the best epoch so far is kept, k-means' at the least.
    #[serde(skip)]
    pub deadline: Option<Instant>,
    #[serde(skip)]
    pub progress: bool,
}

impl Default for PqTuneOptions {
    /// The trainer's learning rate, batch size and seed, and patience 5. On Beauty (pq8, from
    /// the shipped model, every weight training) a fifth of the trainer's rate reached test
    /// NDCG@10 -22.0% of int8 in 20 epochs, the trainer's own rate -19.1% (best of 36 epochs).
    fn default() -> Self {
        let train = TrainOptions::default();
        Self {
            epochs: 0,
            learning_rate: train.learning_rate,
            batch_size: train.batch_size,
            purchase_weight: train.purchase_weight,
            patience: 5,
            negatives: None,
            reassign: false,
            table_only: true,
            epoch_histories: DEFAULT_EPOCH_HISTORIES,
            seed: train.seed,
            deadline: None,
            progress: false,
        }
    }
}

/// [`PqTuneOptions::epoch_histories`]' default.
pub const DEFAULT_EPOCH_HISTORIES: usize = 100_000;

/// One epoch of a fine-tuning run (epoch 0: the k-means codebooks before any step).
#[derive(Debug, Clone, Serialize)]
pub struct TuneEpoch {
    pub epoch: usize,
    pub loss: f64,
    pub seconds: f64,
    /// Histories the epoch trained on ([`PqTuneOptions::epoch_histories`]).
    pub histories: usize,
    /// Codes changed after the epoch ([`PqTuneOptions::reassign`]).
    pub reassigned: usize,
    pub valid: Scores,
}

/// What fine-tuning returns: the best-validation model (its item table: row 0, the head's rows as
/// int8 would store them, every other item its centroids) and its codebooks, with the curve.
pub struct PqTuned {
    pub model: SeqRec,
    /// As [`ProductQuantized::codebooks`], rounded as a file stores them (int8, one scale per
    /// centroid).
    pub codebooks: Vec<f32>,
    /// `[rows][books]`: each row's codes at the best epoch (those of the head rows and row 0 are
    /// 0 and unused).
    pub codes: Vec<u8>,
    pub best_epoch: usize,
    pub curve: Vec<TuneEpoch>,
    /// Why the epochs ended.
    pub stopped: String,
    pub seconds: f64,
}

/// Marks every float parameter as an autodiff leaf whose gradient is kept (a model read from a
/// file holds plain tensors).
struct RequireGrad;

impl burn::module::ModuleMapper for RequireGrad {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.autodiff().require_grad())
    }
}

/// The model while it trains through the codes.
#[derive(Module, Debug)]
struct Tuned {
    model: SeqRec,
    /// Row 0 of the item table, `[1, d]`.
    padding: Param<Tensor<2>>,
    /// The rows kept whole (the most popular items), `[head, d]`.
    head: Option<Param<Tensor<2>>>,
    /// `[books * 256, width]`: centroid `c` of codebook `j` is row `j * 256 + c` (the layout
    /// of [`ProductQuantized::codebooks`]).
    centroids: Param<Tensor<2>>,
}

/// Where each row of the item table comes from while fine-tuning.
struct Layout {
    rows: usize,
    d: usize,
    /// The coded rows' centroid rows (`j * 256 + code`), `books` per coded item in table order.
    codes: Vec<u32>,
    /// Codebooks per row, and whether a row sums its centroids (residual codes) instead of
    /// setting them side by side.
    books: usize,
    residual: bool,
    /// Table row `r` is row `order[r]` of row 0, the head and the coded rows stacked.
    order: Vec<u32>,
    /// The head's table rows, ascending.
    head: Vec<usize>,
}

impl Layout {
    fn new(pq: &ProductQuantized, head: &[usize]) -> Result<Self> {
        let rows = pq.rows;
        let mut in_head = vec![false; rows];
        for &r in head {
            if r == 0 || r >= rows || in_head[r] {
                return Err(Error::InvalidArgument(format!(
                    "head row {r} of a table of {rows} rows"
                )));
            }
            in_head[r] = true;
        }
        let mut order = vec![0u32; rows];
        let mut codes = Vec::with_capacity((rows - 1 - head.len()) * pq.books);
        let (mut next_head, mut next_coded) = (1u32, 1 + head.len() as u32);
        for r in 1..rows {
            if in_head[r] {
                order[r] = next_head;
                next_head += 1;
            } else {
                order[r] = next_coded;
                next_coded += 1;
                let row = &pq.codes[r * pq.books..(r + 1) * pq.books];
                codes.extend(
                    row.iter()
                        .enumerate()
                        .map(|(j, &c)| (j * CENTROIDS) as u32 + c as u32),
                );
            }
        }
        let mut head = head.to_vec();
        head.sort_unstable();
        Ok(Self {
            rows,
            d: pq.cols,
            codes,
            books: pq.books,
            residual: pq.residual,
            order,
            head,
        })
    }
}

impl Layout {
    /// `[rows][books]` one-byte codes (0 for row 0 and the head's rows).
    fn row_codes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.rows * self.books];
        let first_coded = 1 + self.head.len();
        for r in 1..self.rows {
            let k = self.order[r] as usize;
            if k >= first_coded {
                let from = (k - first_coded) * self.books;
                for (j, &c) in self.codes[from..from + self.books].iter().enumerate() {
                    out[r * self.books + j] = (c as usize - j * CENTROIDS) as u8;
                }
            }
        }
        out
    }
}

impl Layout {
    /// Codes every coded row again against `pq`'s layout with `books` (the codebooks as they
    /// have trained), from its row of `latent` (`[rows, d]`)
    /// ([`ProductQuantized::encode_row`]); returns how many codes changed.
    fn reassign(&mut self, latent: &[f32], pq: &ProductQuantized, books: &[f32]) -> usize {
        use rayon::prelude::*;
        let d = self.d;
        let first_coded = 1 + self.head.len() as u32;
        let coded: Vec<usize> = (1..self.rows)
            .filter(|&r| self.order[r] >= first_coded)
            .collect();
        self.codes
            .par_chunks_mut(self.books)
            .zip(coded.par_iter())
            .map(|(codes, &r)| {
                let mut fresh = vec![0u8; codes.len()];
                pq.encode_row(books, &latent[r * d..(r + 1) * d], &mut fresh);
                let mut changed = 0;
                for (j, (code, &c)) in codes.iter_mut().zip(&fresh).enumerate() {
                    let c = (j * CENTROIDS) as u32 + c as u32;
                    changed += usize::from(c != *code);
                    *code = c;
                }
                changed
            })
            .sum()
    }
}

impl Tuned {
    /// Table rows `rows` (any order), `[rows.len(), d]`: row 0 and the head's from their own
    /// parameters, every other from its centroids (set side by side, or summed for residual
    /// codes). A step with sampled negatives asks only for the rows it reads; building the
    /// whole table would cost `rows x books x width` values every step.
    fn rows_of(&self, layout: &Layout, rows: &[u32], device: &Device) -> Tensor<2> {
        let first_coded = 1 + layout.head.len();
        let (mut whole, mut coded) = (Vec::new(), Vec::new());
        for &r in rows {
            let k = layout.order[r as usize] as usize;
            if k < first_coded {
                whole.push(k as u32);
            } else {
                let at = (k - first_coded) * layout.books;
                coded.extend_from_slice(&layout.codes[at..at + layout.books]);
            }
        }
        let n_coded = coded.len() / layout.books;
        let mut parts = Vec::new();
        if !whole.is_empty() {
            let mut stacked = vec![self.padding.val()];
            stacked.extend(self.head.as_ref().map(Param::val));
            parts.push(Tensor::cat(stacked, 0).select(0, int_tensor(&whole, device)));
        }
        if n_coded > 0 {
            let items = self.centroids.val().select(0, int_tensor(&coded, device));
            parts.push(if layout.residual {
                items
                    .reshape([n_coded, layout.books, layout.d])
                    .sum_dim(1)
                    .reshape([n_coded, layout.d])
            } else {
                items.reshape([n_coded, layout.d])
            });
        }
        // Back in the order asked: whole rows first in `parts`, then coded ones.
        let (mut next_whole, mut next_coded) = (0u32, whole.len() as u32);
        let order: Vec<u32> = rows
            .iter()
            .map(|&r| {
                let slot = if (layout.order[r as usize] as usize) < first_coded {
                    &mut next_whole
                } else {
                    &mut next_coded
                };
                *slot += 1;
                *slot - 1
            })
            .collect();
        Tensor::cat(parts, 0).select(0, int_tensor(&order, device))
    }

    /// The model for ranking: its item table as a file stores it, with the codebooks and the
    /// rows of row 0 and the head in int8, each coded row decoded in codebook order as
    /// [`ProductQuantized::decode`] and a file's table (`CodedTable::row_into`) decode it, so the
    /// model ranks exactly as a written file will; and the codebooks so rounded.
    /// `codes` are the layout's codes as [`Layout::row_codes`] gives them (those of the epoch
    /// this state is from, which reassignment may since have changed).
    fn for_ranking(self, layout: &Layout, codes: Vec<u8>) -> Result<(SeqRec, Vec<f32>)> {
        let tuned = self.valid();
        let [n, width] = tuned.centroids.val().dims();
        let books = Quantized::quantize(&floats(tuned.centroids.val())?, n, width, Encoding::Int8)
            .dequantize();
        let d = layout.d;
        let mut table = ProductQuantized::new(
            layout.rows,
            d,
            layout.books,
            layout.residual,
            books.clone(),
            codes,
        )?
        .decode();
        let mut whole = vec![tuned.padding.val()];
        whole.extend(tuned.head.as_ref().map(Param::val));
        let whole = floats(Tensor::cat(whole, 0))?;
        for (r, own) in std::iter::once(0)
            .chain(layout.head.iter().copied())
            .zip(whole.chunks_exact(d))
        {
            let stored = Quantized::quantize(own, 1, d, Encoding::Int8).dequantize();
            table[r * d..(r + 1) * d].copy_from_slice(&stored);
        }
        let mut model = tuned.model;
        model.set_item_table(table)?;
        Ok((model, books))
    }
}

/// Fine-tunes `model` (trained, on the CPU) through `pq`, codes of its own item table, on the
/// training histories of `data`: every row but row 0 and the `head` rows (kept whole and trained
/// as rows) is its centroids. Keeps the epoch with the best validation NDCG@10 (epoch 0, k-means
/// alone, included). `item_attrs` are the model's item attributes. Full cross-entropy or sampled
/// negatives as the trainer chooses for the catalogue ([`TrainOptions::negatives_for`]).
pub fn fine_tune(
    model: SeqRec,
    config: &SeqRecConfig,
    pq: &ProductQuantized,
    head: &[usize],
    data: &Prepared,
    item_attrs: &[Vec<u32>],
    opts: &PqTuneOptions,
) -> Result<PqTuned> {
    let (rows, d) = (config.n_items + 1, config.d_model);
    if pq.rows != rows || pq.cols != d {
        return Err(Error::InvalidArgument(format!(
            "codes of a [{}, {}] table for a model of [{rows}, {d}]",
            pq.rows, pq.cols
        )));
    }
    let mut layout = Layout::new(pq, head)?;
    let started = Instant::now();
    let cpu = crate::cpu_device();
    let device = cpu.clone().autodiff();
    let table = model.item_table()?;
    let mut bare = model;
    bare.set_item_table(Vec::new())?;
    let matrix = |values: Vec<f32>, shape: [usize; 2]| {
        Param::from_tensor(Tensor::<2>::from_data(TensorData::new(values, shape), &cpu))
    };
    let head_rows: Vec<f32> = layout
        .head
        .iter()
        .flat_map(|&r| table[r * d..(r + 1) * d].iter().copied())
        .collect();
    let mut tuned = Tuned {
        model: bare,
        padding: matrix(table[..d].to_vec(), [1, d]),
        head: (!layout.head.is_empty()).then(|| matrix(head_rows, [layout.head.len(), d])),
        centroids: matrix(pq.codebooks.clone(), [pq.books * CENTROIDS, pq.width()]),
    }
    .fork(&device)
    .train()
    .map(&mut RequireGrad);
    if opts.table_only {
        tuned.model = tuned.model.freeze();
    }
    // The latent table starts as the file's rows; without reassignment they are dropped here.
    let mut latent = opts
        .reassign
        .then(|| {
            let adam = AdamSettings {
                beta_1: ADAM_BETAS.0,
                beta_2: ADAM_BETAS.1,
                epsilon: ADAM_EPSILON,
                weight_decay: 0.0,
            };
            LazyTable::new(table, d, adam)
        })
        .transpose()?;

    let train = TrainOptions::default();
    let n_negatives = opts
        .negatives
        .unwrap_or_else(|| train.negatives_for(config.n_items));
    let examples = examples(data, config.max_len);
    if examples.is_empty() {
        return Err(Error::InvalidArgument(
            "no user has two or more training events".into(),
        ));
    }
    let valid_cases = seeded_sample(
        cases(data, Split::Valid),
        DEFAULT_VALIDATION_USERS,
        opts.seed,
    );
    // Each validation builds the model it ranks with and drops it: the best epoch is kept as
    // its (small) trained state and codes, and its model built again at the end, so only one
    // decoded table (128 MB at 500,000 items) exists at a time.
    let validate = |tuned: &Tuned, layout: &Layout| -> Result<Scores> {
        let (model, _) = tuned.clone().for_ranking(layout, layout.row_codes())?;
        let valid = evaluate(&model, config, item_attrs, &valid_cases, false)?;
        Ok(Scores::from(&valid.metrics))
    };
    let t0 = Instant::now();
    let valid = validate(&tuned, &layout)?;
    let codes0 = layout.row_codes();
    let mut curve = vec![TuneEpoch {
        epoch: 0,
        loss: f64::NAN,
        seconds: t0.elapsed().as_secs_f64(),
        histories: 0,
        reassigned: 0,
        valid,
    }];
    let mut best = (valid.ndcg10, 0, tuned.clone(), codes0);

    let adam = AdamConfig::new()
        .with_beta_1(ADAM_BETAS.0)
        .with_beta_2(ADAM_BETAS.1)
        .with_epsilon(ADAM_EPSILON);
    let mut optim = adam.init();
    let all_rows: Vec<u32> = (0..rows as u32).collect();
    let mut stopped = format!("reached {} epochs", opts.epochs);
    for epoch in 1..=opts.epochs {
        if opts.deadline.is_some_and(|d| Instant::now() >= d) {
            stopped = format!("time limit reached before epoch {epoch}");
            break;
        }
        let (mut batches, mut rng) =
            epoch_batches(examples.len(), opts.batch_size, opts.seed, epoch);
        // The batches are a shuffled partition: their first histories are a fresh sample.
        if opts.epoch_histories > 0 {
            let mut left = opts.epoch_histories;
            batches.retain_mut(|b| {
                b.truncate(left);
                left -= b.len();
                !b.is_empty()
            });
        }
        let histories = batches.iter().map(Vec::len).sum();
        device.seed(epoch_seed(opts.seed.wrapping_add(1), epoch));
        let bar = progress_bar(opts.progress, batches.len(), epoch);
        let mut t = Instant::now();
        let mut loss_sum = 0.0;
        for chunk in &batches {
            let StepBatch {
                mut groups,
                mut targets,
                weights,
            } = StepBatch::new(&examples, chunk, config, item_attrs, opts.purchase_weight);
            let mut negatives = draw_negatives(
                &mut rng,
                train.negative_sharing,
                n_negatives,
                chunk.len(),
                targets.len(),
                config.n_items,
            );
            // With sampled negatives the step reads only the rows it gathers, renumbered
            // (as the trainer's sparse table does); full cross-entropy reads every row.
            let gathered;
            let step: &[u32] = if n_negatives > 0 {
                let ids = groups
                    .iter()
                    .flat_map(|(b, _)| b.item_rows())
                    .chain(targets.iter().copied())
                    .chain(negatives.iter().copied());
                gathered = step_rows(ids);
                for x in targets.iter_mut().chain(&mut negatives) {
                    *x = local_row(&gathered, *x);
                }
                for (batch, _) in &mut groups {
                    batch.renumber_items(|x| local_row(&gathered, x));
                }
                &gathered
            } else {
                &all_rows
            };
            let mut table = tuned.rows_of(&layout, step, &device);
            // The rows' own gradient, for the latent table: that of a zero added to them.
            let zero = latent.is_some().then(|| {
                let [n, _] = table.dims();
                Tensor::<2>::zeros([n, d], &device).require_grad()
            });
            if let Some(z) = &zero {
                table = table + z.clone();
            }
            let parts = groups
                .into_iter()
                .map(|(batch, rows)| {
                    let items: Vec<u32> = batch.item_rows().collect();
                    let items = table.clone().select(0, int_tensor(&items, &device));
                    Positions::of(tuned.model.encode_with_items(&batch, items), &rows)
                })
                .collect();
            let scored = objective(
                ScoreTable::Tensor(table),
                Positions::cat(parts),
                &targets,
                &negatives,
                train.negative_sharing,
                weights.as_deref(),
            )?;
            if !scored.loss.is_finite() {
                return Err(Error::Compute(format!(
                    "loss became {} in fine-tuning epoch {epoch}; lower the learning rate",
                    scored.loss
                )));
            }
            loss_sum += scored.loss;
            let mut grads = scored.surrogate.backward();
            if let (Some(latent), Some(z)) = (&mut latent, zero)
                && let Some(g) = z.grad_remove(&mut grads)
            {
                latent.step(opts.learning_rate, step, &floats(g)?)?;
            }
            let grads = GradientsParams::from_grads(grads, &tuned);
            tuned = optim.step(opts.learning_rate, tuned, grads);
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        let reassigned = match &latent {
            Some(latent) => {
                let books = floats(tuned.centroids.val())?;
                layout.reassign(latent.values(), pq, &books)
            }
            None => 0,
        };
        let seconds = lap(&mut t);
        let valid = validate(&tuned, &layout)?;
        let loss = loss_sum / batches.len().max(1) as f64;
        if let Some(bar) = bar {
            bar.finish_with_message(format!(
                "fine-tuning through the codes: loss {loss:.4} · valid NDCG@10 {:.4}",
                valid.ndcg10
            ));
        }
        curve.push(TuneEpoch {
            epoch,
            loss,
            seconds,
            histories,
            reassigned,
            valid,
        });
        if valid.ndcg10 > best.0 {
            best = (valid.ndcg10, epoch, tuned.clone(), layout.row_codes());
        }
        if epoch - best.1 >= opts.patience {
            stopped = early_stop(opts.patience);
            break;
        }
    }
    let (_, best_epoch, state, codes) = best;
    drop(tuned);
    let (model, codebooks) = state.for_ranking(&layout, codes.clone())?;
    Ok(PqTuned {
        model,
        codebooks,
        codes,
        best_epoch,
        curve,
        stopped,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table whose rows are their own centroids (fewer rows than centroids), in 2 subspaces.
    fn coded(rows: usize, d: usize) -> (Vec<f32>, ProductQuantized) {
        let values: Vec<f32> = (0..rows * d)
            .map(|i| ((i * 37 % 101) as f32) / 50.0)
            .collect();
        let pq = ProductQuantized::train(&values, rows, d, 2, false, 1 << 16, 7).unwrap();
        (values, pq)
    }

    #[test]
    fn the_layout_stacks_row_0_the_head_and_the_coded_rows() {
        let (_, pq) = coded(6, 4);
        let layout = Layout::new(&pq, &[4, 2]).unwrap();
        // Row 0 first, then the head (rows 2, 4) in table order, then rows 1, 3, 5.
        assert_eq!(layout.order, vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(layout.head, vec![2, 4]);
        assert_eq!(layout.codes.len(), 3 * 2);
        for (k, r) in [1usize, 3, 5].into_iter().enumerate() {
            for j in 0..2 {
                let code = pq.codes[r * 2 + j] as u32;
                assert_eq!(layout.codes[k * 2 + j], (j * CENTROIDS) as u32 + code);
            }
        }
        // Row codes: the coded rows' own, zeros for row 0 and the head.
        let codes = layout.row_codes();
        for r in [1usize, 3, 5] {
            assert_eq!(
                codes[r * 2..r * 2 + 2],
                pq.codes[r * 2..r * 2 + 2],
                "row {r}"
            );
        }
        assert_eq!(codes[..2], [0, 0]);
        assert_eq!(codes[4..6], [0, 0]);
        for bad in [&[0usize][..], &[6], &[2, 2]] {
            assert!(Layout::new(&pq, bad).is_err(), "{bad:?}");
        }
    }

    /// The rows a step asks for, in its order: row 0 and the head's from their parameters, every
    /// other row its centroids as the codes decode on the host, for product and residual codes.
    #[test]
    fn rows_of_a_step_are_their_parameters_or_their_decoded_codes() {
        let (rows, d) = (9, 4);
        let values: Vec<f32> = (0..rows * d)
            .map(|i| ((i * 37 % 101) as f32) / 50.0)
            .collect();
        let device = crate::cpu_device();
        let config = SeqRecConfig::new(rows - 1)
            .with_d_model(d)
            .with_layers(1)
            .with_max_len(4);
        for residual in [false, true] {
            let pq = ProductQuantized::train(&values, rows, d, 2, residual, 1 << 16, 7).unwrap();
            let layout = Layout::new(&pq, &[6, 2]).unwrap();
            let matrix = |v: Vec<f32>, shape: [usize; 2]| {
                Param::from_tensor(Tensor::<2>::from_data(TensorData::new(v, shape), &device))
            };
            // Whole rows' parameters differ from the values their codes would give.
            let own = |r: usize| -> Vec<f32> {
                values[r * d..(r + 1) * d]
                    .iter()
                    .map(|v| v + 10.0)
                    .collect()
            };
            let tuned = Tuned {
                model: config.init(&device).unwrap(),
                padding: matrix(own(0), [1, d]),
                head: Some(matrix([own(2), own(6)].concat(), [2, d])),
                centroids: matrix(pq.codebooks.clone(), [2 * CENTROIDS, pq.width()]),
            };
            let mut table = pq.decode();
            for r in [0, 2, 6] {
                table[r * d..(r + 1) * d].copy_from_slice(&own(r));
            }
            let asked = [5u32, 0, 2, 8, 6, 1];
            let got = floats(tuned.rows_of(&layout, &asked, &device)).unwrap();
            for (i, &r) in asked.iter().enumerate() {
                let r = r as usize;
                for (a, b) in got[i * d..(i + 1) * d]
                    .iter()
                    .zip(&table[r * d..(r + 1) * d])
                {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "residual {residual}, row {r}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn reassignment_moves_a_row_to_the_centroids_nearest_its_latent_row() {
        let (values, pq) = coded(6, 4);
        let mut layout = Layout::new(&pq, &[2]).unwrap();
        let before = layout.codes.clone();
        // Latent rows where the table is: every code stays.
        assert_eq!(layout.reassign(&values, &pq, &pq.codebooks), 0);
        assert_eq!(layout.codes, before);
        // Row 5 (the last of the coded rows 1, 3, 4, 5) moves onto row 1's values: it takes
        // row 1's codes, and the others keep theirs.
        let mut latent = values.clone();
        latent.copy_within(4..8, 20);
        let changed = layout.reassign(&latent, &pq, &pq.codebooks);
        assert!(changed > 0 && changed <= 2, "{changed}");
        assert_eq!(layout.codes[3 * 2..], before[..2]);
        assert_eq!(layout.codes[..3 * 2], before[..3 * 2]);
    }
}
