//! Backend-generic properties of the model, run on burn's CPU backend natively (tests/model.rs)
//! and on WebGPU in headless Chromium (tests/web.rs). Async because WebGPU reads back only
//! asynchronously; natively they run under [`super::block_on`].

use burn::prelude::*;
use localrec::event::EventKind;
use localrec::model::{BlockLayout, HostBlocks, Positions, SeqBatch, SeqRecConfig, Step};

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

/// [`config`] in each block layout and position scheme: the properties below hold for all.
fn configs() -> [SeqRecConfig; 4] {
    [
        config()
            .with_layout(BlockLayout::Sasrec)
            .with_positions(Positions::Relative),
        config()
            .with_layout(BlockLayout::PreNorm)
            .with_positions(Positions::FromNewest),
        config()
            .with_layout(BlockLayout::Sasrec)
            .with_positions(Positions::FromNewest),
        config()
            .with_layout(BlockLayout::Sasrec)
            .with_positions(Positions::FromOldest),
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

/// Only the window matters: the newest `max_len` (6) events, or with a relative bias the window
/// moving in steps of 3 (the newest 5 of 8).
pub async fn only_the_newest_max_len_events_matter(device: &Device) {
    let items = [20, 21, 1, 2, 3, 4, 5, 6];
    for c in configs() {
        let window = if c.positions == Positions::Relative {
            5
        } else {
            6
        };
        let long = encode(device, &c, &[views(&items)]).await;
        let short = encode(device, &c, &[views(&items[items.len() - window..])]).await;
        assert!(max_diff(&long, &short) < 1e-6, "{:?}", c.positions);
    }
}

async fn floats_async<const N: usize>(t: Tensor<N>) -> Option<Vec<f32>> {
    t.into_data_async().await.ok()?.try_to_vec::<f32>().ok()
}

/// Asserts two (state, attention) results agree within 1e-5.
async fn assert_same(what: &str, want: (Vec<f32>, Vec<f32>), got: (Tensor<2>, Tensor<2>)) {
    let state = floats_async(got.0).await.unwrap();
    let att = floats_async(got.1).await.unwrap();
    let diff = max_diff(&want.0, &state);
    assert!(diff < 1e-5, "{what}: states differ by {diff}");
    assert!(max_diff(&want.1, &att) < 1e-5, "{what}: attention differs");
}

/// Models with every feature, one or two blocks, one or two heads, both layouts, with
/// `positions`.
fn full_featured(positions: Positions) -> Vec<SeqRecConfig> {
    let mut out = Vec::new();
    for layers in [1, 2] {
        for heads in [1, 2] {
            for layout in [BlockLayout::PreNorm, BlockLayout::Sasrec] {
                out.push(
                    config()
                        .with_layers(layers)
                        .with_heads(heads)
                        .with_layout(layout)
                        .with_event_types(true)
                        .with_query_buckets(8)
                        .with_n_attributes(4)
                        .with_max_attributes(2)
                        .with_positions(positions),
                );
            }
        }
    }
    out
}

/// The item table's rows of a batch's positions, `[positions * d]` (what the engine gathers
/// from its quantised table for [`localrec::model::HostBlocks::append`]).
fn item_rows(w: &localrec::model::Weights, batch: &SeqBatch) -> Vec<f32> {
    let table = &w["item_emb"].values;
    batch
        .item_rows()
        .flat_map(|r| table[r as usize * D..(r as usize + 1) * D].iter().copied())
        .collect()
}

/// A history with every kind of event (five events) and a short one with a search.
fn mixed_histories() -> ([Step; 5], [Step; 2]) {
    let step = |item: u32, kind: EventKind| Step::item(item, kind);
    let search = Step {
        item: 0,
        kind: EventKind::Search.row(),
        query: Box::new([2, 7]),
    };
    let long = [
        step(3, EventKind::View),
        search.clone(),
        step(5, EventKind::Cart),
        step(9, EventKind::Purchase),
        step(4, EventKind::View),
    ];
    let short = [search, step(8, EventKind::View)];
    (long, short)
}

fn item_attrs() -> Vec<Vec<u32>> {
    (0..=30u32).map(|i| vec![1 + i % 4, 1 + i % 3]).collect()
}

/// The inference path (`encode_newest`: only the newest row through the last block) gives the
/// newest row of the full forward and its attention, within 1e-5, for models with every
/// feature, one or two blocks, one or two heads, both layouts, positions from the newest event
/// or a relative bias, alone and in a padded batch.
pub async fn the_newest_row_forward_equals_the_full_one(device: &Device) {
    let (long, short) = mixed_histories();
    let item_attrs = item_attrs();
    for positions in [Positions::FromNewest, Positions::Relative] {
        for c in full_featured(positions) {
            let model = c.init_with(device, &weights(&c)).expect("weights match");
            for histories in [vec![&long[..]], vec![&long[..], &short[..]]] {
                let batch = SeqBatch::new(&c, &histories, &item_attrs);
                let (b, l) = (batch.batch, batch.len);
                let (full, full_att) = model.encode_with_attention(&batch);
                let full = floats_async(full.narrow(1, l - 1, 1).reshape([b, D]))
                    .await
                    .unwrap();
                let full_att = floats_async(full_att).await.unwrap();
                let what = format!(
                    "{} blocks, {} heads, {:?}, {positions:?}, batch {b}",
                    c.layers, c.heads, c.layout
                );
                assert_same(&what, (full, full_att), model.encode_newest(&batch)).await;
            }
        }
    }
}

/// Appending events to cached keys and values ([`SeqRec::encode_appended`]) gives the state and
/// attention of the whole history encoded at once, within 1e-5: one event or several at a
/// time, for every full-featured model whose positions allow it (from the oldest event, a
/// relative bias; with `every_model` false, the relative bias with two blocks and two heads in
/// both layouts: WebGPU in SwiftShader is slow), also through the blocks on the host
/// ([`HostBlocks`], the CPU engine's path); a model counting from the newest event refuses, and so
/// does a history longer than `max_len`.
pub async fn appending_to_cached_keys_equals_encoding_the_whole_history(
    device: &Device,
    every_model: bool,
) {
    let (long, _) = mixed_histories();
    let item_attrs = item_attrs();
    for positions in [Positions::FromOldest, Positions::Relative] {
        if !every_model && positions != Positions::Relative {
            continue;
        }
        for c in full_featured(positions) {
            if !every_model && (c.layers, c.heads) != (2, 2) {
                continue;
            }
            let w = weights(&c);
            let model = c.init_with(device, &w).expect("weights match");
            assert!(model.caches_keys());
            let host = HostBlocks::new(&c, &w).unwrap();
            let batch = |steps: &[Step]| SeqBatch::new(&c, &[steps], &item_attrs);
            let (want, want_att) = model.encode_newest(&batch(&long));
            let want = (
                floats_async(want).await.unwrap(),
                floats_async(want_att).await.unwrap(),
            );
            // Events 1 + 1 + 3, and 4 + 1.
            for splits in [&[1, 2][..], &[4][..]] {
                let (_, _, mut cache) = model
                    .encode_appended(&batch(&long[..splits[0]]), None, None)
                    .unwrap();
                let mut from = splits[0];
                let mut result = None;
                for &to in splits[1..].iter().chain([&long.len()]) {
                    let (state, att, next) = model
                        .encode_appended(&batch(&long[from..to]), None, Some(&cache))
                        .unwrap();
                    assert_eq!(next.len(), to);
                    (cache, from, result) = (next, to, Some((state, att)));
                }
                let what = format!(
                    "{} blocks, {} heads, {:?}, {positions:?}, appended after {splits:?}",
                    c.layers, c.heads, c.layout
                );
                assert_same(&what, want.clone(), result.unwrap()).await;
                // The same on the host (`HostBlocks`: the CPU engine's path).
                let append = |steps: &[Step], past| {
                    let b = batch(steps);
                    host.append(&b, &item_rows(&w, &b), past)
                };
                let mut a = append(&long[..splits[0]], None).unwrap();
                let mut from = splits[0];
                for &to in splits[1..].iter().chain([&long.len()]) {
                    a = append(&long[from..to], Some(a.keys)).unwrap();
                    assert_eq!(a.keys.len(), to);
                    from = to;
                }
                let diff = max_diff(&want.0, &a.state);
                assert!(diff < 1e-5, "host, {what}: states differ by {diff}");
                let diff = max_diff(&want.1, &a.attention);
                assert!(diff < 1e-5, "host, {what}: attention differs by {diff}");
            }
            // Past max_len (6) nothing is appended.
            let (_, _, cache) = model.encode_appended(&batch(&long), None, None).unwrap();
            let err = model
                .encode_appended(&batch(&long[..2]), None, Some(&cache))
                .unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
            let b = batch(&long);
            let keys = host.append(&b, &item_rows(&w, &b), None).unwrap().keys;
            let b = batch(&long[..2]);
            let err = host.append(&b, &item_rows(&w, &b), Some(keys)).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
        }
    }
    let c = config().with_positions(Positions::FromNewest);
    let model = c.init_with(device, &weights(&c)).expect("weights match");
    assert!(!model.caches_keys());
    assert_eq!(
        HostBlocks::new(&c, &weights(&c)).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    let err = model
        .encode_appended(&SeqBatch::new(&c, &[&views(&[1, 2])], &[]), None, None)
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
}
