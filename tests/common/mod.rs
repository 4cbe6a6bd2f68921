//! Shared by the native and wasm test crates.
#![allow(dead_code)]

pub mod checks;
#[cfg(feature = "train")]
pub mod walks;

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

/// Runs a future that never waits (the CPU backend's readback is ready at once) to completion.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
