//! The trainer's two CPU backends (`TrainOptions::backend`) against each other.

#![cfg(feature = "train")]

mod common;

use common::walks::prepared_walks;
use localrec::model::SeqRecConfig;
use localrec::train::{self, Backend, TrainOptions};

/// The two CPU backends train the same model: the same curve to float rounding (burn-flex and
/// burn-ndarray sum in different orders), in both losses.
#[test]
fn flex_and_ndarray_train_alike() {
    let data = prepared_walks(300, 3);
    let config = SeqRecConfig::new(data.vocab.len())
        .with_d_model(16)
        .with_layers(1)
        .with_max_len(10)
        .with_event_types(false);
    for negatives in [0, 8] {
        let curve = |backend| {
            let o = TrainOptions {
                epochs: 3,
                batch_size: 32,
                negatives: Some(negatives),
                learning_rate: 3e-3,
                progress: false,
                backend,
                ..TrainOptions::default()
            };
            let t = train::train(&config, &data, &o, None, |_| Ok(())).unwrap();
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
