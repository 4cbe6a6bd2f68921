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
    pub fn matvec(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.data
                .chunks_exact(self.cols.max(1))
                .zip(&self.scales)
                .map(|(row, &scale)| {
                    scale * row.iter().zip(x).map(|(&q, &v)| q as f32 * v).sum::<f32>()
                }),
        );
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
            let expected: f32 = deq[r * 6..r * 6 + 6]
                .iter()
                .zip(&x)
                .map(|(a, b)| a * b)
                .sum();
            assert!((out[r] - expected).abs() < 1e-5);
        }
    }
}
