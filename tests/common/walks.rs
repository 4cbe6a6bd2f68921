//! A seeded shop where order matters, prepared as the trainer reads it (native, `train` only).

use localrec::event::{Event, EventKind};
use localrec::model::{Features, SeqRecConfig};
use localrec::train::data::{Dataset, UserLog};
use localrec::train::{self, Backend, PrepareOptions, Prepared, TrainOptions, Trained};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Shoppers walk a catalogue of 60 items in "next item" steps (item i is usually followed by
/// i + 1, sometimes i + 2), starting anywhere; popularity is nearly flat, so only order predicts.
pub fn walks(users: usize, seed: u64) -> Dataset {
    let mut rng = StdRng::seed_from_u64(seed);
    let users = (0..users)
        .map(|u| {
            let mut item = rng.random_range(0..60u32);
            let len = rng.random_range(5..12);
            let events = (0..len)
                .map(|t| {
                    let e = Event::item(EventKind::Purchase, format!("i{item}"), t as f64);
                    item = (item + if rng.random_bool(0.8) { 1 } else { 2 }) % 60;
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

/// [`walks`] prepared with item features only (no queries, no event types).
pub fn prepared_walks(users: usize, seed: u64) -> Prepared {
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
    train::prepare(&walks(users, seed), &opts).unwrap()
}

/// A tiny model of [`prepared_walks`] (d 16, one block, windows of 10, no event types), for
/// comparing backends.
pub fn tiny_config(data: &Prepared) -> SeqRecConfig {
    SeqRecConfig::new(data.vocab.len())
        .with_d_model(16)
        .with_layers(1)
        .with_max_len(10)
        .with_event_types(false)
}

/// Three epochs (batch 32, lr 3e-3) of `config` on `data` with `negatives` sampled negatives
/// (0: full cross-entropy) on `backend`.
pub fn three_epochs(
    config: &SeqRecConfig,
    data: &Prepared,
    negatives: usize,
    backend: Backend,
) -> Trained {
    let o = TrainOptions {
        epochs: 3,
        batch_size: 32,
        negatives: Some(negatives),
        learning_rate: 3e-3,
        progress: false,
        backend,
        ..TrainOptions::default()
    };
    train::train(config, data, &o, None, |_| Ok(())).unwrap()
}
