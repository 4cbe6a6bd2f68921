//! Per-row symmetric int8 quantisation with f32 scales.

/// A row-major matrix stored as int8 with one f32 scale per row: `w[r][c] ≈ q[r][c] * scale[r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedMatrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<i8>,
    pub scales: Vec<f32>,
}

impl QuantizedMatrix {
    /// Quantises a row-major `rows × cols` matrix. Each row maps its largest magnitude to ±127.
    pub fn quantize(values: &[f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(values.len(), rows * cols);
        let mut data = Vec::with_capacity(values.len());
        let mut scales = Vec::with_capacity(rows);
        for row in values.chunks_exact(cols.max(1)).take(rows) {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            scales.push(scale);
            data.extend(
                row.iter()
                    .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
            );
        }
        Self {
            rows,
            cols,
            data,
            scales,
        }
    }

    /// Back to f32, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.data.len());
        for (row, &scale) in self.data.chunks_exact(self.cols.max(1)).zip(&self.scales) {
            out.extend(row.iter().map(|&q| q as f32 * scale));
        }
        out
    }

    /// `scale[r] * Σ_c q[r][c] * x[c]` for every row: the catalogue-scoring hot loop.
    ///
    /// `x` is quantised to i16 with one scale (relative error about 1/65,000 of its largest
    /// element), each row's dot product is exact integer arithmetic, and the result is scaled
    /// back in f32. Integer sums do not depend on the order of addition, so the wasm SIMD path
    /// (`i32x4.dot_i16x8_s`, 16 int8 weights per step) and the portable loop give bit-identical
    /// scores, on every platform.
    pub fn matvec(&self, x: &[f32], out: &mut Vec<f32>) {
        #[cfg(target_arch = "wasm32")]
        if self.cols.is_multiple_of(16) {
            let (xq, sx) = quantize_state(&x[..self.cols], self.cols);
            out.clear();
            out.resize(self.rows, 0.0);
            // SAFETY: wasm has no run-time feature detection: a module built with SIMD
            // instructions simply does not compile on an engine without them, and every browser
            // with WebAssembly SIMD (all current ones) runs it. Lengths are checked inside.
            #[allow(unused_unsafe)]
            unsafe {
                simd128::scores(&self.data, &self.scales, self.cols, &xq, sx, out)
            };
            return;
        }
        self.matvec_portable(x, out);
    }

    /// [`Self::matvec`] without SIMD (the reference the SIMD path is tested against).
    pub fn matvec_portable(&self, x: &[f32], out: &mut Vec<f32>) {
        let (xq, sx) = quantize_state(&x[..self.cols], self.cols);
        out.clear();
        out.extend(
            self.data
                .chunks_exact(self.cols.max(1))
                .zip(&self.scales)
                .map(|(row, &scale)| {
                    let dot: i32 = row
                        .iter()
                        .zip(&xq)
                        .map(|(&q, &v)| q as i32 * v as i32)
                        .sum();
                    dot as f32 * (scale * sx)
                }),
        );
    }
}

/// Quantises a state vector to i16 with one scale, `x[c] ≈ q[c] * scale`, leaving enough head
/// room that a row's integer dot product (|weights| ≤ 127) cannot overflow an i32.
fn quantize_state(x: &[f32], cols: usize) -> (Vec<i16>, f32) {
    let limit = (i32::MAX as f64 / (127.0 * cols.max(1) as f64)).min(32767.0) as f32;
    let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 && max.is_finite() {
        max / limit
    } else {
        1.0
    };
    let q = x
        .iter()
        .map(|v| (v / scale).round().clamp(-limit, limit) as i16)
        .collect();
    (q, scale)
}

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use core::arch::wasm32::*;

    /// Row dot products of int8 weights with an i16 state, 16 weights per step.
    #[target_feature(enable = "simd128")]
    pub fn scores(data: &[i8], scales: &[f32], cols: usize, x: &[i16], sx: f32, out: &mut [f32]) {
        assert!(cols.is_multiple_of(16) && x.len() == cols && data.len() == cols * out.len());
        assert!(scales.len() == out.len());
        for ((row, &scale), o) in data.chunks_exact(cols).zip(scales).zip(out.iter_mut()) {
            let mut acc = i32x4_splat(0);
            for c in (0..cols).step_by(16) {
                // SAFETY: `c + 16 <= cols` = row.len() = x.len() (asserted above); v128_load
                // has no alignment requirement.
                let (q, x0, x1) = unsafe {
                    (
                        v128_load(row.as_ptr().add(c) as *const v128),
                        v128_load(x.as_ptr().add(c) as *const v128),
                        v128_load(x.as_ptr().add(c + 8) as *const v128),
                    )
                };
                acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_low_i8x16(q), x0));
                acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_high_i8x16(q), x1));
            }
            let dot = i32x4_extract_lane::<0>(acc)
                .wrapping_add(i32x4_extract_lane::<1>(acc))
                .wrapping_add(i32x4_extract_lane::<2>(acc))
                .wrapping_add(i32x4_extract_lane::<3>(acc));
            *o = dot as f32 * (scale * sx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let values: Vec<f32> = (0..64 * 10)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let q = QuantizedMatrix::quantize(&values, 10, 64);
        let back = q.dequantize();
        for (r, (row, back_row)) in values.chunks(64).zip(back.chunks(64)).enumerate() {
            let step = q.scales[r];
            for (a, b) in row.iter().zip(back_row) {
                assert!(
                    (a - b).abs() <= step * 0.5 + 1e-6,
                    "row {r}: {a} vs {b}, step {step}"
                );
            }
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!((step * 127.0 - max).abs() < 1e-4);
        }
    }

    #[test]
    fn zero_rows_and_extremes() {
        let q = QuantizedMatrix::quantize(&[0.0, 0.0, -2.0, 1.0], 2, 2);
        assert_eq!(q.data, vec![0, 0, -127, 64]);
        assert_eq!(q.dequantize()[..2], [0.0, 0.0]);
    }

    #[test]
    fn matvec_matches_dequantised_dot() {
        let values: Vec<f32> = (0..30).map(|i| (i as f32 * 0.37).sin()).collect();
        let q = QuantizedMatrix::quantize(&values, 5, 6);
        let x = [0.5, -1.0, 0.25, 2.0, 0.0, 1.5];
        let mut out = Vec::new();
        q.matvec(&x, &mut out);
        let deq = q.dequantize();
        for r in 0..5 {
            let row = &deq[r * 6..r * 6 + 6];
            let expected: f32 = row.iter().zip(&x).map(|(a, b)| a * b).sum();
            // The state is quantised to i16: error below 1e-4 of the largest term's magnitude.
            let bound: f32 = row.iter().map(|a| a.abs() * 2.0).sum::<f32>() / 32767.0;
            assert!(
                (out[r] - expected).abs() <= bound,
                "row {r}: {} vs {expected} (bound {bound})",
                out[r]
            );
        }
    }

    #[test]
    fn wide_rows_do_not_overflow() {
        // 2048 columns of ±127 against a state of equal magnitudes: the integer dot product is
        // as large as it can be and must still come out right.
        let cols = 2048;
        let values: Vec<f32> = (0..cols)
            .map(|c| if c % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let q = QuantizedMatrix::quantize(&values, 1, cols);
        let mut out = Vec::new();
        q.matvec(&values, &mut out);
        assert!(
            (out[0] - cols as f32).abs() < 1e-2 * cols as f32,
            "{}",
            out[0]
        );
    }
}
