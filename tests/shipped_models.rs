//! The weights shipped in models/ decode into the current architecture and still give their
//! golden top-10 (golden.json is refreshed only together with the weights or the scoring
//! arithmetic:
//! `localrec golden --model models/X/model.lrec --histories models/X/golden.json`).

#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use localrec::event::Event;
use localrec::event::EventKind;
use localrec::runtime::{Engine, RecommendOptions};

#[derive(serde::Deserialize)]
struct Golden {
    history: Vec<Event>,
    top10: Vec<String>,
    scores: Vec<f32>,
}

fn root(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(dir)
}

fn load(dir: &str) -> Engine {
    let bytes = std::fs::read(root(dir).join("model.lrec")).expect("the shipped model exists");
    Engine::load(&bytes, &localrec::cpu_device(), None).expect("the shipped model loads")
}

fn check(dir: &str) {
    let root = root(dir);
    let engine = load(dir);
    let golden: Vec<Golden> =
        serde_json::from_str(&std::fs::read_to_string(root.join("golden.json")).unwrap()).unwrap();
    assert!(!golden.is_empty());
    for g in golden {
        let recs = engine
            .recommend_blocking(&g.history, &RecommendOptions::default())
            .unwrap();
        let ids: Vec<&str> = recs.iter().map(|r| r.item_id.as_str()).collect();
        assert_eq!(
            ids, g.top10,
            "{dir}: top-10 changed for history {:?}",
            g.history
        );
        for (r, s) in recs.iter().zip(&g.scores) {
            assert!(
                (r.score - s).abs() < 1e-4,
                "{dir}: score {} vs golden {s}",
                r.score
            );
        }
    }
}

#[test]
fn demo_model_gives_its_golden_top10() {
    check("demo");
}

#[test]
fn beauty_model_gives_its_golden_top10() {
    check("beauty");
}

fn event(kind: EventKind, item_id: Option<&str>, text: Option<&str>) -> Event {
    Event {
        kind,
        item_id: item_id.map(str::to_owned),
        query: text
            .filter(|_| kind == EventKind::Search)
            .map(str::to_owned),
        category: text
            .filter(|_| kind == EventKind::Category)
            .map(str::to_owned),
        ts: 1.0,
    }
}

/// A category page visit reads as a search for the category's words, is explained as
/// "browsed", and must name a category of the catalogue.
#[test]
fn a_category_visit_ranks_like_a_search_for_its_words() {
    let engine = load("demo");
    let viewed = event(EventKind::View, Some("sku-0010"), None);
    let visit = event(EventKind::Category, None, Some(" hiking/boots "));
    let visit = engine.validate(visit).unwrap();
    assert_eq!(visit.category.as_deref(), Some("hiking/boots"));
    let search = event(EventKind::Search, None, Some("hiking boots"));
    let opts = RecommendOptions::default();
    let by_visit = engine
        .recommend_blocking(&[viewed.clone(), visit.clone()], &opts)
        .unwrap();
    let by_search = engine
        .recommend_blocking(&[viewed.clone(), search], &opts)
        .unwrap();
    let ids = |r: &[localrec::runtime::Recommendation]| {
        r.iter().map(|r| r.item_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&by_visit), ids(&by_search));
    let by_view = engine.recommend_blocking(&[viewed], &opts).unwrap();
    assert_ne!(
        ids(&by_visit),
        ids(&by_view),
        "the visit changes the ranking"
    );
    assert!(
        by_visit
            .iter()
            .any(|r| r.reason.kind == "browsed"
                && r.reason.category.as_deref() == Some("hiking/boots")),
        "{:?}",
        by_visit.iter().map(|r| &r.reason).collect::<Vec<_>>()
    );
    for bad in ["", "  ", "hiking/sandals", "hik"] {
        let err = engine
            .validate(event(EventKind::Category, None, Some(bad)))
            .unwrap_err();
        assert_eq!(err.code(), "BAD_EVENT", "{bad:?}: {err}");
    }
    assert!(
        engine
            .validate(event(EventKind::Category, None, Some("hiking")))
            .is_ok()
    );
}
