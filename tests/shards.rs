//! A model split into a core and category shards (`format::shard`, `localrec shard`): the core
//! answers alone, shards are checked against its manifest, and the core with every shard ranks
//! exactly as the full model.

#![cfg(feature = "train")]

use std::collections::HashMap;

use localrec::catalog::ItemMeta;
use localrec::event::{Event, EventKind};
use localrec::format::quant::Encoding;
use localrec::format::shard::{DEFAULT_CORE_ITEMS, Split, split};
use localrec::format::{self, random_model};
use localrec::model::{Positions, SeqRecConfig};
use localrec::runtime::{Engine, RecommendOptions};

const ITEMS: usize = 400;

/// Item `i`'s category: `c{i % 3}/s{i % 5}`; every seventh item has none (not in the catalogue).
fn catalog() -> HashMap<String, ItemMeta> {
    (1..=ITEMS)
        .filter(|i| i % 7 != 0)
        .map(|i| {
            let meta = ItemMeta {
                category: format!("c{}/s{}", i % 3, i % 5),
                ..ItemMeta::default()
            };
            (format!("item-{i}"), meta)
        })
        .collect()
}

fn config() -> SeqRecConfig {
    // Positions from the newest event: the file versions below are those of shards and
    // tables alone (a relative bias would make every core version 6).
    SeqRecConfig::new(ITEMS)
        .with_positions(Positions::FromNewest)
        .with_d_model(16)
        .with_layers(1)
        .with_max_len(8)
        .with_query_buckets(32)
        .with_event_types(true)
}

fn full_model(encoding: Encoding) -> Vec<u8> {
    random_model(&config(), 9, encoding).unwrap()
}

/// The same random model with its item table as residual codes in two codebooks (few items
/// share both codes, so scores rarely tie), the 30 most popular items (the first) stored whole.
fn coded_model() -> Vec<u8> {
    format::random_model_coded(&config(), 9, 2, 31).unwrap()
}

fn split_model(encoding: Encoding, core: usize) -> (Vec<u8>, Split) {
    let full = full_model(encoding);
    let parts = split(&full, Some(&catalog()), Some(core), 9).unwrap();
    (full, parts)
}

fn device() -> burn::prelude::Device {
    localrec::cpu_device()
}

fn view(i: usize) -> Event {
    Event::item(EventKind::View, format!("item-{i}"), i as f64)
}

/// Loads every shard the engine lists for `category` from `parts`.
fn load(engine: &mut Engine, parts: &Split, category: Option<&str>) -> usize {
    let wanted = engine.shards_to_load(category);
    for entry in &wanted {
        let (_, file) = parts
            .shards
            .iter()
            .find(|(e, _)| e.sha256 == entry.sha256)
            .unwrap();
        let shard = engine.read_shard(file, None).unwrap().unwrap();
        engine.add_shard(shard).unwrap();
    }
    wanted.len()
}

#[test]
fn the_core_with_every_shard_ranks_as_the_full_model() {
    for full in [
        full_model(Encoding::Int8),
        full_model(Encoding::Int4),
        coded_model(),
    ] {
        let parts = split(&full, Some(&catalog()), Some(40), 9).unwrap();
        let encoding = format::read(&full).unwrap().item_table.unwrap().describe();
        let reference = Engine::load(&full, &device(), Some(catalog())).unwrap();
        let mut engine = Engine::load(&parts.core, &device(), None).unwrap();
        assert_eq!(engine.info().items, 40);
        assert_eq!(engine.info().catalog_items, ITEMS);
        // 360 items over 3 x 5 categories plus the uncategorised, at most 9 a shard.
        assert!(parts.shards.len() >= 16, "{}", parts.shards.len());
        let n = load(&mut engine, &parts, None);
        assert_eq!(n, parts.shards.len());
        assert_eq!(engine.info().items, ITEMS);
        assert_eq!(engine.info().shards_loaded, n);
        assert!(!engine.has_unloaded_shards());
        let history = vec![
            view(3),
            view(200),
            Event::search("boots", 5.0),
            view(77),
            view(391),
        ];
        for opts in [
            RecommendOptions {
                k: 30,
                ..RecommendOptions::default()
            },
            // Filters read the shards' catalogue metadata.
            serde_json::from_str(r#"{"k": 20, "filter": {"categories": ["c1"]}}"#).unwrap(),
        ] {
            let want = reference.recommend_blocking(&history, &opts).unwrap();
            let got = engine.recommend_blocking(&history, &opts).unwrap();
            assert_eq!(want.len(), got.len());
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(w.item_id, g.item_id, "{encoding}");
                assert!(
                    (w.score - g.score).abs() <= 1e-5,
                    "{} vs {}",
                    w.score,
                    g.score
                );
                assert_eq!(w.reason, g.reason);
            }
        }
        // A catalogue passed at load covers the shards' items too.
        let mut with_catalog = Engine::load(&parts.core, &device(), Some(catalog())).unwrap();
        load(&mut with_catalog, &parts, None);
        let opts: RecommendOptions =
            serde_json::from_str(r#"{"k": 20, "filter": {"categories": ["c2/s3"]}}"#).unwrap();
        let want = reference.recommend_blocking(&history, &opts).unwrap();
        let got = with_catalog.recommend_blocking(&history, &opts).unwrap();
        assert_eq!(want.len(), 20);
        assert!(want.iter().zip(&got).all(|(w, g)| w.item_id == g.item_id));
        // No history: popularity, the same items.
        let want = reference
            .recommend_blocking(&[], &RecommendOptions::default())
            .unwrap();
        let got = engine
            .recommend_blocking(&[], &RecommendOptions::default())
            .unwrap();
        let ids = |r: &[localrec::runtime::Recommendation]| {
            r.iter().map(|r| r.item_id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&want), ids(&got));
    }
}

#[test]
fn the_core_answers_alone_and_a_category_brings_only_its_shards() {
    let (_, parts) = split_model(Encoding::Int4, 40);
    let mut engine = Engine::load(&parts.core, &device(), None).unwrap();
    // The core holds the 40 most popular items (random_model's popularity falls with the row).
    let recs = engine
        .recommend_blocking(
            &[view(1)],
            &RecommendOptions {
                k: 50,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(recs.len(), 39);
    for r in &recs {
        let i: usize = r.item_id["item-".len()..].parse().unwrap();
        assert!(i <= 40, "{}", r.item_id);
    }
    // An item of a shard not loaded yet is accepted (stored, skipped by the model until its
    // shard is in); a category only a shard holds is known from the manifest.
    assert!(engine.validate(view(201)).is_ok());
    let browse = Event {
        kind: EventKind::Category,
        item_id: None,
        query: None,
        category: Some("c2/s1".into()),
        ts: 1.0,
    };
    assert!(engine.validate(browse).is_ok());
    assert_eq!(engine.encode(&[view(201)]).events.len(), 0);
    // Category c2/s1 holds items i with i % 3 == 2 and i % 5 == 1: 41, 56, ..., 386.
    let n = load(&mut engine, &parts, Some("c2/s1"));
    let expected = (41..=ITEMS)
        .filter(|i| i % 3 == 2 && i % 5 == 1 && i % 7 != 0)
        .count();
    assert_eq!(n, expected.div_ceil(9));
    assert_eq!(engine.info().items, 40 + expected);
    assert_eq!(engine.encode(&[view(386)]).events.len(), 1);
    assert_eq!(
        engine.encode(&[view(201)]).events.len(),
        0,
        "c0/s1: not loaded"
    );
    assert!(engine.shards_to_load(Some("c2/s1")).is_empty());
    // A prefix covers its subcategories: c2 is c2/s0 ... c2/s4, one of which is in.
    let rest: Vec<_> = engine.shards_to_load(Some("c2"));
    assert!(
        rest.iter()
            .all(|e| e.category.starts_with("c2/") && e.category != "c2/s1")
    );
    assert!(!rest.is_empty());
    // Loading a shard twice changes nothing (the first shard holds the uncategorised items,
    // not loaded yet).
    let (entry, file) = &parts.shards[0];
    assert_eq!(entry.category, "");
    let shard = engine
        .read_shard(file, None)
        .unwrap()
        .expect("not loaded yet");
    engine.add_shard(shard.clone()).unwrap();
    let items = engine.info().items;
    engine.add_shard(shard).unwrap();
    assert_eq!(engine.info().items, items);
    assert!(engine.read_shard(file, None).unwrap().is_none());
    // Once every shard is in, unknown items are errors again.
    load(&mut engine, &parts, None);
    assert_eq!(
        engine.validate(view(ITEMS + 1)).unwrap_err().code(),
        "UNKNOWN_ITEM"
    );
}

#[test]
fn shards_are_checked_against_the_core() {
    let (full, parts) = split_model(Encoding::Int8, 40);
    let engine = Engine::load(&parts.core, &device(), None).unwrap();
    let (entry, file) = &parts.shards[3];
    assert_eq!(file.len(), entry.bytes);
    // Damaged: the checksum.
    let mut bad = file.clone();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    assert_eq!(
        engine.read_shard(&bad, None).unwrap_err().code(),
        "MODEL_CORRUPT"
    );
    // Intact but another model's: a split with a different core.
    let other = split(&full, Some(&catalog()), Some(60), 9).unwrap();
    let foreign = other
        .shards
        .iter()
        .find(|(e, _)| !parts.shards.iter().any(|(p, _)| p.sha256 == e.sha256))
        .unwrap();
    let err = engine.read_shard(&foreign.1, None).unwrap_err();
    assert!(err.to_string().contains("manifest"), "{err}");
    // Truncations never panic.
    for cut in [0, 10, 40, file.len() - 1] {
        assert_eq!(
            engine.read_shard(&file[..cut], None).unwrap_err().code(),
            "MODEL_CORRUPT"
        );
    }
    // A shard is not a model, and a whole model takes no shards.
    let err = Engine::load(file, &device(), None).err().unwrap();
    assert!(err.to_string().contains("shard"), "{err}");
    let whole = Engine::load(&full, &device(), None).unwrap();
    assert_eq!(
        whole.read_shard(file, None).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    assert!(whole.shards_to_load(None).is_empty());
    // The core is version 7 (as every file written; its shards number their ids, version 5); a
    // version field older than a core needs is refused, by name.
    let core = format::read(&parts.core).unwrap();
    assert_eq!(core.version, 7);
    let err = format::read(&sealed_as(&parts.core, 2)).unwrap_err();
    assert!(err.to_string().contains("version 3"), "{err}");
    // Content addressing: the core lists each shard by the SHA-256 of its bytes, which names it.
    let manifest = format::read_header(&parts.core).unwrap().0.shards.unwrap();
    for (e, f) in &parts.shards {
        assert!(manifest.shards.contains(e));
        let digest = <sha2::Sha256 as sha2::Digest>::digest(f);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(e.path(), format!("shards/{hex}.lrec"));
        assert_eq!(f.len(), e.bytes);
    }
}

#[test]
fn splitting_is_deterministic_and_shards_of_unchanged_categories_keep_their_names() {
    // (One model for every split: tests running in parallel share the device's random state.)
    let full = full_model(Encoding::Int4);
    let a = split(&full, Some(&catalog()), Some(40), 9).unwrap();
    let b = split(&full, Some(&catalog()), Some(40), 9).unwrap();
    assert!(a.core == b.core);
    let names = |s: &Split| {
        s.shards
            .iter()
            .map(|(e, _)| e.sha256.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    // A catalogue update moving one item between categories changes only the shards of those
    // two categories (and the core's manifest).
    let mut moved = catalog();
    moved.get_mut("item-200").unwrap().category = "c1/s1".into(); // was c2/s0
    let c = split(&full, Some(&moved), Some(40), 9).unwrap();
    let changed: Vec<_> = c
        .shards
        .iter()
        .filter(|(e, _)| !a.shards.iter().any(|(p, _)| p.sha256 == e.sha256))
        .map(|(e, _)| e.category.clone())
        .collect();
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|c| c == "c1/s1" || c == "c2/s0"),
        "{changed:?}"
    );
}

#[test]
fn splitting_needs_categories_and_a_shipped_model() {
    let full = full_model(Encoding::Int8);
    let err = split(&full, None, Some(10), 10).err().unwrap();
    assert!(err.to_string().contains("catalogue"), "{err}");
    let (_, parts) = split_model(Encoding::Int8, 40);
    let err = split(&parts.core, Some(&catalog()), Some(10), 10)
        .err()
        .unwrap();
    assert!(err.to_string().contains("already"), "{err}");
    assert!(split(&full, Some(&catalog()), Some(10), 0).is_err());
    assert!(split(&full, Some(&catalog()), Some(0), 10).is_err());
}

/// A weights or shard file's JSON header and payload.
fn parts_of(file: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let h = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
    let p = u64::from_le_bytes(file[20 + h..28 + h].try_into().unwrap()) as usize;
    (file[20..20 + h].to_vec(), file[28 + h..28 + h + p].to_vec())
}

/// `file` with its version field set to `version` and its SHA-256 trailer sealed again.
fn sealed_as(file: &[u8], version: u32) -> Vec<u8> {
    let mut file = file.to_vec();
    file[8..12].copy_from_slice(&version.to_le_bytes());
    let body = file.len() - 32;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&file[..body]);
    file[body..].copy_from_slice(&digest);
    file
}

/// A core (its header as JSON and its payload) whose manifest lists `shard` as its `at`-th
/// shard, sealed again.
fn listing(
    core_header: &serde_json::Value,
    core_payload: &[u8],
    at: usize,
    shard: &[u8],
) -> Vec<u8> {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(shard);
    let mut core = core_header.clone();
    let entry = &mut core["shards"]["shards"][at];
    entry["sha256"] = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into();
    entry["bytes"] = shard.len().into();
    format::envelope(&serde_json::to_vec(&core).unwrap(), core_payload)
}

/// Shards damaged inside and then listed by a core, so that the checks behind the manifest's
/// digest see them (seeded: a byte flipped in the header or the payload, a digit of the header
/// changed, the payload cut; each shard sealed again and named in a core sealed again). Each is
/// refused with `MODEL_CORRUPT` or read; one that reads is added or refused cleanly, and the
/// engine still ranks. Never a panic.
#[test]
fn damaged_shards_behind_a_matching_manifest_are_refused_or_read() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let (_, parts) = split_model(Encoding::Int4, 40);
    let (core_header, core_payload) = parts_of(&parts.core);
    let core_header: serde_json::Value = serde_json::from_slice(&core_header).unwrap();
    let at = 3;
    let (shard_header, shard_payload) = parts_of(&parts.shards[at].1);
    let digits: Vec<usize> = (0..shard_header.len())
        .filter(|&i| shard_header[i].is_ascii_digit())
        .collect();
    let mut rng = StdRng::seed_from_u64(18);
    let (mut read, mut refused) = (0, 0);
    for _ in 0..300 {
        let (mut h, mut p) = (shard_header.clone(), shard_payload.clone());
        match rng.random_range(0..4) {
            0 => {
                let i = rng.random_range(0..h.len());
                h[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let i = rng.random_range(0..p.len());
                p[i] ^= 1 << rng.random_range(0..8);
            }
            2 => p.truncate(rng.random_range(0..p.len())),
            _ => h[digits[rng.random_range(0..digits.len())]] = b'0' + rng.random_range(0..10u8),
        }
        let shard = format::envelope(&h, &p);
        let core = listing(&core_header, &core_payload, at, &shard);
        let mut engine = Engine::load(&core, &device(), None).unwrap();
        match engine.read_shard(&shard, None) {
            Ok(s) => {
                read += 1;
                let s = s.expect("a shard not loaded yet");
                if engine.add_shard(s).is_ok() {
                    let opts = RecommendOptions::default();
                    let popular = engine.recommend_blocking(&[], &opts).unwrap();
                    let history: Vec<Event> = popular
                        .iter()
                        .take(3)
                        .map(|r| Event::item(EventKind::View, r.item_id.clone(), 1.0))
                        .collect();
                    engine.recommend_blocking(&history, &opts).unwrap();
                }
            }
            Err(e) => {
                assert_eq!(e.code(), "MODEL_CORRUPT", "{e}");
                refused += 1;
            }
        }
    }
    assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
}

/// A coded model's shards are codes alone (the core holds the codebooks and every item stored
/// whole), format version 4 (5 with numbered ids; the core 7, as every model file); a core that would leave some of those items
/// to shards is refused.
#[test]
fn coded_shards_hold_codes_and_the_core_holds_every_whole_row() {
    let full = coded_model();
    let parts = split(&full, Some(&catalog()), Some(40), 9).unwrap();
    let core = format::read(&parts.core).unwrap();
    assert_eq!(core.version, 7);
    let t = core
        .header
        .tensors
        .iter()
        .find(|t| t.name == "item_emb")
        .unwrap();
    assert_eq!((t.dtype.as_str(), t.exact), ("rq2", Some(31)));
    for (entry, file) in &parts.shards {
        // Header, then two codes per item (padded to 4 bytes) and the 32-byte trailer.
        let codes = (2 * entry.items).next_multiple_of(4);
        let (_, payload) = parts_of(file);
        assert_eq!(payload.len(), codes, "{}", entry.items);
        assert_eq!(u32::from_le_bytes(file[8..12].try_into().unwrap()), 5);
    }
    let err = split(&full, Some(&catalog()), Some(20), 9).err().unwrap();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(err.to_string().contains("--core-items 30"), "{err}");
    // Coded rows do not join an int8 table, nor int8 rows a coded one; a refused append
    // changes nothing.
    let table = |file: &[u8]| format::read(file).unwrap().item_table.unwrap();
    let (mut coded, mut int8) = (table(&parts.core), table(&full_model(Encoding::Int8)));
    let (coded_before, int8_before) = (coded.clone(), int8.clone());
    let err = coded.append(int8.select([40, 41]).unwrap()).unwrap_err();
    assert_eq!(err.code(), "MODEL_CORRUPT");
    assert!(int8.append(coded.select([35]).unwrap()).is_err());
    assert_eq!((coded, int8), (coded_before, int8_before));
}

/// By default the core holds 20,000 items, or every item a coded model stores whole when it
/// stores more (the trainer's 2% of a catalogue above a million items).
#[test]
fn the_default_core_holds_every_whole_row() {
    let items = DEFAULT_CORE_ITEMS + 600;
    let config = SeqRecConfig::new(items)
        .with_positions(Positions::FromNewest)
        .with_d_model(8)
        .with_max_len(4);
    let core_items = |file: &[u8]| format::read(file).unwrap().header.items.len();
    for exact in [DEFAULT_CORE_ITEMS - 100, DEFAULT_CORE_ITEMS + 200] {
        let full = format::random_model_coded(&config, 3, 2, exact + 1).unwrap();
        let catalog: HashMap<String, ItemMeta> = (1..=items)
            .map(|i| {
                let meta = ItemMeta {
                    category: format!("c{}", i % 4),
                    ..ItemMeta::default()
                };
                (format!("item-{i}"), meta)
            })
            .collect();
        let parts = split(&full, Some(&catalog), None, 5_000).unwrap();
        assert_eq!(
            core_items(&parts.core),
            DEFAULT_CORE_ITEMS.max(exact),
            "{exact} stored whole"
        );
        let shard_items: usize = parts.shards.iter().map(|(e, _)| e.items).sum();
        assert_eq!(core_items(&parts.core) + shard_items, items);
    }
}

/// `full` with item `i`'s id replaced by `rename(i)` (and `catalog()` to match).
fn renamed(full: &[u8], rename: impl Fn(usize) -> String) -> (Vec<u8>, HashMap<String, ItemMeta>) {
    let (mut header, payload, _, _) = format::read_header(full).unwrap();
    // The new ids as JSON in the header (as before format version 7), the payload's lists cut.
    let lists = header.lists.take().expect("written as version 7");
    header.items = (1..=ITEMS).map(&rename).collect();
    let file = format::envelope(
        &serde_json::to_vec(&header).unwrap(),
        &payload[..lists.offset],
    );
    let old = catalog();
    let catalog = (1..=ITEMS)
        .filter_map(|i| Some((rename(i), old.get(&format!("item-{i}"))?.clone())))
        .collect();
    (file, catalog)
}

/// A file's version field.
fn version_of(file: &[u8]) -> u32 {
    u32::from_le_bytes(file[8..12].try_into().unwrap())
}

/// Ids that are one prefix and a number travel as the first number and the gaps (format version
/// 5, and the core that lists such shards is version 5 too); a shard with any other id lists
/// its ids as before, in the version its table needs. Either way the core with every shard
/// ranks as the full model, ids included.
#[test]
fn shards_number_their_ids_when_they_can_and_list_them_otherwise() {
    // Category c0's items get ids that are not one prefix and a number written one way: a
    // letter after the digits, or zero-padded to two widths. Categories `*/s0` get numbers
    // alone, `*/s1` numbers padded to one width.
    let name = |i: usize| match (i % 3, i % 2) {
        (0, 0) => format!("sku-{i}a"),
        (0, _) => format!("sku-{i:0w$}", w = if i % 4 == 1 { 5 } else { 6 }),
        _ if i.is_multiple_of(5) => format!("{}", 7_000_000_000_000 + 977 * i),
        _ if i % 5 == 1 => format!("sku-{i:06}"),
        _ => format!("gid://shopify/Product/{i}"),
    };
    let (full, catalog) = renamed(&full_model(Encoding::Int8), name);
    let parts = split(&full, Some(&catalog), Some(40), 9).unwrap();
    assert_eq!(version_of(&parts.core), 7);
    let (mut numbered, mut listed) = (0, 0);
    for (entry, file) in &parts.shards {
        let header: serde_json::Value = serde_json::from_slice(&parts_of(file).0).unwrap();
        if entry.category.starts_with("c0") {
            assert_eq!(header["items"].as_array().unwrap().len(), entry.items);
            assert!(header.get("numbered").is_none());
            assert_eq!(version_of(file), 3);
            listed += 1;
        } else if entry.category.ends_with("/s0") {
            assert_eq!(header["numbered"]["prefix"], "");
            numbered += 1;
        } else if entry.category.ends_with("/s1") {
            assert_eq!(header["numbered"]["prefix"], "sku-");
            assert_eq!(header["numbered"]["width"], 6);
            numbered += 1;
        } else if !entry.category.is_empty() {
            assert_eq!(header["numbered"]["prefix"], "gid://shopify/Product/");
            assert!(header.get("items").is_none());
            assert_eq!(version_of(file), 5);
            numbered += 1;
        }
    }
    assert!(
        numbered > 0 && listed > 0,
        "{numbered} numbered, {listed} listed"
    );
    let reference = Engine::load(&full, &device(), Some(catalog.clone())).unwrap();
    let mut engine = Engine::load(&parts.core, &device(), None).unwrap();
    load(&mut engine, &parts, None);
    assert_eq!(engine.info().items, ITEMS);
    let item = |i: usize| Event::item(EventKind::View, name(i), i as f64);
    let history = vec![item(3), item(200), item(77), item(390)];
    let opts = RecommendOptions {
        k: 50,
        ..RecommendOptions::default()
    };
    let want = reference.recommend_blocking(&history, &opts).unwrap();
    let got = engine.recommend_blocking(&history, &opts).unwrap();
    assert_eq!(want.len(), 50);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w.item_id, g.item_id);
        assert!(
            (w.score - g.score).abs() <= 1e-5,
            "{} vs {}",
            w.score,
            g.score
        );
    }
}

/// What a damage should be refused for, the damage, and the version the shard is sealed as.
type Refusal<'a> = (&'a str, &'a dyn Fn(&mut serde_json::Value), u32);

/// A numbered shard is read only as version 5, with its ids in one form, as many as the
/// manifest says, ascending and at most 2^53 - 1, under a bounded prefix: each damage below is
/// refused with `MODEL_CORRUPT`.
#[test]
fn numbered_ids_are_checked() {
    let (_, parts) = split_model(Encoding::Int8, 40);
    let (core_header, core_payload) = parts_of(&parts.core);
    let core_header: serde_json::Value = serde_json::from_slice(&core_header).unwrap();
    let at = 3;
    let (shard_header, payload) = parts_of(&parts.shards[at].1);
    let shard_header: serde_json::Value = serde_json::from_slice(&shard_header).unwrap();
    let n = parts.shards[at].0.items;
    assert_eq!(
        shard_header["numbered"]["gaps"].as_array().unwrap().len(),
        n - 1
    );
    // The shard as `edit` leaves its header, sealed as `version`, listed by a core sealed again.
    let read = |edit: &dyn Fn(&mut serde_json::Value), version: u32| {
        let mut h = shard_header.clone();
        edit(&mut h);
        let shard = sealed_as(
            &format::envelope(&serde_json::to_vec(&h).unwrap(), &payload),
            version,
        );
        let core = listing(&core_header, &core_payload, at, &shard);
        let engine = Engine::load(&core, &device(), None).unwrap();
        engine.read_shard(&shard, None).map(|s| s.unwrap().items)
    };
    let ids = read(&|_| {}, 5).unwrap();
    assert_eq!(ids.len(), n);
    assert!(ids.iter().all(|id| id.starts_with("item-")));
    let refusals: [Refusal<'_>; 9] = [
        ("version 5", &|_| {}, 4),
        (
            "numbers them too",
            &|h| h["items"] = serde_json::json!(["item-1"]),
            5,
        ),
        ("repeat", &|h| h["numbered"]["gaps"][2] = 0.into(), 5),
        ("2^53", &|h| h["numbered"]["first"] = (1u64 << 53).into(), 5),
        ("2^53", &|h| h["numbered"]["gaps"][1] = u64::MAX.into(), 5),
        (
            "numbered ids are",
            &|h| {
                h["numbered"]["gaps"]
                    .as_array_mut()
                    .unwrap()
                    .pop()
                    .map(drop)
                    .unwrap()
            },
            5,
        ),
        (
            "prefix",
            &|h| h["numbered"]["prefix"] = "p".repeat(65).into(),
            5,
        ),
        ("wider", &|h| h["numbered"]["width"] = 21.into(), 5),
        // Version 5 leaves the table's entry out; one that is there must fit.
        (
            "does not fit",
            &|h| {
                h["table"] = serde_json::json!(
                {"name": "item_emb", "shape": [1, 16], "dtype": "i8", "offset": 0, "bytes": 16})
            },
            5,
        ),
    ];
    for (why, edit, version) in refusals {
        let err = read(edit, version).unwrap_err();
        assert_eq!(err.code(), "MODEL_CORRUPT", "{err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
}
