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

/// A model with a relative bias reads a window that moves in steps (`window_start`): the
/// trainer's evaluation ranks a long history from the same window the browser encodes, so its
/// top-10 is the engine's (the input history's items excluded in both).
#[test]
fn trainer_eval_reads_the_browsers_window() {
    use localrec::model::Positions;
    use localrec::train::eval::{EvalCase, evaluate};
    let config = SeqRecConfig::new(40)
        .with_d_model(8)
        .with_layers(2)
        .with_max_len(4)
        .with_event_types(true)
        .with_positions(Positions::Relative);
    let bytes = random_model(&config, 9, Encoding::Int8).unwrap();
    let engine = Engine::load(&bytes, &localrec::cpu_device(), None).unwrap();
    let items = [3, 17, 5, 22, 9, 31, 12, 8, 27, 14, 36];
    let history: Vec<Event> = items
        .iter()
        .enumerate()
        .map(|(i, n)| Event::item(EventKind::View, format!("item-{n}"), i as f64))
        .collect();
    let encoded = engine.encode(&history);
    // 11 events, windows of 4 moving by 2: the newest 3 (from the 8th event).
    assert_eq!(encoded.steps.len(), 3);
    let (state, _) = engine.state_blocking(&encoded).unwrap().unwrap();
    let scores = engine.score(&state);
    // The whole history as the trainer reads it.
    let artefact = format::read(&bytes).unwrap();
    let ds = Dataset::from_logs(vec![UserLog {
        user: "u".into(),
        events: history,
    }]);
    let steps = prepare_for(&artefact, &ds).unwrap().users.remove(0).steps;
    assert_eq!(steps.len(), items.len());
    let seen: Vec<u32> = steps.iter().map(|s| s.item).collect();
    let keep = |r: usize| r != 0 && !seen.contains(&(r as u32));
    let browser = localrec::runtime::rank::top_k(&scores, 10, keep);
    let browser: Vec<u32> = browser.into_iter().map(|(r, _)| r as u32).collect();

    let model = artefact.model(&localrec::cpu_device()).unwrap();
    // A target outside the top 10, so it is not let back in.
    let target = (1..=40)
        .find(|t| !browser.contains(t) && !seen.contains(t))
        .unwrap();
    let case = EvalCase {
        input: &steps,
        target,
    };
    let eval = evaluate(&model, &config, &[], &[case], true).unwrap();
    assert_eq!(eval.top10[0], browser);
}
