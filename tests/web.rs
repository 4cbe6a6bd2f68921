//! wasm-bindgen tests in headless Chromium (scripts/test-wasm.sh): the model on burn's CPU backend
//! and on WebGPU (SwiftShader, via --enable-unsafe-webgpu in webdriver.json) must agree.
#![cfg(target_arch = "wasm32")]

use burn::prelude::*;
use localrec::event::EventKind;
use localrec::model::features::query_buckets;
use localrec::model::{SeqBatch, SeqRecConfig, Step};

mod common;
use common::{checks, max_diff, weights};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn config() -> SeqRecConfig {
    SeqRecConfig::new(40)
        .with_d_model(16)
        .with_layers(2)
        .with_heads(2)
        .with_max_len(8)
        .with_query_buckets(32)
        // Positions from the newest event: the 11-event history reads its newest 8 (a relative
        // bias's window, moving in steps, would read 7; tests/common/checks.rs covers it).
        .with_positions(localrec::model::Positions::FromNewest)
}

fn histories() -> Vec<Vec<Step>> {
    vec![
        vec![
            Step::item(3, EventKind::View),
            Step::item(7, EventKind::Cart),
        ],
        vec![
            Step {
                item: 0,
                kind: EventKind::Search.row(),
                query: query_buckets("trail running shoes", 32, 6).into(),
            },
            Step::item(12, EventKind::View),
            Step::item(12, EventKind::Purchase),
            Step::item(30, EventKind::View),
        ],
        (1..=11).map(|i| Step::item(i, EventKind::View)).collect(),
    ]
}

async fn encode_on(device: &Device) -> (Vec<f32>, Vec<f32>) {
    let config = config();
    let model = config
        .init_with(device, &weights(&config))
        .expect("weights match the config");
    let hs = histories();
    let refs: Vec<&[Step]> = hs.iter().map(Vec::as_slice).collect();
    let batch = SeqBatch::new(&config, &refs, &[]);
    let (hidden, attention) = model.encode_with_attention(&batch);
    let hidden = hidden
        .into_data_async()
        .await
        .expect("readback")
        .try_to_vec::<f32>()
        .expect("f32");
    let attention = attention
        .into_data_async()
        .await
        .expect("readback")
        .try_to_vec::<f32>()
        .expect("f32");
    (hidden, attention)
}

#[wasm_bindgen_test]
async fn cpu_backend_runs_the_model() {
    let (hidden, attention) = encode_on(&localrec::cpu_device()).await;
    assert_eq!(hidden.len(), 3 * 8 * 16);
    assert!(hidden.iter().all(|v| v.is_finite()));
    // Each row of the newest position's attention is a distribution over the history.
    for row in attention.chunks(8) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{row:?}");
    }
    // The first history has two events: padding gets no attention.
    assert!(
        attention[..6].iter().all(|&w| w < 1e-6),
        "{:?}",
        &attention[..8]
    );
}

#[wasm_bindgen_test]
async fn webgpu_matches_cpu() {
    let (device, backend) = localrec::wasm::select_device("webgpu")
        .await
        .expect("the test browser has a WebGPU adapter");
    assert_eq!(backend, "webgpu");
    let (cpu_hidden, cpu_att) = encode_on(&localrec::cpu_device()).await;
    let (gpu_hidden, gpu_att) = encode_on(&device).await;
    let d = max_diff(&cpu_hidden, &gpu_hidden);
    assert!(d < 1e-4, "hidden states differ by {d}");
    let d = max_diff(&cpu_att, &gpu_att);
    assert!(d < 1e-4, "attention differs by {d}");
}

async fn webgpu() -> Device {
    let (device, backend) = localrec::wasm::select_device("webgpu")
        .await
        .expect("the test browser has a WebGPU adapter");
    assert_eq!(backend, "webgpu");
    device
}

// The model's properties (tests/common/checks.rs), on WebGPU as on the CPU in tests/model.rs.

#[wasm_bindgen_test]
async fn on_webgpu_a_later_event_never_changes_earlier_outputs() {
    checks::a_later_event_never_changes_earlier_outputs(&webgpu().await).await;
}

#[wasm_bindgen_test]
async fn on_webgpu_padding_and_other_histories_never_change_a_result() {
    checks::padding_and_other_histories_never_change_a_result(&webgpu().await).await;
}

#[wasm_bindgen_test]
async fn on_webgpu_only_the_newest_max_len_events_matter() {
    checks::only_the_newest_max_len_events_matter(&webgpu().await).await;
}

#[wasm_bindgen_test]
async fn on_webgpu_the_newest_row_forward_equals_the_full_one() {
    checks::the_newest_row_forward_equals_the_full_one(&webgpu().await).await;
}

#[wasm_bindgen_test]
async fn on_cpu_in_wasm_the_newest_row_forward_equals_the_full_one() {
    checks::the_newest_row_forward_equals_the_full_one(&localrec::cpu_device()).await;
}

#[wasm_bindgen_test]
async fn on_webgpu_appending_to_cached_keys_equals_encoding_the_whole_history() {
    checks::appending_to_cached_keys_equals_encoding_the_whole_history(&webgpu().await, false)
        .await;
}

#[wasm_bindgen_test]
async fn on_cpu_in_wasm_appending_to_cached_keys_equals_encoding_the_whole_history() {
    checks::appending_to_cached_keys_equals_encoding_the_whole_history(
        &localrec::cpu_device(),
        true,
    )
    .await;
}

#[wasm_bindgen_test]
async fn unknown_backend_is_an_error_not_a_panic() {
    let err = localrec::wasm::select_device("tpu").await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
}

/// The wasm SIMD scoring paths (`i32x4.dot_i16x8_s`; int4 unpacked by shifts) give exactly the
/// portable loops' scores, for widths the SIMD loops take and widths they leave to the portable
/// loop.
#[wasm_bindgen_test]
fn simd_scoring_matches_the_portable_loop() {
    use localrec::format::quant::{Int4Matrix, QuantizedMatrix};
    for (rows, cols) in [
        (1000, 64),
        (37, 16),
        (5, 48),
        (9, 20),
        (11, 32),
        (7, 128),
        (3, 7),
    ] {
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0)
            .collect();
        let x: Vec<f32> = (0..cols)
            .map(|c| ((c * 31 % 17) as f32 - 8.0) / 3.0)
            .collect();
        let q = QuantizedMatrix::quantize(&values, rows, cols);
        let (mut fast, mut portable) = (Vec::new(), Vec::new());
        q.matvec(&x, &mut fast);
        q.matvec_portable(&x, &mut portable);
        assert_eq!(fast, portable, "int8 {rows}x{cols}");
        let q = Int4Matrix::quantize(&values, rows, cols);
        q.matvec(&x, &mut fast);
        q.matvec_portable(&x, &mut portable);
        assert_eq!(fast, portable, "int4 {rows}x{cols}");
        assert!(
            fast.iter().any(|&s| s != 0.0),
            "int4 {rows}x{cols}: all zero"
        );
    }
}

#[wasm_bindgen_test]
fn simd_top_k_skipping_matches_the_portable_scan() {
    use localrec::runtime::rank::{leading_at_most, leading_at_most_portable, top_k};
    let scores: Vec<f32> = (0..10_007)
        .map(|i| match i % 331 {
            0 => f32::NAN,
            _ => ((i * 7919) % 5_003) as f32 / 3.0,
        })
        .collect();
    for t in [-1.0, 0.0, 100.0, 1000.0, 1667.0, 2000.0] {
        for start in [0, 1, 5, 16, 333] {
            let s = &scores[start..];
            let (fast, portable) = (leading_at_most(s, t), leading_at_most_portable(s, t));
            // The SIMD scan stops at the block holding the first score above t.
            assert!(
                fast <= portable && portable - fast < 16,
                "t {t} start {start}"
            );
            assert!(s[fast..portable].iter().all(|&v| !(v > t)));
        }
    }
    let mut rows: Vec<usize> = (1..scores.len()).filter(|&r| !scores[r].is_nan()).collect();
    rows.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let got: Vec<usize> = top_k(&scores, 50, |_| true)
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(got, rows[..50]);
}
