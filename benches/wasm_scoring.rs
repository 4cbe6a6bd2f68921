//! A timing, not a test: the wasm SIMD scoring loops (`i32x4.dot_i16x8_s`) against the portable
//! integer loops over a 1M x 64 table, int8 and int4, in headless Chromium. Run by `make bench`
//! (`WASM_TEST=wasm_scoring scripts/test-wasm.sh -- --nocapture`); its exact agreement is
//! asserted by tests/web.rs.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Before/after figures for the SIMD scoring loop (printed, not asserted: timings are not
/// behaviour): the portable integer loop against `i32x4.dot_i16x8_s` over a 1M x 64 int8 table.
#[wasm_bindgen_test]
fn simd_scoring_before_and_after() {
    use localrec::format::quant::QuantizedMatrix;
    let (rows, cols) = (1_000_000, 64);
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0)
        .collect();
    let q = QuantizedMatrix::quantize(&values, rows, cols);
    let q4 = localrec::format::quant::Int4Matrix::quantize(&values, rows, cols);
    drop(values);
    let x: Vec<f32> = (0..cols)
        .map(|c| ((c * 31 % 17) as f32 - 8.0) / 3.0)
        .collect();
    let (int8_portable, int8_simd) = time(
        |out: &mut Vec<f32>| q.matvec_portable(&x, out),
        |out: &mut Vec<f32>| q.matvec(&x, out),
    );
    console_log!(
        "int8 scoring, 1M x 64: portable loop {int8_portable:.1} ms, wasm SIMD {int8_simd:.1} ms per call ({:.1}x)",
        int8_portable / int8_simd.max(1e-9)
    );
    let (int4_portable, int4_simd) = time(
        |out: &mut Vec<f32>| q4.matvec_portable(&x, out),
        |out: &mut Vec<f32>| q4.matvec(&x, out),
    );
    console_log!(
        "int4 scoring, 1M x 64: portable loop {int4_portable:.1} ms, wasm SIMD {int4_simd:.1} ms per call ({:.2}x int8's SIMD time)",
        int4_simd / int8_simd.max(1e-9)
    );
}

/// Milliseconds per call of `portable` and of `simd` (5 calls each), whose scores must agree.
fn time(
    mut portable: impl FnMut(&mut Vec<f32>),
    mut simd: impl FnMut(&mut Vec<f32>),
) -> (f64, f64) {
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    let now = js_sys::Date::now;
    let reps = 5;
    let t0 = now();
    for _ in 0..reps {
        portable(&mut slow);
    }
    let t1 = now();
    for _ in 0..reps {
        simd(&mut fast);
    }
    let t2 = now();
    assert_eq!(fast, slow);
    ((t1 - t0) / reps as f64, (t2 - t1) / reps as f64)
}
