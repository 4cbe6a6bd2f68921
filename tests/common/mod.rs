//! Shared by the native and wasm test crates.

use localrec::model::{SeqRecConfig, WeightTensor, Weights};

/// Fixed, non-random weights for `config` (not the seeded RNG, which parallel tests share).
pub fn weights(config: &SeqRecConfig) -> Weights {
    config
        .param_shapes()
        .into_iter()
        .enumerate()
        .map(|(t, (name, shape))| {
            let n: usize = shape.iter().product();
            let values = (0..n)
                .map(|i| ((i * 7 + t * 13) as f32 * 0.37).sin() * 0.3)
                .collect();
            (name, WeightTensor { shape, values })
        })
        .collect()
}

/// Largest absolute difference between two equally long slices.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
