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
    drop(values);
    let x: Vec<f32> = (0..cols)
        .map(|c| ((c * 31 % 17) as f32 - 8.0) / 3.0)
        .collect();
    let (mut fast, mut portable) = (Vec::new(), Vec::new());
    let now = js_sys::Date::now;
    let reps = 5;
    let t0 = now();
    for _ in 0..reps {
        q.matvec_portable(&x, &mut portable);
    }
    let t1 = now();
    for _ in 0..reps {
        q.matvec(&x, &mut fast);
    }
    let t2 = now();
    assert_eq!(fast, portable);
    console_log!(
        "int8 scoring, 1M x 64: portable loop {:.1} ms, wasm SIMD {:.1} ms per call ({:.1}x)",
        (t1 - t0) / reps as f64,
        (t2 - t1) / reps as f64,
        (t1 - t0) / (t2 - t1).max(1e-9)
    );
    let int8_simd = (t2 - t1) / reps as f64;
    drop(q);
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0)
        .collect();
    let q = localrec::format::quant::Int4Matrix::quantize(&values, rows, cols);
    drop(values);
    let t0 = now();
    for _ in 0..reps {
        q.matvec_portable(&x, &mut portable);
    }
    let t1 = now();
    for _ in 0..reps {
        q.matvec(&x, &mut fast);
    }
    let t2 = now();
    assert_eq!(fast, portable);
    console_log!(
        "int4 scoring, 1M x 64: portable loop {:.1} ms, wasm SIMD {:.1} ms per call ({:.2}x int8's SIMD time)",
        (t1 - t0) / reps as f64,
        (t2 - t1) / reps as f64,
        (t2 - t1) / reps as f64 / int8_simd.max(1e-9)
    );
}
