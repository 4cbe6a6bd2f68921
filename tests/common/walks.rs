//! A seeded shop where order matters, prepared as the trainer reads it (native, `train` only).

use localrec::event::{Event, EventKind};
use localrec::model::Features;
use localrec::train::data::{Dataset, UserLog};
use localrec::train::{self, PrepareOptions, Prepared};
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
