//! The trainer, `localrec eval` and the browser read a history the same way: `train::prepare`
//! (with the model's vocabulary and features, as `eval` runs it) gives exactly the steps that
//! `Engine::encode` gives. They once disagreed on searches with no token.

#![cfg(feature = "train")]

use localrec::event::{Event, EventKind};
use localrec::format::quant::Encoding;
use localrec::format::{self, random_model};
use localrec::model::SeqRecConfig;
use localrec::runtime::Engine;
use localrec::train::data::{Dataset, UserLog};
use localrec::train::pipeline::prepare_for;

fn history() -> Vec<Event> {
    vec![
        Event::search("trail shoes", 1.0),
        Event::item(EventKind::View, "item-3", 2.0),
        // No word hashes to a token: nothing for the model to read.
        Event::search("?!", 3.0),
        Event::search("   ...   ", 4.0),
        // An item the model does not know: skipped.
        Event::item(EventKind::View, "item-999", 5.0),
        // A search naming an unknown item keeps its words.
        Event {
            item_id: Some("no-such-item".into()),
            ..Event::search("hiking boots", 6.0)
        },
        Event::category("hiking/boots", 7.0),
        Event::item(EventKind::Cart, "item-7", 8.0),
        Event::item(EventKind::Purchase, "item-7", 9.0),
        Event::item(EventKind::View, "item-2", 10.0),
        Event::item(EventKind::Purchase, "item-2", 11.0),
    ]
}

#[test]
fn trainer_eval_and_browser_featurise_alike() {
    let config = SeqRecConfig::new(20)
        .with_d_model(8)
        .with_layers(1)
        .with_max_len(30)
        .with_query_buckets(64)
        .with_event_types(true);
    let bytes = random_model(&config, 5, Encoding::Int8).unwrap();
    let engine = Engine::load(&bytes, &localrec::cpu_device(), None).unwrap();
    let browser = engine.encode(&history()).steps;

    let artefact = format::read(&bytes).unwrap();
    let ds = Dataset::from_logs(vec![UserLog {
        user: "u".into(),
        events: history(),
    }]);
    let prepared = prepare_for(&artefact, &ds).unwrap();
    assert_eq!(prepared.users[0].steps, browser);
    // The two token-less searches and the unknown view are gone, nothing else.
    assert_eq!(browser.len(), history().len() - 3);
    assert_eq!(prepared.stats.unknown_items, 2);
    assert_eq!(
        browser.iter().filter(|s| s.item == 0).count(),
        3,
        "searches and the category visit"
    );
}
