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
