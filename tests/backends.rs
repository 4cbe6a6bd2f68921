//! The trainer's two CPU backends (`TrainOptions::backend`) against each other.

#![cfg(feature = "train")]

mod common;

use common::walks::{prepared_walks, three_epochs, tiny_config};
use localrec::train::Backend;

/// The two CPU backends train the same model: the same curve to float rounding (burn-flex and
/// burn-ndarray sum in different orders), in both losses.
#[test]
fn flex_and_ndarray_train_alike() {
    let data = prepared_walks(300, 3);
    let config = tiny_config(&data);
    for negatives in [0, 8] {
        let curve = |backend| {
            let t = three_epochs(&config, &data, negatives, backend);
            t.curve.iter().map(|e| e.loss).collect::<Vec<f64>>()
        };
        let (flex, ndarray) = (curve(Backend::Flex), curve(Backend::NdArray));
        assert_eq!(flex.len(), 3);
        for (a, b) in flex.iter().zip(&ndarray) {
            assert!(
                (a - b).abs() < 1e-3 * b.abs(),
                "{negatives} negatives: {flex:?} vs {ndarray:?}"
            );
        }
        // Training moved the loss: the comparison is not between two idle runs.
        assert!(flex[2] < flex[0] - 0.05, "{flex:?}");
    }
}
