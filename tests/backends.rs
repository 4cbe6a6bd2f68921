//! The trainer's two CPU backends (`TrainOptions::backend`) against each other.

#![cfg(feature = "train")]

use localrec::event::{Event, EventKind};
use localrec::model::{Features, SeqRecConfig};
use localrec::train::data::{Dataset, UserLog};
use localrec::train::{self, Backend, PrepareOptions, TrainOptions};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Shoppers walking a catalogue of 40 items, mostly one step at a time.
fn walks(users: usize, seed: u64) -> Dataset {
    let mut rng = StdRng::seed_from_u64(seed);
    let users = (0..users)
        .map(|u| {
            let mut item = rng.random_range(0..40u32);
            let events = (0..rng.random_range(4..10))
                .map(|t| {
                    let e = Event::item(EventKind::Purchase, format!("i{item}"), t as f64);
                    item = (item + if rng.random_bool(0.8) { 1 } else { 3 }) % 40;
                    e
                })
                .collect();
            UserLog {
                user: format!("u{u}"),
                events,
            }
        })
        .collect();
    Dataset::from_logs(users)
}

/// The two CPU backends train the same model: the same curve to float rounding (burn-flex and
/// burn-ndarray sum in different orders), in both losses.
#[test]
fn flex_and_ndarray_train_alike() {
    let ds = walks(300, 3);
    let opts = PrepareOptions {
        features: Features {
            query_buckets: 0,
            max_query_tokens: 6,
            event_types: false,
        },
        attributes: None,
        catalog: None,
        vocab: None,
    };
    let data = train::prepare(&ds, &opts).unwrap();
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
