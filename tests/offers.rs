//! Offer ranking (`pickOffers` and `localrec eval --offers`) on hand-made next-item scores, so
//! every expected order can be worked out by hand.

#![cfg(feature = "train")]

use std::collections::{HashMap, HashSet};

use localrec::catalog::{ItemMeta, Offer};
use localrec::format::quant::Encoding;
use localrec::format::random_model;
use localrec::model::SeqRecConfig;
use localrec::runtime::{Engine, Filter};

/// Items 1-6: running shoes (1, 2), running socks (3), hiking boots (4, 5), a hiking backpack (6).
/// Brands: Strideline (1, 3), Peakform (4, 5, 6), Cadence (2).
fn engine() -> Engine {
    let config = SeqRecConfig::new(6)
        .with_d_model(8)
        .with_layers(1)
        .with_max_len(4);
    let bytes = random_model(&config, 3, Encoding::Int8).unwrap();
    let meta = |category: &str, brand: &str| ItemMeta {
        title: format!("{brand} {category}"),
        category: category.into(),
        brand: brand.into(),
        price: Some(10.0),
        in_stock: true,
    };
    let catalog: HashMap<String, ItemMeta> = [
        ("item-1", meta("running/shoes", "Strideline")),
        ("item-2", meta("running/shoes", "Cadence")),
        ("item-3", meta("running/socks", "Strideline")),
        ("item-4", meta("hiking/boots", "Peakform")),
        ("item-5", meta("hiking/boots", "Peakform")),
        ("item-6", meta("hiking/backpacks", "Peakform")),
    ]
    .into_iter()
    .map(|(id, m)| (id.to_owned(), m))
    .collect();
    Engine::load(&bytes, &localrec::cpu_device(), Some(catalog)).unwrap()
}

fn offer(id: &str, categories: &[&str], brands: &[&str], discount: f32) -> Offer {
    Offer {
        id: id.into(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        brands: brands.iter().map(|s| s.to_string()).collect(),
        item_ids: Vec::new(),
        discount,
        title: String::new(),
        redeemers: None,
    }
}

/// Scores whose softmax gives each row the wanted share (row 0 is padding).
fn scores(shares: [f32; 6]) -> Vec<f32> {
    std::iter::once(0.0)
        .chain(shares.iter().map(|p| p.ln()))
        .collect()
}

fn ranked(
    engine: &Engine,
    scores: Option<&[f32]>,
    bought: &[usize],
    offers: &[Offer],
) -> Vec<(String, f32)> {
    let bought: HashSet<usize> = bought.iter().copied().collect();
    engine
        .rank_offers(scores, &bought, offers, &Filter::default())
        .unwrap()
        .into_iter()
        .map(|r| (offers[r.offer].id.clone(), r.probability))
        .collect()
}

/// The offer ids of a ranking, best first.
fn ids(ranking: &[(String, f32)]) -> Vec<&str> {
    ranking.iter().map(|(id, _)| id.as_str()).collect()
}

#[test]
fn the_most_probable_offer_wins_over_a_bigger_discount() {
    let e = engine();
    let offers = [
        offer("socks-25", &["running/socks"], &[], 0.25),
        offer("backpacks-15", &["hiking/backpacks"], &[], 0.15),
        offer("hiking-10", &["hiking"], &[], 0.10),
    ];
    // Next item: hiking boots 50%, backpack 30%, socks 20%.
    let s = scores([0.0001, 0.0001, 0.2, 0.25, 0.25, 0.3]);
    let r = ranked(&e, Some(&s), &[], &offers);
    assert_eq!(ids(&r), ["hiking-10", "backpacks-15", "socks-25"]);
    // Probabilities are the softmax mass on each offer's items.
    assert!((r[0].1 - 0.8).abs() < 1e-3, "{r:?}");
    assert!((r[1].1 - 0.3).abs() < 1e-3, "{r:?}");
    assert!((r[2].1 - 0.2).abs() < 1e-3, "{r:?}");
}

#[test]
fn bought_items_do_not_count_and_ties_go_to_the_bigger_discount() {
    let e = engine();
    let offers = [
        offer("shoes-10", &["running/shoes"], &[], 0.10),
        offer("strideline-5", &[], &["strideline"], 0.05),
        offer("socks-20", &["running/socks"], &[], 0.20),
    ];
    let s = scores([0.4, 0.1, 0.1, 0.2, 0.1, 0.1]);
    // Shoes (items 1 + 2) and Strideline (items 1 + 3) both hold 0.5: the bigger discount first.
    let before = ranked(&e, Some(&s), &[], &offers);
    assert_eq!(
        ids(&before),
        ["shoes-10", "strideline-5", "socks-20"],
        "{before:?}"
    );
    // Item 1 bought: shoes keep item 2 (0.1), Strideline keeps item 3 (0.1), socks item 3 (0.1).
    let after = ranked(&e, Some(&s), &[1], &offers);
    assert_eq!(
        ids(&after),
        ["socks-20", "shoes-10", "strideline-5"],
        "{after:?}"
    );
}

#[test]
fn offers_with_nothing_left_are_dropped_and_listed_items_count() {
    let e = engine();
    let mut listed = offer("pick-2", &[], &[], 0.3);
    listed.item_ids = vec!["item-2".into(), "no-such-item".into()];
    let offers = [
        offer("socks-10", &["running/socks"], &[], 0.1),
        offer("yoga-10", &["yoga"], &[], 0.1),
        listed,
    ];
    let s = scores([0.1, 0.6, 0.1, 0.1, 0.05, 0.05]);
    let r = ranked(&e, Some(&s), &[3], &offers);
    assert_eq!(ids(&r), ["pick-2"], "socks bought, no yoga items: {r:?}");
}

#[test]
fn without_a_model_state_offers_follow_popularity() {
    let e = engine();
    // random_model's popularity falls with the row: item 1 is the most popular.
    let offers = [
        offer("backpacks-25", &["hiking/backpacks"], &[], 0.25),
        offer("shoes-5", &["running/shoes"], &[], 0.05),
    ];
    let r = ranked(&e, None, &[], &offers);
    assert_eq!(r[0].0, "shoes-5", "{r:?}");
}

#[test]
fn bad_offers_are_errors() {
    let e = engine();
    let bad = [offer("x", &["running"], &[], 1.5)];
    let err = e
        .rank_offers(None, &HashSet::new(), &bad, &Filter::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("discount must be in [0, 1]"),
        "{err}"
    );

    let config = SeqRecConfig::new(6).with_d_model(8).with_layers(1);
    let bare = Engine::load(
        &random_model(&config, 1, Encoding::Int8).unwrap(),
        &localrec::cpu_device(),
        None,
    )
    .unwrap();
    let by_category = [offer("x", &["running"], &[], 0.1)];
    let err = bare
        .rank_offers(None, &HashSet::new(), &by_category, &Filter::default())
        .unwrap_err();
    assert!(err.to_string().contains("need item metadata"), "{err}");
}
