//! A seeded learning test: on sequences where order matters, the model must clearly beat
//! popularity (full ranking, leave-one-out), on the CPU in well under a minute.

#![cfg(feature = "train")]

mod common;

use common::walks::prepared_walks;
use localrec::event::EventKind;
use localrec::model::SeqRecConfig;
use localrec::train::{self, Split, TrainOptions};

#[test]
fn learns_order_and_beats_popularity() {
    let data = prepared_walks(1500, 11);
    let config = SeqRecConfig::new(data.vocab.len())
        .with_d_model(32)
        .with_layers(1)
        .with_max_len(10)
        .with_event_types(false);
    let train_opts = TrainOptions {
        epochs: 8,
        batch_size: 128,
        negatives: Some(32),
        learning_rate: 3e-3,
        progress: false,
        seed: 5,
        ..TrainOptions::default()
    };
    let trained = train::train(&config, &data, &train_opts, None, |_| Ok(())).unwrap();
    let test = train::cases(&data, Split::Test);
    let model = train::evaluate(&trained.model, &config, &data.item_attrs, &test, false).unwrap();
    let pop = train::evaluate_popularity(&data.popularity, &test).unwrap();
    let (m, p) = (model.metrics.ndcg(), pop.metrics.ndcg());
    assert_eq!(model.metrics.users, 1500);
    assert!(
        m > 0.5 && m > 3.0 * p,
        "model NDCG@10 {m:.3} vs popularity {p:.3}"
    );
    // The curve is recorded for every epoch and the best epoch is one of them.
    assert!(
        !trained.curve.is_empty()
            && trained.best_epoch >= 1
            && trained.best_epoch <= trained.curve.len()
    );
}

/// A one-block model over 30 items without dropout, for exact loss comparisons.
fn tiny_model() -> (SeqRecConfig, localrec::model::SeqRec) {
    let config = SeqRecConfig::new(30)
        .with_d_model(16)
        .with_layers(1)
        .with_max_len(8)
        .with_dropout(0.0)
        .with_event_types(false);
    let model = config.init(&localrec::cpu_device()).unwrap();
    (config, model)
}

/// Per-sequence negatives are a generalisation of shared ones: when every sequence draws the
/// same set, both give the same loss, and a negative equal to the target is masked in both.
#[test]
fn per_sequence_and_per_position_negatives_reduce_to_shared_ones() {
    use localrec::model::{SeqBatch, Step};
    use localrec::train::NegativeSharing;
    let (config, model) = tiny_model();
    let step = |item| Step {
        item,
        kind: EventKind::Purchase.row(),
        query: Box::default(),
    };
    let a: Vec<Step> = [3, 4, 5].into_iter().map(step).collect();
    let b: Vec<Step> = [7, 8, 9, 10, 11].into_iter().map(step).collect();
    let batch = SeqBatch::new(&config, &[&a, &b], &[]);
    let l = batch.len;
    // Targets: the next item at every position (4, 5, 6 for a; 8..12 for b).
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for (s, seq) in [&a, &b].into_iter().enumerate() {
        let pad = l - seq.len();
        for (j, st) in seq.iter().enumerate() {
            rows.push((s * l + pad + j) as i64);
            targets.push(st.item + 1);
        }
    }
    let shared = [1u32, 5, 9, 20, 25, 12];
    let per_seq: Vec<u32> = shared.iter().chain(&shared).copied().collect();
    let value = |negs: &[u32], sharing| {
        train::loss(&model, &batch, &rows, &targets, negs, sharing, None)
            .try_into_data()
            .unwrap()
            .try_to_vec::<f32>()
            .unwrap()[0]
    };
    let one = value(&shared, NegativeSharing::Batch);
    let two = value(&per_seq, NegativeSharing::Sequence);
    // Equal up to f32 summation order: the products run through different kernels (one shared
    // [positions, n] product against batched [1, n] ones), and which SIMD kernels gemm picks
    // depends on the CPU (this differed by 4e-5 on an AVX-512 machine).
    let same = |x: f32, y: f32| (x - y).abs() <= 1e-4 * x.abs().max(1.0);
    assert!(one.is_finite() && same(one, two), "{one} vs {two}");
    // Different sets per sequence give a different loss (the groups are really separate).
    let mut other = per_seq.clone();
    other[6..].copy_from_slice(&[2, 14, 15, 16, 17, 18]);
    let three = value(&other, NegativeSharing::Sequence);
    assert!(!same(one, three), "{one} vs {three}");
    // One set per position: the shared set at every position is the batch-shared loss, and a
    // different set at a single position changes it.
    let mut per_pos: Vec<u32> = rows.iter().flat_map(|_| shared).collect();
    let four = value(&per_pos, NegativeSharing::Position);
    assert!(same(one, four), "{one} vs {four}");
    per_pos[..6].copy_from_slice(&[2, 14, 15, 16, 17, 18]);
    let five = value(&per_pos, NegativeSharing::Position);
    assert!(!same(one, five), "{one} vs {five}");
}

#[test]
fn weights_turn_the_loss_into_a_weighted_mean_over_positions() {
    use localrec::model::{SeqBatch, Step};
    use localrec::train::NegativeSharing;
    let (config, model) = tiny_model();
    let steps: Vec<Step> = [3, 4, 5]
        .into_iter()
        .map(|item| Step::item(item, EventKind::View))
        .collect();
    let batch = SeqBatch::new(&config, &[&steps], &[]);
    let rows = [0i64, 1, 2];
    let targets = [4u32, 5, 6];
    let value = |rows: &[i64], targets: &[u32], weights: Option<&[f32]>| {
        train::loss(
            &model,
            &batch,
            rows,
            targets,
            &[],
            NegativeSharing::Batch,
            weights,
        )
        .try_into_data()
        .unwrap()
        .try_to_vec::<f32>()
        .unwrap()[0]
    };
    let mean = value(&rows, &targets, None);
    let each: Vec<f32> = (0..3)
        .map(|i| value(&rows[i..=i], &targets[i..=i], None))
        .collect();
    assert!((value(&rows, &targets, Some(&[1.0; 3])) - mean).abs() < 1e-5);
    let weighted = value(&rows, &targets, Some(&[1.0, 1.0, 4.0]));
    let expected = (each[0] + each[1] + 4.0 * each[2]) / 6.0;
    assert!(
        (weighted - expected).abs() < 1e-5,
        "{weighted} vs {expected}"
    );
    assert!(
        (weighted - mean).abs() > 1e-4,
        "the weights change the loss"
    );
}

/// The training loop minimises its loss through a surrogate whose gradients come from
/// `train::softmax`, outside autodiff: one SGD step with it moves every parameter as one step
/// with autodiff through the plain definition (`train::loss`) does, for full cross-entropy and
/// for sampled softmax with each way of sharing negatives (some of them equal to targets), on a
/// model with every feature, two blocks and two heads, with and without position weights, with
/// the positions read from one padded batch or from each history encoded on its own.
#[test]
fn the_objective_has_the_definitions_gradients() {
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::prelude::{Tensor, TensorData};
    use localrec::model::{SeqBatch, Step, floats};
    use localrec::train::lazy::{AdamSettings, LazyTable};
    use localrec::train::{NegativeSharing, Positions, ScoreTable};
    let device = localrec::cpu_device().autodiff();
    device.seed(3);
    let config = SeqRecConfig::new(30)
        .with_d_model(16)
        .with_heads(2)
        .with_layers(2)
        .with_max_len(8)
        .with_dropout(0.0)
        .with_event_types(true)
        .with_query_buckets(16)
        .with_n_attributes(5);
    let model = config.init(&device).unwrap();
    let item_attrs: Vec<Vec<u32>> = (0..=30u32).map(|i| vec![1 + i % 5]).collect();
    let step = |item, kind: EventKind| Step::item(item, kind);
    let search = Step {
        item: 0,
        kind: EventKind::Search.row(),
        query: Box::new([2, 9]),
    };
    let a = vec![
        step(3, EventKind::View),
        search,
        step(5, EventKind::Purchase),
    ];
    let b: Vec<Step> = (7..12).map(|i| step(i, EventKind::Cart)).collect();
    let batch = SeqBatch::new(&config, &[&a, &b], &item_attrs);
    let l = batch.len;
    let rows = [(l - 3) as i64, (l - 1) as i64, l as i64, (2 * l - 1) as i64];
    let targets = [5u32, 6, 8, 12];
    let weights = [1.0f32, 3.0, 1.0, 2.0];
    let shared = [6u32, 3, 20, 12, 25, 1];
    let per_seq: Vec<u32> = shared
        .iter()
        .chain(&[2, 14, 8, 16, 17, 30])
        .copied()
        .collect();
    let per_pos: Vec<u32> = (0..4u32)
        .flat_map(|i| [5 + i, 9, 13 + i, 21, 27 - i, 12])
        .collect();
    let cases: [(&[u32], NegativeSharing); 4] = [
        (&[], NegativeSharing::Batch),
        (&shared, NegativeSharing::Batch),
        (&per_seq, NegativeSharing::Sequence),
        (&per_pos, NegativeSharing::Position),
    ];
    for ((negatives, sharing), w) in cases
        .into_iter()
        .flat_map(|c| [(c, None), (c, Some(&weights[..]))])
    {
        let step_with = |grads: GradientsParams| {
            let stepped = SgdConfig::new().init().step(1.0, model.clone(), grads);
            stepped.to_weights().unwrap()
        };
        let plain = train::loss(&model, &batch, &rows, &targets, negatives, sharing, w);
        let plain_value = plain.clone().into_data().try_into_vec::<f32>().unwrap()[0] as f64;
        let want = step_with(GradientsParams::from_grads(plain.backward(), &model));
        let before = model.to_weights().unwrap();
        // The positions read from the padded batch, and from each history encoded alone (as
        // the training loop encodes a batch in groups of similar length).
        let alone = |h: &Vec<Step>, rows: &[i64]| {
            Positions::of(
                model.encode(&SeqBatch::new(&config, &[h], &item_attrs)),
                rows,
            )
        };
        let gathered = [
            Positions::of(model.encode(&batch), &rows),
            Positions::cat(vec![alone(&a, &[0, 2]), alone(&b, &[0, 4])]),
        ];
        for (how, positions) in ["one batch", "two groups"].into_iter().zip(gathered) {
            let train::Objective {
                surrogate,
                loss: value,
                ..
            } = train::objective(
                ScoreTable::Tensor(model.output_embeddings()),
                positions,
                &targets,
                negatives,
                sharing,
                w,
            )
            .unwrap();
            assert!(
                (value - plain_value).abs() < 1e-5,
                "{how}, {sharing:?}, {} negatives: {value} vs {plain_value}",
                negatives.len()
            );
            let got = step_with(GradientsParams::from_grads(surrogate.backward(), &model));
            for (name, t) in &want {
                let moved = t
                    .values
                    .iter()
                    .zip(&before[name].values)
                    .any(|(x, y)| x != y);
                let g = &got[name];
                let worst = t
                    .values
                    .iter()
                    .zip(&g.values)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{how}, {sharing:?}, {name}: gradients differ by {worst}"
                );
                // Every parameter the loss reaches really moves (the comparison is not vacuous).
                assert!(
                    moved || name.contains("beta") || name.starts_with("pos"),
                    "{name} did not move"
                );
            }
        }
        if negatives.is_empty() {
            continue;
        }
        // The sparse item table the trainer uses with sampled negatives: the rows the step reads,
        // gathered and renumbered, give the same loss, the same gradient for every other
        // parameter, and for each gathered row the dense table's gradient row.
        let d = config.d_model;
        let lazy = LazyTable::new(
            model.item_table().unwrap(),
            d,
            AdamSettings {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-8,
                weight_decay: 0.0,
            },
        )
        .unwrap();
        let mut local_batch = batch.clone();
        let g = lazy
            .gather(
                local_batch
                    .item_rows()
                    .chain(targets.iter().copied())
                    .chain(negatives.iter().copied()),
            )
            .unwrap();
        assert!(g.rows.len() < 31, "a part of the table: {:?}", g.rows);
        local_batch.renumber_items(|x| g.local(x));
        let items: Vec<u32> = local_batch.item_rows().collect();
        let leaf = Tensor::<2>::from_data(
            TensorData::new(g.rows_of(&items), [items.len(), d]),
            &device,
        )
        .require_grad();
        let local = |ids: &[u32]| ids.iter().map(|&x| g.local(x)).collect::<Vec<_>>();
        let positions = Positions::of(model.encode_with_items(&local_batch, leaf.clone()), &rows);
        let objective = train::objective(
            ScoreTable::Host(&g.values),
            positions,
            &local(&targets),
            &local(negatives),
            sharing,
            w,
        )
        .unwrap();
        let value = objective.loss;
        assert!(
            (value - plain_value).abs() < 1e-5,
            "gathered, {sharing:?}: {value} vs {plain_value}"
        );
        let mut grads = objective.surrogate.backward();
        let mut table_grad = objective.d_table.unwrap();
        let rows_grad = floats(leaf.grad_remove(&mut grads).unwrap()).unwrap();
        g.scatter_add(&mut table_grad, &items, &rows_grad);
        let got = step_with(GradientsParams::from_grads(grads, &model));
        for (name, t) in &want {
            let g_got = &got[name].values;
            let b = &before[name].values;
            if name != "item_emb" {
                let worst = t
                    .values
                    .iter()
                    .zip(g_got)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "gathered, {sharing:?}, {name}: differ by {worst}"
                );
                continue;
            }
            assert_eq!(g_got, b, "the model's own table is not read");
            let mut reached = 0;
            for r in 0..=30usize {
                let dense: Vec<f32> = (0..d).map(|j| b[r * d + j] - t.values[r * d + j]).collect();
                match g.rows.binary_search(&(r as u32)) {
                    Ok(i) => {
                        for (x, y) in dense.iter().zip(&table_grad[i * d..(i + 1) * d]) {
                            assert!((x - y).abs() < 1e-5, "row {r}: {x} vs {y}");
                        }
                        reached += dense.iter().any(|&x| x != 0.0) as usize;
                    }
                    Err(_) => assert!(dense.iter().all(|&x| x == 0.0), "row {r} not gathered"),
                }
            }
            assert!(reached > 5, "{reached} rows have a gradient");
        }
    }
}
