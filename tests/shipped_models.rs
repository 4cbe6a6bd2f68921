//! The weights shipped in models/ decode into the current architecture and still give their
//! golden top-10 (golden.json is refreshed only together with the weights or the scoring
//! arithmetic:
//! `localrec golden --model models/X/model.lrec --histories models/X/golden.json`).

use std::path::Path;

use localrec::engine::{Engine, RecommendOptions, StoredEvent};

#[derive(serde::Deserialize)]
struct Golden {
    history: Vec<StoredEvent>,
    top10: Vec<String>,
    scores: Vec<f32>,
}

fn check(dir: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(dir);
    let bytes = std::fs::read(root.join("model.lrec")).expect("the shipped model exists");
    let engine =
        Engine::load(&bytes, &localrec::cpu_device(), None).expect("the shipped model loads");
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
