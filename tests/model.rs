//! Properties of the model on the CPU backend (the same checks run on WebGPU in tests/web.rs).

use localrec::event::EventKind;
use localrec::model::{SeqBatch, SeqRecConfig, Step};

mod common;
use common::{max_diff, weights};

fn config() -> SeqRecConfig {
    SeqRecConfig::new(30)
        .with_d_model(16)
        .with_layers(2)
        .with_heads(2)
        .with_max_len(6)
        .with_dropout(0.0)
}

fn encode(config: &SeqRecConfig, histories: &[Vec<Step>]) -> Vec<f32> {
    let model = config
        .init_with(&localrec::cpu_device(), &weights(config))
        .unwrap();
    let refs: Vec<&[Step]> = histories.iter().map(Vec::as_slice).collect();
    model
        .encode(&SeqBatch::new(config, &refs, &[]))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn views(items: &[u32]) -> Vec<Step> {
    items
        .iter()
        .map(|&i| Step::item(i, EventKind::View))
        .collect()
}

const D: usize = 16;

/// The hidden states of history `b` of an encoded batch, newest last, padding dropped.
fn states_of(all: &[f32], batch: usize, b: usize, events: usize) -> Vec<f32> {
    let len = all.len() / (batch * D);
    all[(b * len + len - events) * D..(b + 1) * len * D].to_vec()
}

#[test]
fn a_later_event_never_changes_earlier_outputs() {
    let c = config();
    let a = encode(&c, &[views(&[1, 2, 3, 4])]);
    let b = encode(&c, &[views(&[1, 2, 3, 9])]);
    assert_eq!(a.len(), 4 * D);
    assert_eq!(a[..3 * D], b[..3 * D]);
    assert_ne!(a[3 * D..], b[3 * D..]);
}

#[test]
fn padding_and_other_histories_in_the_batch_never_change_a_result() {
    let c = config();
    let alone = encode(&c, &[views(&[4, 5])]);
    let batch = [
        views(&[1, 2, 3, 4, 5, 6, 7, 8]),
        views(&[4, 5]),
        views(&[9]),
    ];
    let together = encode(&c, &batch);
    let diff = max_diff(&alone, &states_of(&together, 3, 1, 2));
    assert!(
        diff < 1e-5,
        "padding or batch neighbours changed a user's states by {diff}"
    );
    let single = encode(&c, &[views(&[9])]);
    assert!(max_diff(&single, &states_of(&together, 3, 2, 1)) < 1e-5);
}

#[test]
fn only_the_newest_max_len_events_matter() {
    let c = config();
    let long = encode(&c, &[views(&[20, 21, 1, 2, 3, 4, 5, 6])]);
    let short = encode(&c, &[views(&[1, 2, 3, 4, 5, 6])]);
    assert_eq!(long, short);
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
