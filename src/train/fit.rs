//! The training loop: Adam, sampled softmax or full cross-entropy, early stopping on
//! validation NDCG@10.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::model::{SeqBatch, SeqRec, SeqRecConfig, Step, floats, floats_shared};

use super::eval::{Scores, Split, cases, evaluate};
use super::lazy::{AdamSettings, Gathered, LazyTable, local_row, step_rows};
use super::options::{NegativeSharing, TrainOptions};
use super::prepare::Prepared;

/// One epoch of the training curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub seconds: f64,
    pub sequences_per_second: f64,
    /// Where the epoch's training steps spent their time.
    #[serde(default)]
    pub steps: StepTimes,
    /// Seconds ranking the validation users after the epoch.
    #[serde(default)]
    pub valid_seconds: f64,
    pub valid: Scores,
}

/// Seconds an epoch's training steps spent in each part (burn's CPU backend runs eagerly, so the
/// wall clock around each part measures it).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct StepTimes {
    /// The encoder: embeddings, Transformer blocks, final LayerNorm.
    pub forward: f64,
    /// The loss over the positions with a target and its gradients ([`super::softmax`]).
    pub loss: f64,
    /// Autodiff's backward pass from those gradients through the encoder.
    pub backward: f64,
    /// Adam's update of every parameter.
    pub optimizer: f64,
}

/// Everything the training loop learned.
pub struct Trained {
    pub model: SeqRec,
    pub best_epoch: usize,
    /// Users validated per epoch, of those with a validation target.
    pub validation_users: (usize, usize),
    pub curve: Vec<EpochLog>,
    pub train_seconds: f64,
    pub sequences_per_second: f64,
    pub stopped: String,
}

/// Where an interrupted run stopped: the last epoch's weights and Adam's state (so training
/// continues exactly as if it had not stopped), and the best model and curve so far.
pub struct Resume {
    /// The weights after the last completed epoch (on any device; moved to the trainer's).
    pub model: SeqRec,
    /// Adam's state after that epoch ([`Checkpoint::optimizer`]).
    pub optimizer: Vec<u8>,
    /// The sparse item table's Adam state ([`LazyTable::write_state`]).
    pub item_optimizer: Option<Vec<u8>>,
    /// The parameter ids that state refers to ([`Checkpoint::param_ids`]).
    pub param_ids: Vec<u64>,
    pub curve: Vec<EpochLog>,
    pub best_epoch: usize,
    pub best_model: SeqRec,
}

/// What the trainer hands out after every epoch, enough to [`Resume`] from.
pub struct Checkpoint<'a> {
    /// The weights after this epoch.
    pub model: &'a SeqRec,
    /// Adam's state (moments and step count), as burn serialises it.
    pub optimizer: Vec<u8>,
    /// With sampled negatives, the item table trained outside burn's optimizer: its lazy Adam
    /// state goes into the checkpoint through [`LazyTable::write_state`].
    pub item_optimizer: Option<&'a LazyTable>,
    /// The ids of the model's parameters in module order: Adam's state is keyed by them, and a
    /// model rebuilt from weights gets new ones, so [`Resume`] gives them back.
    pub param_ids: Vec<u64>,
    /// The best model so far and whether this epoch made it.
    pub best: &'a SeqRec,
    pub improved: bool,
    pub curve: &'a [EpochLog],
    pub best_epoch: usize,
}

/// The ids of a module's float parameters, in visiting order.
struct CollectIds(Vec<u64>);

impl burn::module::ModuleVisitor for CollectIds {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        self.0.push(param.id.val());
    }
}

/// Gives a module's float parameters the ids of a [`CollectIds`] walk, in the same order.
struct AssignIds<'a>(std::slice::Iter<'a, u64>);

impl burn::module::ModuleMapper for AssignIds<'_> {
    fn map_float<const D: usize>(
        &mut self,
        mut param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        if let Some(&id) = self.0.next() {
            param.id = burn::module::ParamId::from(id);
        }
        param
    }
}

/// The generator of an epoch's shuffles and negatives: a function of the seed and the epoch
/// alone, so a resumed run draws what the uninterrupted one would have.
pub(super) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One training example: a history and, per position, the next item event after it (0 = none).
/// A search carries no item, so a position followed by a search learns the item the shopper went
/// on to (after a purchase: the search, then views of what they wanted next). Recommendations
/// answer "what next?" at every position, including right after a purchase.
fn example(steps: &[Step], max_len: usize) -> Option<(&[Step], Vec<u32>)> {
    if steps.len() < 2 {
        return None;
    }
    let input = &steps[..steps.len() - 1];
    let mut targets = vec![0u32; input.len()];
    let mut next = 0u32;
    for (i, target) in targets.iter_mut().enumerate().rev() {
        if steps[i + 1].item != 0 {
            next = steps[i + 1].item;
        }
        *target = next;
    }
    if targets.iter().all(|&t| t == 0) {
        return None;
    }
    let start = input.len().saturating_sub(max_len);
    Some((&input[start..], targets[start..].to_vec()))
}

/// The positions of a batch (padded on the left to `len`) that have a target, as indices into the
/// flattened `[batch, len]` positions, their targets, and, when `purchase_weight` is not 1, one
/// loss weight per position: `purchase_weight` where the input step is a purchase, else 1.
fn loss_rows<'a>(
    examples: impl Iterator<Item = &'a (&'a [Step], Vec<u32>)>,
    len: usize,
    purchase_weight: f64,
) -> (Vec<i64>, Vec<u32>, Option<Vec<f32>>) {
    let weighted = purchase_weight != 1.0;
    let (mut rows, mut targets, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    for (b, (steps, t)) in examples.enumerate() {
        let pad = len - t.len();
        for (j, &item) in t.iter().enumerate().filter(|(_, item)| **item != 0) {
            rows.push((b * len + pad + j) as i64);
            targets.push(item);
            if weighted {
                let purchase = steps[j].kind == EventKind::Purchase.row();
                weights.push(if purchase {
                    purchase_weight as f32
                } else {
                    1.0
                });
            }
        }
    }
    (rows, targets, weighted.then_some(weights))
}

/// Adam's epsilon: PyTorch's default, which the published SASRec runs use, not burn's 1e-5. The
/// loss is a mean over thousands of positions, so a rarely seen item's embedding gets gradients
/// far below 1e-5; burn's epsilon then shrinks its steps many times over. On Beauty with the
/// published recipe (batch 512, lr 5e-4, dropout 0.6) validation NDCG@10 stayed at the
/// popularity level (0.009) for 6 epochs with 1e-5.
pub const ADAM_EPSILON: f32 = 1e-8;

/// Adam's betas: burn's and PyTorch's defaults.
pub(super) const ADAM_BETAS: (f32, f32) = (0.9, 0.999);

/// Trains with Adam and early stopping on validation NDCG@10. `on_epoch` sees every epoch (for
/// checkpoints). With `resume`, training continues after its last epoch exactly as the
/// uninterrupted run would have: same weights, Adam state, shuffles, negatives and dropout.
pub fn train(
    config: &SeqRecConfig,
    data: &Prepared,
    opts: &TrainOptions,
    mut resume: Option<Resume>,
    mut on_epoch: impl FnMut(Checkpoint<'_>) -> Result<()>,
) -> Result<Trained> {
    let device = opts.backend.device()?.autodiff();
    let on_cpu = opts.backend.is_cpu();
    let mut adam = AdamConfig::new()
        .with_beta_1(ADAM_BETAS.0)
        .with_beta_2(ADAM_BETAS.1)
        .with_epsilon(ADAM_EPSILON);
    if opts.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(
            opts.weight_decay as f32,
        )));
    }
    let resumed = resume.is_some();
    let item_state = resume.as_mut().and_then(|r| r.item_optimizer.take());
    let (mut model, mut optim, mut curve, mut best_epoch, mut best) = match resume {
        Some(r) => {
            let mut present = CollectIds(Vec::new());
            r.model.visit(&mut present);
            if r.param_ids.len() != present.0.len() {
                return Err(Error::ModelCorrupt(format!(
                    "the checkpoint names {} parameters, the model has {}",
                    r.param_ids.len(),
                    present.0.len()
                )));
            }
            let model = r
                .model
                .fork(&device)
                .map(&mut AssignIds(r.param_ids.iter()));
            let optim = adam
                .init()
                .from_bytes(burn::tensor::Bytes::from_bytes_vec(r.optimizer))
                .map_err(|e| Error::ModelCorrupt(format!("Adam's saved state: {e:?}")))?;
            (model, optim, r.curve, r.best_epoch, Some(r.best_model))
        }
        None if on_cpu => {
            device.seed(opts.seed);
            (config.init(&device)?, adam.init(), Vec::new(), 0, None)
        }
        None => {
            // A GPU's generator differs from the CPU's: the weights are drawn on the CPU and
            // moved, so a seed starts from the same model on every device.
            let cpu = crate::cpu_device().autodiff();
            cpu.seed(opts.seed);
            let model = config.init(&cpu)?.fork(&device);
            (model, adam.init(), Vec::new(), 0, None)
        }
    };
    let mut best_ndcg = curve
        .iter()
        .map(|e| e.valid.ndcg10)
        .fold(f64::NEG_INFINITY, f64::max);
    let all_valid = cases(data, Split::Valid);
    let validation_of = all_valid.len();
    let valid_cases = seeded_sample(all_valid, opts.validation_users, opts.seed);
    let examples = examples(data, config.max_len);
    if examples.is_empty() {
        return Err(Error::InvalidArgument(
            "no user has two or more training events".into(),
        ));
    }
    let n_items = config.n_items;
    let d = config.d_model;
    let n_negatives = opts.negatives_for(n_items);
    // Sampled negatives read a small part of the item table per step: it trains as a sparse
    // table with lazy Adam ([`super::lazy`]). Full cross-entropy reads every row every step, so
    // there the table stays in the model with dense Adam.
    let mut lazy = if n_negatives > 0 && !opts.dense_item_adam {
        let mut table = LazyTable::new(
            model.item_table()?,
            config.d_model,
            AdamSettings {
                beta_1: ADAM_BETAS.0,
                beta_2: ADAM_BETAS.1,
                epsilon: ADAM_EPSILON,
                weight_decay: opts.weight_decay as f32,
            },
        )?;
        match &item_state {
            Some(bytes) => table.restore(bytes)?,
            None if resumed => {
                return Err(Error::ModelCorrupt(
                    "the checkpoint has no Adam state for the sparse item table (written by an \
                     older localrec): rerun without --resume"
                        .into(),
                ));
            }
            None => {}
        }
        Some(table)
    } else {
        None
    };
    let started = Instant::now();
    let mut trained_seqs = 0usize;
    let mut train_time = 0.0f64;
    let mut stopped = format!("reached {} epochs", opts.epochs);
    let first_epoch = curve.len() + 1;
    for epoch in first_epoch..=opts.epochs {
        let (batches_of_epoch, mut rng) =
            epoch_batches(examples.len(), opts.batch_size, opts.seed, epoch);
        device.seed(epoch_seed(opts.seed.wrapping_add(1), epoch));
        if lazy.is_some() {
            // The sparse table holds the values until the epoch ends.
            model.set_item_table(Vec::new())?;
        }
        let bar = progress_bar(opts.progress, batches_of_epoch.len(), epoch);
        let t0 = Instant::now();
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        let mut times = StepTimes::default();
        for chunk in batches_of_epoch.iter().map(Vec::as_slice) {
            let mut t = Instant::now();
            let StepBatch {
                groups,
                mut targets,
                weights,
            } = StepBatch::new(
                &examples,
                chunk,
                config,
                &data.item_attrs,
                opts.purchase_weight,
            );
            let mut negatives = draw_negatives(
                &mut rng,
                opts.negative_sharing,
                n_negatives,
                chunk.len(),
                targets.len(),
                n_items,
            );
            // With sampled negatives the step reads only the item rows it gathers, renumbered.
            let step_rows = if n_negatives > 0 {
                let ids = groups
                    .iter()
                    .flat_map(|(b, _)| b.item_rows())
                    .chain(targets.iter().copied())
                    .chain(negatives.iter().copied());
                let rows = match &lazy {
                    Some(table) if on_cpu => StepRows::Host(table.gather(ids)?),
                    Some(table) => {
                        let (rows, table) = table.gather(ids)?.into_tensor(&device);
                        StepRows::Tensor { rows, table }
                    }
                    None => {
                        let rows = step_rows(ids);
                        let table = model
                            .output_embeddings()
                            .select(0, int_tensor(&rows, &device));
                        StepRows::Tensor { rows, table }
                    }
                };
                for x in targets.iter_mut().chain(&mut negatives) {
                    *x = local_row(rows.rows(), *x);
                }
                Some(rows)
            } else {
                None
            };
            // Each group's item rows as the encoder reads them: from the model's table, selected
            // from the step's rows, or (on the host) a leaf whose gradient is kept.
            let mut parts = Vec::with_capacity(groups.len());
            let mut leaves = Vec::new();
            for (mut batch, rows) in groups {
                let hidden = match &step_rows {
                    None => model.encode(&batch),
                    Some(s) => {
                        batch.renumber_items(|x| local_row(s.rows(), x));
                        let items: Vec<u32> = batch.item_rows().collect();
                        let item_rows = match s {
                            StepRows::Host(g) => {
                                let leaf = Tensor::<2>::from_data(
                                    TensorData::new(g.rows_of(&items), [items.len(), d]),
                                    &device,
                                )
                                .require_grad();
                                leaves.push((leaf.clone(), items));
                                leaf
                            }
                            StepRows::Tensor { table, .. } => {
                                table.clone().select(0, int_tensor(&items, &device))
                            }
                        };
                        model.encode_with_items(&batch, item_rows)
                    }
                };
                parts.push(Positions::of(hidden, &rows));
            }
            let positions = Positions::cat(parts);
            let table = match &step_rows {
                None => ScoreTable::Tensor(model.output_embeddings()),
                Some(StepRows::Host(g)) => ScoreTable::Host(&g.values),
                Some(StepRows::Tensor { table, .. }) => ScoreTable::Tensor(table.clone()),
            };
            times.forward += lap(&mut t);
            // The CPU computes the loss's gradients by hand; a GPU keeps the loss on the device.
            let score = if on_cpu { objective } else { device_objective };
            let scored = score(
                table,
                positions,
                &targets,
                &negatives,
                opts.negative_sharing,
                weights.as_deref(),
            )?;
            let value = scored.loss;
            times.loss += lap(&mut t);
            if !value.is_finite() {
                return Err(Error::Compute(format!(
                    "loss became {value} in epoch {epoch}; lower the learning rate"
                )));
            }
            let mut grads = scored.surrogate.backward();
            // The sparse table's gradient: the loss's (on the host) plus the encoder's, or the
            // uploaded rows' own.
            let table_grad = match (&lazy, step_rows) {
                (Some(_), Some(StepRows::Host(g))) => {
                    let mut grad = scored.d_table.unwrap_or_else(|| vec![0.0; g.values.len()]);
                    for (leaf, items) in leaves {
                        if let Some(rows_grad) = leaf.grad_remove(&mut grads) {
                            g.scatter_add(&mut grad, &items, &floats(rows_grad)?);
                        }
                    }
                    Some((g.rows, grad))
                }
                (Some(_), Some(StepRows::Tensor { rows, table })) => {
                    let grad = match table.grad_remove(&mut grads) {
                        Some(grad) => floats(grad)?,
                        None => vec![0.0; rows.len() * d],
                    };
                    Some((rows, grad))
                }
                _ => None,
            };
            let grads = GradientsParams::from_grads(grads, &model);
            times.backward += lap(&mut t);
            model = optim.step(opts.learning_rate, model, grads);
            if let (Some(table), Some((rows, grad))) = (&mut lazy, table_grad) {
                table.step(opts.learning_rate, &rows, &grad)?;
            }
            times.optimizer += lap(&mut t);
            loss_sum += value;
            batches += 1;
            trained_seqs += chunk.len();
            if let Some(bar) = &bar {
                bar.inc(1);
                bar.set_message(format!("loss {:.4}", loss_sum / batches as f64));
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        train_time += seconds;
        if let Some(table) = &lazy {
            model.set_item_table(table.values().to_vec())?;
        }
        let eval_model = model.valid();
        let t_valid = Instant::now();
        let valid = evaluate(&eval_model, config, &data.item_attrs, &valid_cases, false)?;
        let valid_seconds = t_valid.elapsed().as_secs_f64();
        let log = EpochLog {
            epoch,
            loss: loss_sum / batches.max(1) as f64,
            seconds,
            sequences_per_second: examples.len() as f64 / seconds,
            steps: times,
            valid_seconds,
            valid: Scores::from(&valid.metrics),
        };
        if let Some(bar) = bar {
            bar.finish_with_message(format!(
                "loss {:.4} · {:.0} seq/s (forward {:.0}s loss {:.0}s backward {:.0}s adam {:.0}s) · valid HR@10 {:.4} NDCG@10 {:.4}",
                log.loss,
                log.sequences_per_second,
                times.forward,
                times.loss,
                times.backward,
                times.optimizer,
                log.valid.hr10,
                log.valid.ndcg10
            ));
        }
        curve.push(log);
        let improved = valid.metrics.ndcg() > best_ndcg;
        if improved {
            best_ndcg = valid.metrics.ndcg();
            best_epoch = epoch;
            best = Some(eval_model);
        }
        let mut ids = CollectIds(Vec::new());
        model.visit(&mut ids);
        let optimizer = optim
            .into_bytes()
            .map_err(|e| Error::Compute(format!("cannot save Adam's state: {e:?}")))?
            .to_vec();
        on_epoch(Checkpoint {
            model: &model,
            optimizer,
            item_optimizer: lazy.as_ref(),
            param_ids: ids.0,
            best: best.as_ref().unwrap_or(&model),
            improved,
            curve: &curve,
            best_epoch,
        })?;
        if epoch - best_epoch >= opts.patience {
            stopped = early_stop(opts.patience);
            break;
        }
        if opts
            .time_limit
            .is_some_and(|limit| started.elapsed() >= limit)
        {
            stopped = format!("time limit reached after epoch {epoch}");
            break;
        }
    }
    let model = best.unwrap_or_else(|| model.valid());
    Ok(Trained {
        model,
        best_epoch,
        validation_users: (valid_cases.len(), validation_of),
        curve,
        train_seconds: started.elapsed().as_secs_f64(),
        sequences_per_second: trained_seqs as f64 / train_time.max(1e-9),
        stopped,
    })
}

/// A seeded sample of `n` evaluation cases (in their original order), or all of them when there
/// are no more than `n` or `n` is 0: the validation users (the same in every epoch and after
/// `--resume`) and, with `--test-users`, the test users.
pub fn seeded_sample<T>(all: Vec<T>, n: usize, seed: u64) -> Vec<T> {
    if n == 0 || all.len() <= n {
        return all;
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7a11_d5e7);
    let mut keep = rand::seq::index::sample(&mut rng, all.len(), n).into_vec();
    keep.sort_unstable();
    let mut keep = keep.into_iter().peekable();
    all.into_iter()
        .enumerate()
        .filter_map(|(i, c)| (keep.next_if_eq(&i).is_some()).then_some(c))
        .collect()
}

/// A training step's batch: its histories, shortest first, in groups of similar length (each
/// padded only to its own longest history and encoded on its own, with the positions that have
/// a target), the targets of all groups in order, and their loss weights when the purchase
/// weight is not 1.
pub(super) struct StepBatch {
    pub groups: Vec<(SeqBatch, Vec<i64>)>,
    pub targets: Vec<u32>,
    pub weights: Option<Vec<f32>>,
}

impl StepBatch {
    pub fn new(
        examples: &[(&[Step], Vec<u32>)],
        chunk: &[usize],
        config: &SeqRecConfig,
        item_attrs: &[Vec<u32>],
        purchase_weight: f64,
    ) -> Self {
        let mut order: Vec<usize> = chunk.to_vec();
        order.sort_by_key(|&i| examples[i].0.len());
        let mut groups = Vec::new();
        let (mut targets, mut weights) = (Vec::new(), Vec::new());
        for group in length_groups(&order, |i| examples[i].0.len()) {
            let histories: Vec<&[Step]> = group.iter().map(|&i| examples[i].0).collect();
            let batch = SeqBatch::new(config, &histories, item_attrs);
            let (rows, group_targets, group_weights) = loss_rows(
                group.iter().map(|&i| &examples[i]),
                batch.len,
                purchase_weight,
            );
            targets.extend(group_targets);
            weights.extend(group_weights.into_iter().flatten());
            groups.push((batch, rows));
        }
        // `loss_rows` weighs positions exactly when the purchase weight is not 1.
        let weights = (purchase_weight != 1.0).then_some(weights);
        Self {
            groups,
            targets,
            weights,
        }
    }
}

/// A step's sampled negatives (none with full cross-entropy): `n` uniform item rows for the
/// batch, per sequence or per position, as `sharing` says.
pub(super) fn draw_negatives(
    rng: &mut StdRng,
    sharing: NegativeSharing,
    n: usize,
    sequences: usize,
    positions: usize,
    n_items: usize,
) -> Vec<u32> {
    let draws = match sharing {
        NegativeSharing::Batch => n,
        NegativeSharing::Sequence => n * sequences,
        NegativeSharing::Position => n * positions,
    };
    (0..draws)
        .map(|_| rng.random_range(1..=n_items as u32))
        .collect()
}

/// The training examples of `data`: every user's training history with two or more events.
pub(super) fn examples(data: &Prepared, max_len: usize) -> Vec<(&[Step], Vec<u32>)> {
    data.users
        .iter()
        .filter_map(|u| example(u.train_steps(), max_len))
        .collect()
}

/// Why a run that waited `patience` epochs for a better validation stopped (the trainer's and
/// fine-tuning's reports say it alike).
pub(super) fn early_stop(patience: usize) -> String {
    format!("early stop: no better validation NDCG@10 for {patience} epochs")
}

/// Seconds since `t`, restarting it.
pub(super) fn lap(t: &mut Instant) -> f64 {
    let now = Instant::now();
    let s = (now - *t).as_secs_f64();
    *t = now;
    s
}

/// An epoch's batches, and the generator its negatives are drawn from after them: functions of
/// the seed and the epoch alone, so a resumed run draws what the uninterrupted one would have.
///
/// Batches are drawn at random, whatever their histories' lengths, as the published SASRec
/// runs draw them; the training step then encodes each batch in groups of similar length
/// ([`length_groups`]), so padding costs little. Batches of similar-length histories (what
/// this trainer did before) train differently: the loss is a mean over a batch's positions,
/// so a batch of short histories (few positions) moved the weights as much as a batch of long
/// ones. On Beauty with the published recipe that batching trailed the published curve from
/// the first epochs (training loss after 5 epochs 8.82 against the published run's 8.64;
/// random batches: 8.65).
pub(super) fn epoch_batches(
    examples: usize,
    batch_size: usize,
    seed: u64,
    epoch: usize,
) -> (Vec<Vec<usize>>, StdRng) {
    let mut rng = StdRng::seed_from_u64(epoch_seed(seed, epoch));
    let mut order: Vec<usize> = (0..examples).collect();
    order.shuffle(&mut rng);
    let mut batches: Vec<Vec<usize>> = order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect();
    // In random order too (the short last batch anywhere): the draws of the batching this
    // replaced, so the shipped Beauty model's run is reproduced exactly.
    batches.shuffle(&mut rng);
    (batches, rng)
}

/// Splits histories sorted by length into groups to encode together: a group grows while padding
/// it to its newest member's length costs at most a quarter more positions than it holds, or
/// while it has 16 histories or fewer (each group is one more pass of small operations).
fn length_groups(sorted: &[usize], len: impl Fn(usize) -> usize) -> Vec<&[usize]> {
    let mut groups = Vec::new();
    let (mut start, mut real) = (0usize, 0usize);
    for (i, &e) in sorted.iter().enumerate() {
        let l = len(e);
        let n = i - start + 1;
        if n > 16 && n * l * 4 > (real + l) * 5 {
            groups.push(&sorted[start..i]);
            start = i;
            real = 0;
        }
        real += l;
    }
    if start < sorted.len() {
        groups.push(&sorted[start..]);
    }
    groups
}

pub(super) fn progress_bar(
    enabled: bool,
    len: usize,
    epoch: usize,
) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let style = indicatif::ProgressStyle::with_template(
        "epoch {prefix:>3} [{bar:30}] {pos}/{len} {per_sec} {elapsed} {msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(epoch.to_string());
    Some(bar)
}

/// Sampled softmax or, with no negatives, full cross-entropy over the catalogue, as plain tensor
/// ops (the definition; the training loop minimises [`objective`], which has the same gradients).
/// With [`NegativeSharing::Batch`] `negatives` is one set for every position; with
/// [`NegativeSharing::Sequence`] it holds one equal-sized set per sequence of the batch, in batch
/// order. A negative equal to its position's target is masked out. `rows` index the flattened
/// `[batch, len]` positions that have a target; `weights`, one per row, turn the mean over rows
/// into a weighted mean. Returns a one-element tensor.
#[allow(clippy::too_many_arguments)]
pub fn loss(
    model: &SeqRec,
    batch: &SeqBatch,
    rows: &[i64],
    targets: &[u32],
    negatives: &[u32],
    sharing: NegativeSharing,
    weights: Option<&[f32]>,
) -> Tensor<1> {
    let positions = Positions::of(model.encode(batch), rows);
    positions_loss(
        model.output_embeddings(),
        positions,
        targets,
        negatives,
        sharing,
        weights,
    )
}

/// [`loss`] at positions already gathered (one batch's or several's, [`Positions::cat`]),
/// scored against `table` (`[rows, d]`; row 0 is padding and takes no probability; targets and
/// negatives are its rows): what training on a GPU minimises, where the loss stays on the device
/// and autodiff differentiates it. `table` is the model's whole item table or the rows a step
/// gathered ([`super::lazy`]). With sampled negatives each position reads its own group's `n`
/// draws (one group per batch, sequence or position as `sharing` says).
pub fn positions_loss(
    table: Tensor<2>,
    positions: Positions,
    targets: &[u32],
    negatives: &[u32],
    sharing: NegativeSharing,
    weights: Option<&[f32]>,
) -> Tensor<1> {
    let device = table.device();
    let (groups, n_groups) = positions.negative_groups(sharing);
    let hp = positions.hidden;
    let [p, d] = hp.dims();
    let rows = table.dims()[0];
    if negatives.is_empty() {
        let mut col_mask = vec![0f32; rows];
        col_mask[0] = -1e9;
        let mask =
            Tensor::<1>::from_data(TensorData::new(col_mask, [rows]), &device).reshape([1, rows]);
        let logits = hp.matmul(table.transpose()) + mask;
        let logp = log_softmax(logits, 1);
        let target_t = int_tensor(targets, &device).reshape([p, 1]);
        return weighted_mean(logp.gather(1, target_t), weights).neg();
    }
    let n = negatives.len() / n_groups;
    // A mask for each position's draws that equal its target.
    let mut hits = vec![0f32; p * n];
    for (i, (&t, &group)) in targets.iter().zip(&groups).enumerate() {
        for (j, &x) in negatives[group * n..(group + 1) * n].iter().enumerate() {
            if x == t {
                hits[i * n + j] = -1e9;
            }
        }
    }
    let pos = table.clone().select(0, int_tensor(targets, &device));
    let neg_logits = if n_groups == 1 {
        // One set for every position: one product.
        hp.clone()
            .matmul(table.select(0, int_tensor(negatives, &device)).transpose())
    } else {
        // Each position's own group's draws.
        let rows: Vec<u32> = groups
            .iter()
            .flat_map(|&g| negatives[g * n..(g + 1) * n].iter().copied())
            .collect();
        hp.clone()
            .reshape([p, 1, d])
            .matmul(
                table
                    .select(0, int_tensor(&rows, &device))
                    .reshape([p, n, d])
                    .swap_dims(1, 2),
            )
            .reshape([p, n])
    };
    let pos_logit = (hp * pos).sum_dim(1);
    let hits = Tensor::<1>::from_data(TensorData::new(hits, [p * n]), &device).reshape([p, n]);
    let logits = Tensor::cat(vec![pos_logit, neg_logits + hits], 1);
    weighted_mean(log_softmax(logits, 1).narrow(1, 0, 1), weights).neg()
}

/// The positions a training step's loss reads, gathered from one or more encoded batches.
pub struct Positions {
    /// Their hidden states, `[p, d]`.
    pub hidden: Tensor<2>,
    /// The sequence each belongs to (`0..sequences`), for negatives drawn per sequence.
    pub sequence: Vec<usize>,
    pub sequences: usize,
}

impl Positions {
    /// The positions `rows` (indices into the flattened `[batch, len]` positions) of an encoded
    /// batch `hidden` (`[batch, len, d]`).
    pub fn of(hidden: Tensor<3>, rows: &[i64]) -> Self {
        let [b, l, _] = hidden.dims();
        Self {
            sequence: rows.iter().map(|&r| r as usize / l).collect(),
            hidden: target_positions(hidden, rows),
            sequences: b,
        }
    }

    /// Each position's group of sampled negatives (one group for the batch, one per sequence or
    /// one per position, as `sharing` says) and the number of groups.
    fn negative_groups(&self, sharing: NegativeSharing) -> (Vec<usize>, usize) {
        let p = self.sequence.len();
        match sharing {
            NegativeSharing::Batch => (vec![0; p], 1),
            NegativeSharing::Sequence => (self.sequence.clone(), self.sequences),
            NegativeSharing::Position => ((0..p).collect(), p),
        }
    }

    /// Several batches' positions as one, their sequences numbered on in order.
    pub fn cat(parts: Vec<Positions>) -> Self {
        let (mut hidden, mut sequence, mut sequences) = (Vec::new(), Vec::new(), 0);
        for part in parts {
            sequence.extend(part.sequence.iter().map(|s| sequences + s));
            sequences += part.sequences;
            hidden.push(part.hidden);
        }
        Self {
            hidden: Tensor::cat(hidden, 0),
            sequence,
            sequences,
        }
    }
}

/// The item rows a training step with sampled negatives reads ([`super::lazy`]). One lives for
/// a step, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum StepRows {
    /// The sparse table's rows on the host (training on the CPU): the encoder reads each group's
    /// positions as a leaf tensor, the loss reads the host rows, and their gradients meet on the
    /// host. No tensor of the gathered rows is made, differentiated or read back.
    Host(Gathered),
    /// The rows as one tensor: the sparse table's uploaded as a leaf (training on a GPU, where
    /// the loss runs as tensor ops), or selected from the model's own table
    /// (`--dense-item-adam`), which autodiff carries back to the whole table.
    Tensor { rows: Vec<u32>, table: Tensor<2> },
}

impl StepRows {
    /// Table rows, ascending; local row `i` is `rows()[i]`.
    fn rows(&self) -> &[u32] {
        match self {
            StepRows::Host(g) => &g.rows,
            StepRows::Tensor { rows, .. } => rows,
        }
    }
}

/// The table [`objective`] scores against (made once a step, so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub enum ScoreTable<'a> {
    /// A tensor (the model's item table or rows selected from it): the surrogate carries its
    /// gradient.
    Tensor(Tensor<2>),
    /// Rows on the host, `[rows, d]` row-major (a step's rows of the sparse table): their
    /// gradient comes back in [`Objective::d_table`].
    Host(&'a [f32]),
}

/// What the training loop minimises, and the loss's value.
pub struct Objective {
    /// A surrogate with exactly the loss's gradients (its own value means nothing).
    pub surrogate: Tensor<1>,
    pub loss: f64,
    /// The gradient of a [`ScoreTable::Host`] table, `[rows, d]` row-major.
    pub d_table: Option<Vec<f32>>,
}

/// What the training loop minimises at `positions`: a surrogate with exactly the gradients of
/// [`positions_loss`] against `table` (computed by [`super::softmax`] without autodiff), and the
/// loss's value. With sampled negatives the table is the rows a step gathered, so the loss reads
/// a small table whatever the catalogue's size; full cross-entropy reads the whole one.
pub fn objective(
    table: ScoreTable<'_>,
    positions: Positions,
    targets: &[u32],
    negatives: &[u32],
    sharing: NegativeSharing,
    weights: Option<&[f32]>,
) -> Result<Objective> {
    let device = positions.hidden.device();
    let (groups, n_groups) = positions.negative_groups(sharing);
    let hp = positions.hidden;
    let [p, d] = hp.dims();
    let read;
    let host_table = match &table {
        ScoreTable::Tensor(t) => {
            read = floats_shared(t.clone())?;
            &read[..]
        }
        ScoreTable::Host(values) => values,
    };
    let hidden = floats_shared(hp.clone())?;
    let ce = if negatives.is_empty() {
        super::softmax::full_cross_entropy(&hidden, host_table, d, targets, weights)?
    } else {
        super::softmax::sampled_cross_entropy(
            &hidden,
            host_table,
            d,
            targets,
            &groups,
            negatives,
            negatives.len() / n_groups.max(1),
            weights,
        )?
    };
    let constant = |values: Vec<f32>, rows: usize| {
        Tensor::<2>::from_data(TensorData::new(values, [rows, d]), &device)
    };
    let surrogate = (hp * constant(ce.d_hidden, p)).sum();
    Ok(match table {
        ScoreTable::Tensor(t) => {
            let rows = t.dims()[0];
            Objective {
                surrogate: surrogate + (t * constant(ce.d_table, rows)).sum(),
                loss: ce.loss,
                d_table: None,
            }
        }
        ScoreTable::Host(_) => Objective {
            surrogate,
            loss: ce.loss,
            d_table: Some(ce.d_table),
        },
    })
}

/// [`objective`] on a GPU: the loss is [`positions_loss`] on the device, and autodiff
/// differentiates it (the surrogate is the loss itself). Its table is a tensor there.
fn device_objective(
    table: ScoreTable<'_>,
    positions: Positions,
    targets: &[u32],
    negatives: &[u32],
    sharing: NegativeSharing,
    weights: Option<&[f32]>,
) -> Result<Objective> {
    let ScoreTable::Tensor(table) = table else {
        return Err(Error::Compute(
            "a GPU step scores against a tensor, not host rows".into(),
        ));
    };
    let surrogate = positions_loss(table, positions, targets, negatives, sharing, weights);
    let loss = floats(surrogate.clone())?[0] as f64;
    Ok(Objective {
        surrogate,
        loss,
        d_table: None,
    })
}

/// The hidden states of the positions with a target: `rows` index the flattened `[batch, len]`
/// positions of `hidden` (`[batch, len, d]`); returns `[rows.len(), d]`.
fn target_positions(hidden: Tensor<3>, rows: &[i64]) -> Tensor<2> {
    let [b, l, d] = hidden.dims();
    let device = hidden.device();
    hidden
        .reshape([b * l, d])
        .select(0, int_tensor(rows, &device))
}

/// A 1-D integer tensor of ids or indices.
pub(super) fn int_tensor<T: Copy + Into<i64>>(values: &[T], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = values.iter().map(|&x| x.into()).collect();
    Tensor::from_data(TensorData::new(v, [values.len()]), device)
}

/// The mean of a `[p, 1]` column, or its weighted mean with one weight per row.
fn weighted_mean(column: Tensor<2>, weights: Option<&[f32]>) -> Tensor<1> {
    match weights {
        None => column.mean(),
        Some(w) => {
            let total: f32 = w.iter().sum();
            let w =
                Tensor::<1>::from_data(TensorData::new(w.to_vec(), [w.len()]), &column.device());
            (column.reshape([w.dims()[0]]) * w).sum() / total
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_samples_are_seeded_ordered_subsets() {
        let all: Vec<usize> = (0..1000).collect();
        let a = seeded_sample(all.clone(), 100, 7);
        assert_eq!(a.len(), 100);
        assert!(
            a.windows(2).all(|w| w[0] < w[1]),
            "original order kept, no repeats"
        );
        assert_eq!(
            a,
            seeded_sample(all.clone(), 100, 7),
            "same seed, same users"
        );
        assert_ne!(a, seeded_sample(all.clone(), 100, 8));
        assert_eq!(seeded_sample(all.clone(), 0, 7), all, "0 keeps everyone");
        assert_eq!(seeded_sample(all.clone(), 1000, 7), all);
    }

    fn search() -> Step {
        Step {
            item: 0,
            kind: EventKind::Search.row(),
            query: Box::new([3, 4]),
        }
    }

    fn view(item: u32) -> Step {
        Step::item(item, EventKind::View)
    }

    /// A view, its purchase, a search, a view of item 7 and a final search.
    fn purchase_then_search() -> Vec<Step> {
        vec![
            view(1),
            Step::item(1, EventKind::Purchase),
            search(),
            view(7),
            search(),
        ]
    }

    #[test]
    fn each_position_learns_the_next_item_even_across_searches() {
        let steps = purchase_then_search();
        let (input, targets) = example(&steps, 50).unwrap();
        assert_eq!(input.len(), 4);
        // The purchase and the search after it both learn item 7; nothing follows the last view.
        assert_eq!(targets, vec![1, 7, 7, 0]);
    }

    #[test]
    fn purchase_positions_carry_the_purchase_weight() {
        let long = purchase_then_search();
        let short = vec![Step::item(2, EventKind::Purchase), view(3), view(4)];
        let examples = [example(&long, 50).unwrap(), example(&short, 50).unwrap()];
        // Inputs: [view 1, purchase 1, search, view 7] -> [1, 7, 7, 0] and, padded to length 4,
        // [_, _, purchase 2, view 3] -> [3, 4].
        let (rows, targets, weights) = loss_rows(examples.iter(), 4, 3.0);
        assert_eq!(rows, vec![0, 1, 2, 6, 7]);
        assert_eq!(targets, vec![1, 7, 7, 3, 4]);
        assert_eq!(weights, Some(vec![1.0, 3.0, 1.0, 3.0, 1.0]));
        let (same_rows, same_targets, none) = loss_rows(examples.iter(), 4, 1.0);
        assert_eq!((same_rows, same_targets, none), (rows, targets, None));
    }

    /// Each epoch's batches come from the seed and the epoch alone: asked again, an epoch gives
    /// the same batches and the same negatives after them; the next epoch gives other batches.
    #[test]
    fn length_groups_cover_the_batch_in_order_and_bound_the_padding() {
        // 40 short histories, then a few long ones: the long ones go to a group of their own.
        let lens: Vec<usize> = (0..40)
            .map(|i| 2 + i / 20)
            .chain([20, 30, 49, 50])
            .collect();
        let order: Vec<usize> = (0..lens.len()).collect();
        let groups = length_groups(&order, |i| lens[i]);
        assert_eq!(groups.concat(), order, "every history once, in order");
        for g in &groups {
            let longest = lens[*g.last().unwrap()];
            let real: usize = g.iter().map(|&i| lens[i]).sum();
            assert!(
                g.len() <= 16 || g.len() * longest * 4 <= real * 5,
                "group {g:?} pads {} positions for {real}",
                g.len() * longest
            );
        }
        assert!(groups.len() >= 2);
        // Equal lengths: one group, however many.
        let same: Vec<usize> = (0..300).collect();
        assert_eq!(length_groups(&same, |_| 7).len(), 1);
    }

    #[test]
    fn each_epoch_draws_its_own_batches_from_the_seed_and_epoch() {
        let steps: Vec<Vec<Step>> = (0..40u32)
            .map(|u| (0..2 + u % 7).map(|i| view(1 + (u + i) % 30)).collect())
            .collect();
        let examples: Vec<(&[Step], Vec<u32>)> =
            steps.iter().filter_map(|s| example(s, 50)).collect();
        let draw = |epoch| {
            let (batches, mut rng) = epoch_batches(examples.len(), 4, 42, epoch);
            let negatives: Vec<u32> = (0..8).map(|_| rng.random_range(1..=30)).collect();
            (batches, negatives)
        };
        let (first, second) = (draw(1), draw(2));
        assert_ne!(first.0, second.0);
        assert_ne!(first.1, second.1);
        assert_eq!(draw(2), second);
        assert_eq!(draw(1), first);
    }

    #[test]
    fn examples_keep_the_newest_positions_and_need_a_target() {
        let steps: Vec<Step> = (1..=6).map(view).collect();
        let (input, targets) = example(&steps, 3).unwrap();
        assert_eq!(
            input.iter().map(|s| s.item).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(targets, vec![4, 5, 6]);
        assert!(example(&[search(), search()], 50).is_none());
        assert!(example(&steps[..1], 50).is_none());
    }
}
