//! Properties of the model on the CPU backend (the same checks run on WebGPU in tests/web.rs).

#![cfg(feature = "train")]

use localrec::model::SeqRecConfig;

mod common;
use common::{block_on, checks};

fn config() -> SeqRecConfig {
    checks::config()
}

fn cpu() -> burn::prelude::Device {
    localrec::cpu_device()
}

#[test]
fn a_later_event_never_changes_earlier_outputs() {
    block_on(checks::a_later_event_never_changes_earlier_outputs(&cpu()));
}

#[test]
fn padding_and_other_histories_in_the_batch_never_change_a_result() {
    block_on(checks::padding_and_other_histories_never_change_a_result(
        &cpu(),
    ));
}

#[test]
fn the_newest_row_forward_equals_the_full_one() {
    block_on(checks::the_newest_row_forward_equals_the_full_one(&cpu()));
}

#[test]
fn only_the_newest_max_len_events_matter() {
    block_on(checks::only_the_newest_max_len_events_matter(&cpu()));
}

/// What makes keys and values cacheable between calls: counted from the oldest event, a history's
/// outputs are the first rows of the outputs after one more event (within `max_len`); counted
/// from the newest (the default), every earlier position moves and no output survives.
#[test]
fn counted_from_the_oldest_event_earlier_outputs_survive_an_append() {
    let (short, long) = (checks::views(&[3, 4, 5]), checks::views(&[3, 4, 5, 6]));
    for (positions, survive) in [
        (localrec::model::Positions::FromOldest, true),
        (localrec::model::Positions::FromNewest, false),
    ] {
        let c = config().with_positions(positions);
        let a = block_on(checks::encode(&cpu(), &c, std::slice::from_ref(&short)));
        let b = block_on(checks::encode(&cpu(), &c, std::slice::from_ref(&long)));
        let diff = common::max_diff(&a, &b[..a.len()]);
        assert_eq!(diff < 1e-5, survive, "{positions:?}: {diff}");
    }
}

#[test]
fn weights_round_trip_through_plain_f32() {
    let c = config().with_query_buckets(8);
    let device = localrec::cpu_device();
    device.seed(3);
    let model = c.init(&device).unwrap();
    let weights = model.to_weights().unwrap();
    assert_eq!(weights.len(), c.param_shapes().len());
    let again = c.init_with(&device, &weights).unwrap();
    assert_eq!(again.to_weights().unwrap(), weights);
    let mut bad = weights.clone();
    bad.get_mut("blocks.0.wo").unwrap().shape = vec![16, 15];
    let err = c.init_with(&device, &bad).unwrap_err();
    assert_eq!(err.code(), "MODEL_CORRUPT");
    assert!(err.to_string().contains("blocks.0.wo"), "{err}");
}

/// With an int4 item table the engine reads the file without the table's f32 copy and gathers a
/// history's rows from the quantised table: its states equal those of the model built from the
/// fully dequantised file (the trainer's evaluation path) within 1e-5, and its scores are the
/// dequantised table's dot products.
#[test]
fn an_int4_engine_encodes_and_scores_as_the_dequantised_model() {
    use localrec::event::{Event, EventKind};
    use localrec::format::{self, quant::Encoding};
    use localrec::runtime::Engine;
    let c = SeqRecConfig::new(300)
        .with_d_model(32)
        .with_layers(2)
        .with_heads(2)
        .with_max_len(6)
        .with_event_types(true)
        .with_query_buckets(8);
    for encoding in [Encoding::Int8, Encoding::Int4] {
        let bytes = format::random_model(&c, 11, encoding).unwrap();
        let engine = Engine::load(&bytes, &cpu(), None).unwrap();
        assert_eq!(engine.info().item_table, encoding.to_string());
        let full = format::read(&bytes).unwrap();
        let model = full.model(&cpu()).unwrap();
        let history: Vec<Event> = [3, 250, 17, 17, 99]
            .iter()
            .enumerate()
            .map(|(i, n)| Event {
                kind: if i == 3 {
                    EventKind::Cart
                } else {
                    EventKind::View
                },
                item_id: Some(format!("item-{n}")),
                query: None,
                category: None,
                ts: 1_700_000_000_000.0 + i as f64,
            })
            .collect();
        let encoded = engine.encode(&history);
        let (state, attention) = engine.state_blocking(&encoded).unwrap().unwrap();
        let (want, want_att) = model.encode_newest(&encoded.batch);
        let want = localrec::model::floats(want).unwrap();
        let want_att = localrec::model::floats(want_att).unwrap();
        let diff = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max)
        };
        assert!(diff(&state, &want) < 1e-5, "{encoding}: state");
        assert!(diff(&attention, &want_att) < 1e-5, "{encoding}: attention");
        let scores = engine.score(&state);
        let table = &full.weights["item_emb"].values;
        for (r, s) in scores.iter().enumerate().step_by(37) {
            let row = &table[r * c.d_model..(r + 1) * c.d_model];
            let dot: f32 = row.iter().zip(&state).map(|(a, b)| a * b).sum();
            // The state is quantised for scoring: 1927 steps either side for int4, 16,383
            // (at this width) for int8.
            let max_state = state.iter().fold(0f32, |m, v| m.max(v.abs()));
            let bound = row.iter().map(|a| a.abs()).sum::<f32>() * max_state / 1927.0 + 1e-6;
            assert!((s - dot).abs() <= bound, "{encoding} row {r}: {s} vs {dot}");
        }
    }
}

#[test]
fn bad_configs_are_refused() {
    for c in [
        config().with_heads(3),
        config().with_max_len(0),
        config().with_dropout(1.0),
        SeqRecConfig::new(0),
    ] {
        assert_eq!(c.validate().unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
