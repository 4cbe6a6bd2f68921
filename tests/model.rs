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
fn appending_to_cached_keys_equals_encoding_the_whole_history() {
    block_on(checks::appending_to_cached_keys_equals_encoding_the_whole_history(&cpu(), true));
}

#[test]
fn only_the_newest_max_len_events_matter() {
    block_on(checks::only_the_newest_max_len_events_matter(&cpu()));
}

/// What makes keys and values cacheable between calls: counted from the oldest event or by
/// distance (relative bias), a history's outputs are the first rows of the outputs after one
/// more event (within `max_len`); counted from the newest (the default), every earlier position
/// moves and no output survives.
#[test]
fn counted_from_the_oldest_event_or_by_distance_earlier_outputs_survive_an_append() {
    let (short, long) = (checks::views(&[3, 4, 5]), checks::views(&[3, 4, 5, 6]));
    for (positions, survive) in [
        (localrec::model::Positions::FromOldest, true),
        (localrec::model::Positions::Relative, true),
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

/// The relative bias is read by distance: with a bias that forbids every older key, each
/// position attends only to itself, so the newest output is that of the newest event alone.
#[test]
fn a_relative_bias_against_older_keys_leaves_only_the_newest_event() {
    use localrec::model::{Positions, SeqBatch};
    let c = config().with_positions(Positions::Relative);
    let mut w = common::weights(&c);
    let bias = w.get_mut("pos_bias").unwrap();
    let columns = bias.shape[1];
    for (i, v) in bias.values.iter_mut().enumerate() {
        *v = if i < columns { 0.0 } else { -1e4 };
    }
    // How far apart the newest states of [7, 8, 9] and [9] are with these weights.
    let apart = |w: &localrec::model::Weights| {
        let model = c.init_with(&cpu(), w).unwrap();
        let newest = |items: &[u32]| {
            let steps = checks::views(items);
            let (state, _) = model.encode_newest(&SeqBatch::new(&c, &[&steps], &[]));
            localrec::model::floats(state).unwrap()
        };
        common::max_diff(&newest(&[7, 8, 9]), &newest(&[9]))
    };
    let diff = apart(&w);
    assert!(diff < 1e-5, "older events still count: {diff}");
    // Without the bias they do.
    assert!(apart(&common::weights(&c)) > 1e-4);
}

/// An engine whose model caches keys and values answers a growing history, the same history
/// again, another history and one past `max_len` (its window moving in steps) exactly as
/// encoding each window whole does (within 1e-5): what it keeps from the last call never leaks
/// into the next answer.
#[test]
fn an_engine_reusing_cached_keys_answers_as_encoding_each_history_whole() {
    use localrec::event::{Event, EventKind};
    use localrec::format::{self, quant::Encoding};
    use localrec::model::Positions;
    use localrec::runtime::Engine;
    let c = SeqRecConfig::new(300)
        .with_d_model(32)
        .with_layers(2)
        .with_heads(2)
        .with_max_len(6)
        .with_event_types(true)
        .with_query_buckets(8)
        .with_positions(Positions::Relative);
    let engine = |c: &SeqRecConfig| {
        let bytes = format::random_model(c, 5, Encoding::Int8).unwrap();
        Engine::load(&bytes, &cpu(), None).unwrap()
    };
    let event = |i: usize, n: u32| {
        let kind = if i % 3 == 2 {
            EventKind::Cart
        } else {
            EventKind::View
        };
        Event::item(kind, format!("item-{n}"), 1_700_000_000_000.0 + i as f64)
    };
    let items = [
        3, 250, 17, 17, 99, 41, 7, 120, 5, 8, 13, 21, 34, 55, 89, 144, 233, 2, 4, 6, 9, 12,
    ];
    let history = |n: usize| -> Vec<Event> {
        items[..n]
            .iter()
            .enumerate()
            .map(|(i, &x)| event(i, x))
            .collect()
    };
    let mut other = history(4);
    other[1] = event(1, 200);
    // Growing one event at a time, then the same again, then another history, then growing past
    // max_len (6) so the window slides.
    let calls = [
        history(1),
        history(2),
        history(5),
        history(5),
        other,
        history(3),
        history(6),
        history(7),
        history(8),
    ];
    // The window holds every event up to 6, then moves in steps of 3: 7 events read the newest 4
    // (encoded whole), 8 the newest 5 (the 8th appended to the 7th's window).
    let windows = [1, 2, 5, 5, 4, 3, 6, 4, 5];
    // A longer window: a history of 20 events encoded whole (on the CPU through burn, its keys
    // then copied to the host: more than the engine's HOST_ROWS), 21 and 22 appended to it.
    let long_calls = [history(20), history(21), history(22)];
    for (engine, calls, windows) in [
        (engine(&c), &calls[..], &windows[..]),
        (
            engine(&c.clone().with_max_len(24)),
            &long_calls[..],
            &[20, 21, 22][..],
        ),
    ] {
        check_calls(&engine, calls, windows);
    }
}

fn check_calls(
    engine: &localrec::runtime::Engine,
    calls: &[Vec<localrec::event::Event>],
    windows: &[usize],
) {
    for (i, h) in calls.iter().enumerate() {
        let encoded = engine.encode(h);
        assert_eq!(encoded.steps.len(), windows[i], "call {i}");
        let (state, attention) = engine.state_blocking(&encoded).unwrap().unwrap();
        let (want, want_att) = engine.encode_newest(&encoded.batch).unwrap();
        let want = localrec::model::floats(want).unwrap();
        let want_att = localrec::model::floats(want_att).unwrap();
        assert!(common::max_diff(&state, &want) < 1e-5, "call {i}: state");
        assert!(
            common::max_diff(&attention, &want_att) < 1e-5,
            "call {i}: attention"
        );
    }
}
