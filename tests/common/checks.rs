//! Backend-generic properties of the model, run on burn's CPU backend natively (tests/model.rs)
//! and on WebGPU in headless Chromium (tests/web.rs). Async because WebGPU reads back only
//! asynchronously; natively they run under [`super::block_on`].

use burn::prelude::*;
use localrec::event::EventKind;
use localrec::model::{BlockLayout, SeqBatch, SeqRecConfig, Step};

use super::{max_diff, weights};

const D: usize = 16;

pub fn config() -> SeqRecConfig {
    SeqRecConfig::new(30)
        .with_d_model(D)
        .with_layers(2)
        .with_heads(2)
        .with_max_len(6)
        .with_dropout(0.0)
}

/// [`config`] in each block layout: the properties below hold for both.
fn configs() -> [SeqRecConfig; 2] {
    [
        config().with_layout(BlockLayout::PreNorm),
        config().with_layout(BlockLayout::Sasrec),
    ]
}

/// Hidden states of every position of every history, `[batch, len, d]` flattened.
pub async fn encode(device: &Device, config: &SeqRecConfig, histories: &[Vec<Step>]) -> Vec<f32> {
    let model = config
        .init_with(device, &weights(config))
        .expect("weights match the config");
    let refs: Vec<&[Step]> = histories.iter().map(Vec::as_slice).collect();
    model
        .encode(&SeqBatch::new(config, &refs, &[]))
        .into_data_async()
        .await
        .expect("readback")
        .try_to_vec::<f32>()
        .expect("f32")
}

pub fn views(items: &[u32]) -> Vec<Step> {
    items
        .iter()
        .map(|&i| Step::item(i, EventKind::View))
        .collect()
}

/// The hidden states of history `b` of an encoded batch, newest last, padding dropped.
fn states_of(all: &[f32], batch: usize, b: usize, events: usize) -> Vec<f32> {
    let len = all.len() / (batch * D);
    all[(b * len + len - events) * D..(b + 1) * len * D].to_vec()
}

pub async fn a_later_event_never_changes_earlier_outputs(device: &Device) {
    for c in configs() {
        let a = encode(device, &c, &[views(&[1, 2, 3, 4])]).await;
        let b = encode(device, &c, &[views(&[1, 2, 3, 9])]).await;
        assert_eq!(a.len(), 4 * D);
        let earlier = max_diff(&a[..3 * D], &b[..3 * D]);
        assert!(
            earlier < 1e-6,
            "a later event changed earlier outputs by {earlier}"
        );
        assert!(
            max_diff(&a[3 * D..], &b[3 * D..]) > 1e-4,
            "the newest output must change"
        );
    }
}

pub async fn padding_and_other_histories_never_change_a_result(device: &Device) {
    for c in configs() {
        let alone = encode(device, &c, &[views(&[4, 5])]).await;
        let batch = [
            views(&[1, 2, 3, 4, 5, 6, 7, 8]),
            views(&[4, 5]),
            views(&[9]),
        ];
        let together = encode(device, &c, &batch).await;
        let diff = max_diff(&alone, &states_of(&together, 3, 1, 2));
        assert!(
            diff < 1e-5,
            "padding or batch neighbours changed a user's states by {diff}"
        );
        let single = encode(device, &c, &[views(&[9])]).await;
        assert!(max_diff(&single, &states_of(&together, 3, 2, 1)) < 1e-5);
    }
}

pub async fn only_the_newest_max_len_events_matter(device: &Device) {
    for c in configs() {
        let long = encode(device, &c, &[views(&[20, 21, 1, 2, 3, 4, 5, 6])]).await;
        let short = encode(device, &c, &[views(&[1, 2, 3, 4, 5, 6])]).await;
        assert!(max_diff(&long, &short) < 1e-6);
    }
}
