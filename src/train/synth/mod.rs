//! A synthetic web shop for demos and end-to-end tests (`localrec synth`).
//!
//! [`generate`] builds a catalogue, a clickstream and a set of offers from a seed; [`write`]
//! stores them as `catalog.json`, `events.csv` and `offers.json`. The same [`SynthConfig`]
//! always produces byte-identical output: everything is drawn from one
//! [`StdRng`] seeded with [`SynthConfig::seed`], and everything is iterated in a fixed order.
//!
//! # The generative story
//!
//! **Catalogue.** The shop sells from a fixed two-level category tree (`top/sub`, e.g.
//! `running/shoes`): eight top categories with four or five subcategories each. Every top
//! category draws 4–8 invented brands (e.g. "Strideline") from its own list; brands have a
//! market share (larger brands make more products) and a price tier. Every subcategory gets at
//! least one item, the rest are spread with random subcategory sizes. An item's title is
//! `brand [adjective] noun model`, where the noun fits the subcategory (`running/shoes` items
//! are a "Trail Running Shoe" or a "Road Running Shoe", socks are "Running Socks", ...), so
//! that search queries built from the same words match titles. Prices are log-normal per
//! subcategory (shoes about 60–200, socks about 8–25), shifted by the brand's tier and rounded
//! to cents (`.99` endings from 20 up); about 92% of items are in stock. Within each
//! subcategory items get a Zipf-like popularity (weight `1 / rank`).
//!
//! **Shoppers.** Each shopper has 1–3 latent interests (subcategories), often including a
//! complement of the first interest. Most shoppers (80%) shop a second top category too, and
//! most (70%) of their further interests lie there, so that about one session in six moves to
//! another top category (running one week, kitchen the next), as in a general store; a
//! preferred price level (a position on the subcategory's log-price scale, with a personal
//! tolerance); and sometimes a favourite brand. An item's appeal to a shopper is
//! `popularity × price fit × brand affinity`, damped for out-of-stock items.
//!
//! **Sessions.** A shopper plans 2–8 sessions. Each session has a target subcategory: after a
//! session that ended in a purchase, about half of the next sessions target a *complement* of
//! what was bought (`running/shoes` → `running/socks` or `running/accessories`,
//! `kitchen/pans` → `kitchen/utensils`, ...), which makes the order of events matter.
//! Otherwise the shopper stays with the current interest or (50%) drifts to another
//! one; but a shopper who has just bought from a subcategory is satiated: a session that would
//! go back to it goes (85%) to a complement of the purchase or, half the time when the shopper
//! has other interests, to another interest instead.
//! A session optionally (≈50%) opens with a `search` whose query is 2–4 words from the
//! target's vocabulary ("trail running shoe", "merino running socks"); items matching the
//! searched noun become more likely. Then come 2–6 `view`s, drawn mostly from the target by
//! appeal, sometimes from another interest. With some probability the shopper puts a viewed,
//! in-stock item into the `cart` and then often `purchase`s it. Timestamps are unix seconds
//! starting at 1 700 000 000: seconds to minutes apart within a session, hours to days between
//! sessions.
//!
//! **Enough purchases.** Evaluation leaves out the last purchases, so once the planned
//! sessions are used up the shopper keeps shopping (with sessions that always end in a
//! purchase) until they have made at least two purchases and their final session ended in a
//! purchase. Every shopper's final session therefore contains their last purchase.
//!
//! **Offers.** About two offers per top category: a percentage off one subcategory
//! (`running-shoes-15`, 10–25%) and a brand coupon (`strideline-10`, 5–15%). Each offer's
//! `redeemers` is the ground truth for targeting demos: the shoppers whose last purchase falls
//! into the offer's categories or brands.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::catalog::{CatalogEntry, ItemMeta, Offer};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::train::data::UserLog;

mod categories;
use categories::{SubSpec, TOPS};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Number of catalogue items (at least 50).
    pub items: usize,
    /// Number of shoppers (at least 1).
    pub shoppers: usize,
    /// Seed of the random generator; the same config always gives the same shop.
    pub seed: u64,
}

/// A generated shop: catalogue, clickstream and offers.
#[derive(Debug, Clone)]
pub struct Shop {
    /// All items, in item-id order (`sku-…`, zero padded to the number of digits of the item
    /// count; titles `brand [adjective] noun model`; categories `top/sub`; prices in currency
    /// units, rounded to cents).
    pub catalog: Vec<CatalogEntry>,
    /// Every shopper's events in time order (timestamps in unix seconds), shoppers in user-id
    /// order (`u-…`, zero padded). `view`, `cart` and `purchase` name an item, `search` a query.
    pub shoppers: Vec<UserLog>,
    /// About two offers per top category, each with its ground-truth `redeemers`: the shoppers
    /// whose last purchase falls into its categories or brands, in user-id order.
    pub offers: Vec<Offer>,
}

impl Shop {
    /// Number of events of all shoppers.
    pub fn events(&self) -> usize {
        self.shoppers.iter().map(|u| u.events.len()).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Tunables.

const MIN_ITEMS: usize = 50;
const START_TS: i64 = 1_700_000_000;
const DAY_S: i64 = 86_400;
/// Shoppers' first sessions are spread over this many seconds after `START_TS`.
const FIRST_SESSION_SPREAD_S: i64 = 14 * DAY_S;
const IN_SESSION_GAP_S: (f64, f64) = (5.0, 300.0);
const BETWEEN_SESSION_GAP_S: (f64, f64) = (3_600.0, 10.0 * 86_400.0);

const IN_STOCK_RATE: f64 = 0.92;
const ZIPF_EXPONENT: f64 = 1.0;
const BRAND_SHARE_EXPONENT: f64 = 0.8;
const BRAND_PRICE_TIER_SIGMA: f64 = 0.25;
const P_ADJECTIVE: f64 = 0.7;
const MODELS: [&str; 12] = [
    "1", "2", "3", "4", "5", "2.0", "Pro", "Lite", "Max", "Plus", "Elite", "X",
];

const INTEREST_COUNT_WEIGHTS: [f64; 3] = [0.25, 0.45, 0.30];
const P_SECOND_TOP: f64 = 0.8;
const P_SECOND_TOP_INTEREST: f64 = 0.7;
const P_COMPLEMENT_INTEREST: f64 = 0.3;
const P_FAVOURITE_BRAND: f64 = 0.4;
const FAVOURITE_BRAND_BOOST: f64 = 4.0;
const OUT_OF_STOCK_VIEW_FACTOR: f64 = 0.3;
const PRICE_FIT_FLOOR: f64 = 0.05;
const QUERY_NOUN_BOOST: f64 = 3.0;

const MIN_SESSIONS: usize = 2;
const MAX_SESSIONS: usize = 8;
const MAX_EXTRA_SESSIONS: usize = 4;
const MIN_PURCHASES: usize = 2;
const P_COMPLEMENT_SESSION: f64 = 0.5;
const P_SATIATED: f64 = 0.85;
const P_SATIATED_ELSEWHERE: f64 = 0.5;
const P_DRIFT: f64 = 0.5;
const P_SEARCH: f64 = 0.5;
const P_BRAND_IN_QUERY: f64 = 0.3;
const P_ADJECTIVE_IN_QUERY: f64 = 0.4;
const MAX_QUERY_WORDS: usize = 4;
const MIN_VIEWS: usize = 2;
const MAX_VIEWS: usize = 6;
const P_OFF_TARGET_VIEW: f64 = 0.15;
const P_CART: f64 = 0.45;
const P_CART_LAST_VIEWED: f64 = 0.4;
const P_PURCHASE: f64 = 0.65;
const IN_STOCK_DRAWS: usize = 32;

const CATEGORY_DISCOUNTS: [u32; 4] = [10, 15, 20, 25];
const BRAND_DISCOUNTS: [u32; 3] = [5, 10, 15];

const EVENTS_HEADER: [&str; 5] = ["user_id", "timestamp", "event", "item_id", "query"];

// ---------------------------------------------------------------------------------------------
// The generated world (internal, index-based).

struct Sub {
    top: usize,
    spec: &'static SubSpec,
    /// `top/sub`.
    name: String,
    /// Item indices in this subcategory, ascending.
    items: Vec<usize>,
    /// Cumulative popularity over `items`.
    pop_cum: Vec<f64>,
    /// Complementary subcategory indices.
    complements: Vec<usize>,
    /// Log-normal price parameters of the subcategory.
    mu: f64,
    sigma: f64,
    /// An in-stock item of this subcategory.
    fallback: usize,
}

struct ItemTraits {
    sub: usize,
    brand: usize,
    noun: usize,
    log_price: f64,
    pop: f64,
    in_stock: bool,
}

struct World {
    subs: Vec<Sub>,
    items: Vec<ItemTraits>,
    top_subs: Vec<Vec<usize>>,
    top_weights: Vec<f64>,
    brand_names: Vec<&'static str>,
    brand_top: Vec<usize>,
    /// Global brand indices per top category, largest brand first.
    top_brands: Vec<Vec<usize>>,
    /// Market-share weights aligned with `top_brands`.
    brand_share: Vec<Vec<f64>>,
}

struct Shopper {
    /// Subcategory indices, the main interest first.
    interests: Vec<usize>,
    /// Weights aligned with `interests`.
    weights: Vec<f64>,
    /// Preferred price as a z-score on the subcategory's log-price scale.
    price_z: f64,
    /// Tolerance around the preferred price, in units of the subcategory's σ.
    price_tol: f64,
    fav_brand: Option<usize>,
}

/// What stays fixed while one shopper is simulated.
struct Ctx<'a> {
    world: &'a World,
    catalog: &'a [CatalogEntry],
    shopper: &'a Shopper,
}

/// Buffers reused across sessions.
#[derive(Default)]
struct Scratch {
    cum: Vec<f64>,
    viewed: Vec<usize>,
    cands: Vec<usize>,
}

// ---------------------------------------------------------------------------------------------
// Public entry points.

/// Generates a synthetic shop. Deterministic in `config`.
///
/// Fails with [`Error::InvalidArgument`] if `config.items < 50` or `config.shoppers < 1`.
pub fn generate(config: &SynthConfig) -> Result<Shop> {
    if config.items < MIN_ITEMS {
        return Err(Error::InvalidArgument(format!(
            "synth needs at least {MIN_ITEMS} items, got {}",
            config.items
        )));
    }
    if config.shoppers < 1 {
        return Err(Error::InvalidArgument(
            "synth needs at least 1 shopper, got 0".to_string(),
        ));
    }

    let mut rng = StdRng::seed_from_u64(config.seed);
    let (world, catalog) = build_world(&mut rng, config.items);
    let mut offers = make_offers(&mut rng, &world);

    let width = digits(config.shoppers).max(6);
    let mut shoppers = Vec::with_capacity(config.shoppers);
    let mut scratch = Scratch::default();
    let mut last_purchases: Vec<(String, Option<usize>)> = Vec::with_capacity(config.shoppers);
    for u in 0..config.shoppers {
        let user_id = format!("u-{:0width$}", u + 1);
        let shopper = make_shopper(&mut rng, &world);
        let ctx = Ctx {
            world: &world,
            catalog: &catalog,
            shopper: &shopper,
        };
        let mut events = Vec::with_capacity(32);
        let last = simulate_shopper(&mut rng, &ctx, &mut events, &mut scratch);
        last_purchases.push((user_id.clone(), last));
        shoppers.push(UserLog {
            user: user_id,
            events,
        });
    }

    for (user_id, last) in &last_purchases {
        let Some(item) = last.and_then(|i| catalog.get(i)) else {
            continue;
        };
        for offer in offers.iter_mut() {
            if offer.categories.contains(&item.meta.category)
                || offer.brands.contains(&item.meta.brand)
            {
                offer
                    .redeemers
                    .get_or_insert_default()
                    .push(user_id.clone());
            }
        }
    }

    Ok(Shop {
        catalog,
        shoppers,
        offers,
    })
}

/// Writes `catalog.json`, `events.csv` and `offers.json` into `dir`, creating it if needed.
///
/// The JSON files are pretty-printed arrays of [`CatalogEntry`] and [`Offer`]; `events.csv` has
/// the header `user_id,timestamp,event,item_id,query` and its rows sorted by user, then
/// timestamp.
pub fn write(shop: &Shop, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_json(&dir.join("catalog.json"), shop.catalog.as_slice())?;
    write_events(&dir.join("events.csv"), &shop.shoppers)?;
    write_json(&dir.join("offers.json"), shop.offers.as_slice())?;
    Ok(())
}

/// The shop's events, one row each, shoppers in id order and each shopper's in time order (the
/// order of `events.csv`).
fn ordered(shoppers: &[UserLog]) -> impl Iterator<Item = (&str, &Event)> {
    let mut order: Vec<&UserLog> = shoppers.iter().collect();
    order.sort_by(|a, b| a.user.cmp(&b.user));
    order.into_iter().flat_map(|s| {
        let mut events: Vec<&Event> = s.events.iter().collect();
        events.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        events.into_iter().map(move |e| (s.user.as_str(), e))
    })
}

/// Writes the shop's events as the `events` columns in Parquet (`localrec train --format
/// parquet`), snappy-compressed, in row groups of `rows_per_group`.
pub fn write_events_parquet(shop: &Shop, path: &Path, rows_per_group: usize) -> Result<()> {
    let mut w = crate::train::parquet::EventsWriter::create(path, rows_per_group)?;
    for (user, e) in ordered(&shop.shoppers) {
        w.push(
            user,
            e.ts as i64,
            e.kind,
            e.item_id.as_deref(),
            e.query.as_deref(),
        )?;
    }
    w.finish()
}

/// Writes the shop's events as Google Analytics 4's BigQuery export would hold them, in its
/// newline-delimited JSON form (`localrec train --format ga4`): `view_item`, `add_to_cart`,
/// `purchase` with one item, `view_search_results` with a `search_term` parameter; microsecond
/// timestamps written as strings, as BigQuery writes INT64; a `page_view` before each event, as a
/// real export has (the trainer ignores it).
pub fn write_ga4_json(shop: &Shop, path: &Path) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::new(file);
    let category: std::collections::HashMap<&str, &str> = shop
        .catalog
        .iter()
        .map(|c| (c.item_id.as_str(), c.meta.category.as_str()))
        .collect();
    for (user, e) in ordered(&shop.shoppers) {
        let us = (e.ts * 1e6) as i64;
        let (name, params, items) = match e.kind {
            EventKind::Search => (
                "view_search_results",
                serde_json::json!([{"key": "search_term", "value": {"string_value": e.query}}]),
                serde_json::json!([]),
            ),
            kind => {
                let name = match kind {
                    EventKind::View => "view_item",
                    EventKind::Cart => "add_to_cart",
                    _ => "purchase",
                };
                let id = e.item_id.as_deref().unwrap_or("");
                let mut path = category.get(id).copied().unwrap_or("").split('/');
                let item = serde_json::json!({
                    "item_id": id,
                    "item_category": path.next(),
                    "item_category2": path.next(),
                    "quantity": 1,
                });
                (name, serde_json::json!([]), serde_json::json!([item]))
            }
        };
        for (name, ts, params, items) in [
            (
                "page_view",
                us - 1,
                serde_json::json!([]),
                serde_json::json!([]),
            ),
            (name, us, params, items),
        ] {
            let row = serde_json::json!({
                "event_date": "20261201",
                "event_timestamp": ts.to_string(),
                "event_name": name,
                "event_params": params,
                "user_id": user,
                "user_pseudo_id": format!("{user}.pseudo"),
                "items": items,
            });
            serde_json::to_writer(&mut out, &row)
                .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        }
    }
    out.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    out.write_all(b"\n").map_err(|e| Error::io(path, e))?;
    out.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

fn write_events(path: &Path, shoppers: &[UserLog]) -> Result<()> {
    let csv_err = |e: csv::Error| Error::io(path, std::io::Error::other(e));
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(path)
        .map_err(csv_err)?;
    out.write_record(EVENTS_HEADER).map_err(csv_err)?;
    for (user, e) in ordered(shoppers) {
        let ts = format!("{}", e.ts as i64);
        out.write_record([
            user,
            ts.as_str(),
            e.kind.as_str(),
            e.item_id.as_deref().unwrap_or(""),
            e.query.as_deref().unwrap_or(""),
        ])
        .map_err(csv_err)?;
    }
    out.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Catalogue.

fn build_world(rng: &mut StdRng, n_items: usize) -> (World, Vec<CatalogEntry>) {
    // Subcategories and the complement graph.
    let mut subs: Vec<Sub> = Vec::new();
    let mut top_subs: Vec<Vec<usize>> = Vec::with_capacity(TOPS.len());
    for (t, top) in TOPS.iter().enumerate() {
        let mut ids = Vec::with_capacity(top.subs.len());
        for spec in top.subs {
            ids.push(subs.len());
            let (llo, lhi) = (spec.lo.ln(), spec.hi.ln());
            subs.push(Sub {
                top: t,
                spec,
                name: format!("{}/{}", top.name, spec.name),
                items: Vec::new(),
                pop_cum: Vec::new(),
                complements: Vec::new(),
                mu: 0.5 * (llo + lhi),
                sigma: ((lhi - llo) / 4.0).max(0.05),
                fallback: 0,
            });
        }
        top_subs.push(ids);
    }
    let index: BTreeMap<String, usize> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    for sub in subs.iter_mut() {
        sub.complements = sub
            .spec
            .complements
            .iter()
            .filter_map(|c| index.get(*c).copied())
            .collect();
    }

    // Brands: 4–8 per top category, with market shares and price tiers.
    let mut brand_names: Vec<&'static str> = Vec::new();
    let mut brand_top: Vec<usize> = Vec::new();
    let mut brand_log_tier: Vec<f64> = Vec::new();
    let mut top_brands: Vec<Vec<usize>> = Vec::with_capacity(TOPS.len());
    let mut brand_share: Vec<Vec<f64>> = Vec::with_capacity(TOPS.len());
    for (t, top) in TOPS.iter().enumerate() {
        let mut order: Vec<usize> = (0..top.brands.len()).collect();
        shuffle(rng, &mut order);
        let max = top.brands.len().min(8);
        let count = if max > 4 {
            rng.random_range(4..=max)
        } else {
            max
        };
        let mut ids = Vec::with_capacity(count);
        let mut share = Vec::with_capacity(count);
        for (rank, &b) in order.iter().take(count).enumerate() {
            ids.push(brand_names.len());
            brand_names.push(top.brands[b]);
            brand_top.push(t);
            let z: f64 = rng.sample(StandardNormal);
            brand_log_tier.push(BRAND_PRICE_TIER_SIGMA * z);
            share.push(1.0 / ((rank + 1) as f64).powf(BRAND_SHARE_EXPONENT));
        }
        top_brands.push(ids);
        brand_share.push(share);
    }

    // Which subcategory each item belongs to: one each, the rest by random subcategory sizes.
    let sub_weights: Vec<f64> = subs
        .iter()
        .map(|_| 0.6 + 0.8 * rng.random::<f64>())
        .collect();
    let mut assignment: Vec<usize> = (0..subs.len()).collect();
    while assignment.len() < n_items {
        assignment.push(pick_weighted(rng, &sub_weights));
    }
    shuffle(rng, &mut assignment);

    // Items.
    let width = digits(n_items);
    let mut catalog: Vec<CatalogEntry> = Vec::with_capacity(assignment.len());
    let mut items: Vec<ItemTraits> = Vec::with_capacity(assignment.len());
    for (idx, &s) in assignment.iter().enumerate() {
        let sub = &subs[s];
        let spec = sub.spec;
        let t = sub.top;
        let brand = top_brands[t][pick_weighted(rng, &brand_share[t])];
        let brand_name = brand_names[brand];
        let noun = rng.random_range(0..spec.nouns.len());
        let model = MODELS[rng.random_range(0..MODELS.len())];
        let title = if rng.random_bool(P_ADJECTIVE) {
            let adjective = spec.adjectives[rng.random_range(0..spec.adjectives.len())];
            format!("{brand_name} {adjective} {} {model}", spec.nouns[noun])
        } else {
            format!("{brand_name} {} {model}", spec.nouns[noun])
        };

        let z: f64 = rng.sample(StandardNormal);
        let raw = (sub.mu + sub.sigma * z + brand_log_tier[brand])
            .exp()
            .clamp(spec.lo, spec.hi);
        let cents = if raw >= 20.0 {
            raw.round() * 100.0 - 1.0
        } else {
            (raw * 100.0).round()
        };
        let cents = cents.max(1.0);
        let price64 = cents / 100.0;
        let in_stock = rng.random_bool(IN_STOCK_RATE);

        catalog.push(CatalogEntry {
            item_id: format!("sku-{:0width$}", idx + 1),
            meta: ItemMeta {
                title,
                category: sub.name.clone(),
                brand: brand_name.to_string(),
                price: Some(price64 as f32),
                in_stock,
            },
        });
        items.push(ItemTraits {
            sub: s,
            brand,
            noun,
            log_price: price64.ln(),
            pop: 0.0,
            in_stock,
        });
    }
    for (i, meta) in items.iter().enumerate() {
        subs[meta.sub].items.push(i);
    }

    // Every subcategory keeps an in-stock item; Zipf-like popularity within subcategories.
    for sub in subs.iter_mut() {
        let in_stock = sub.items.iter().copied().find(|&i| items[i].in_stock);
        sub.fallback = match (in_stock, sub.items.first()) {
            (Some(i), _) => i,
            (None, Some(&i)) => {
                items[i].in_stock = true;
                catalog[i].meta.in_stock = true;
                i
            }
            (None, None) => 0,
        };
        let mut order = sub.items.clone();
        shuffle(rng, &mut order);
        for (rank, &i) in order.iter().enumerate() {
            items[i].pop = 1.0 / ((rank + 1) as f64).powf(ZIPF_EXPONENT);
        }
        let mut acc = 0.0;
        let cum: Vec<f64> = sub
            .items
            .iter()
            .map(|&i| {
                acc += items[i].pop;
                acc
            })
            .collect();
        sub.pop_cum = cum;
    }

    let top_weights = TOPS.iter().map(|t| t.weight).collect();
    let world = World {
        subs,
        items,
        top_subs,
        top_weights,
        brand_names,
        brand_top,
        top_brands,
        brand_share,
    };
    (world, catalog)
}

fn make_offers(rng: &mut StdRng, world: &World) -> Vec<Offer> {
    let mut offers = Vec::with_capacity(2 * TOPS.len());
    for (t, top) in TOPS.iter().enumerate() {
        let subs = &world.top_subs[t];
        if !subs.is_empty() {
            let sub = &world.subs[subs[rng.random_range(0..subs.len())]];
            let pct = CATEGORY_DISCOUNTS[rng.random_range(0..CATEGORY_DISCOUNTS.len())];
            offers.push(Offer {
                id: format!("{}-{}-{pct}", top.name, sub.spec.name),
                title: format!(
                    "{pct}% off {} {}",
                    capitalize(top.name),
                    capitalize(sub.spec.name)
                ),
                categories: vec![sub.name.clone()],
                brands: Vec::new(),
                item_ids: Vec::new(),
                discount: pct as f32 / 100.0,
                redeemers: Some(Vec::new()),
            });
        }
        let brands = &world.top_brands[t];
        if !brands.is_empty() {
            let name = world.brand_names[brands[pick_weighted(rng, &world.brand_share[t])]];
            let pct = BRAND_DISCOUNTS[rng.random_range(0..BRAND_DISCOUNTS.len())];
            offers.push(Offer {
                id: format!("{}-{pct}", name.to_ascii_lowercase()),
                title: format!("{pct}% off all {name} products"),
                categories: Vec::new(),
                brands: vec![name.to_string()],
                item_ids: Vec::new(),
                discount: pct as f32 / 100.0,
                redeemers: Some(Vec::new()),
            });
        }
    }
    offers
}

// ---------------------------------------------------------------------------------------------
// Shoppers and sessions.

fn make_shopper(rng: &mut StdRng, world: &World) -> Shopper {
    let primary = pick_weighted(rng, &world.top_weights);
    let secondary = if rng.random_bool(P_SECOND_TOP) {
        Some(pick_weighted_excluding(rng, &world.top_weights, primary))
    } else {
        None
    };
    let wanted = 1 + pick_weighted(rng, &INTEREST_COUNT_WEIGHTS);

    let first = random_sub_of(rng, world, primary);
    let mut interests = vec![first];
    let mut tries = 0;
    while interests.len() < wanted && tries < 20 {
        tries += 1;
        let comps = &world.subs[first].complements;
        let candidate = if !comps.is_empty() && rng.random_bool(P_COMPLEMENT_INTEREST) {
            comps[rng.random_range(0..comps.len())]
        } else {
            match secondary {
                Some(sec) if rng.random_bool(P_SECOND_TOP_INTEREST) => {
                    random_sub_of(rng, world, sec)
                }
                _ => random_sub_of(rng, world, primary),
            }
        };
        if !interests.contains(&candidate) {
            interests.push(candidate);
        }
    }
    let weights = (0..interests.len())
        .map(|i| {
            if i == 0 {
                1.5
            } else {
                0.4 + 0.6 * rng.random::<f64>()
            }
        })
        .collect();

    let z: f64 = rng.sample(StandardNormal);
    let price_z = 0.9 * z;
    let price_tol = 0.6 + 0.9 * rng.random::<f64>();
    let fav_brand = if rng.random_bool(P_FAVOURITE_BRAND) && !world.top_brands[primary].is_empty() {
        Some(world.top_brands[primary][pick_weighted(rng, &world.brand_share[primary])])
    } else {
        None
    };
    Shopper {
        interests,
        weights,
        price_z,
        price_tol,
        fav_brand,
    }
}

/// Simulates all sessions of one shopper; returns the item of their last purchase.
fn simulate_shopper(
    rng: &mut StdRng,
    ctx: &Ctx<'_>,
    events: &mut Vec<Event>,
    scratch: &mut Scratch,
) -> Option<usize> {
    let mut t = START_TS + rng.random_range(0..FIRST_SESSION_SPREAD_S);
    let planned: usize = rng.random_range(MIN_SESSIONS..=MAX_SESSIONS);
    let mut current = pick_weighted(rng, &ctx.shopper.weights);
    let mut purchases = 0usize;
    let mut previous_purchase: Option<usize> = None;
    let mut last_purchase: Option<usize> = None;
    let mut session = 0usize;
    loop {
        // Past the plan, keep shopping (always buying) until there are enough purchases and
        // the final session ended in one.
        let forced = session >= planned;
        if forced && purchases >= MIN_PURCHASES && previous_purchase.is_some() {
            break;
        }
        if session >= planned + MAX_EXTRA_SESSIONS {
            break;
        }
        if session > 0 {
            t += gap(rng, BETWEEN_SESSION_GAP_S);
        }
        let target = choose_target(rng, ctx, &mut current, previous_purchase);
        let bought = run_session(rng, ctx, target, forced, &mut t, events, scratch);
        if let Some(item) = bought {
            purchases += 1;
            last_purchase = Some(item);
        }
        previous_purchase = bought;
        session += 1;
    }
    last_purchase
}

/// The session's target subcategory: often a complement of the previous session's purchase,
/// otherwise the current interest, which now and then drifts to another one, and seldom the
/// subcategory just bought from.
fn choose_target(
    rng: &mut StdRng,
    ctx: &Ctx<'_>,
    current: &mut usize,
    previous_purchase: Option<usize>,
) -> usize {
    let world = ctx.world;
    let shopper = ctx.shopper;
    if let Some(item) = previous_purchase {
        let comps = &world.subs[world.items[item].sub].complements;
        if !comps.is_empty() && rng.random_bool(P_COMPLEMENT_SESSION) {
            return comps[rng.random_range(0..comps.len())];
        }
    }
    if shopper.interests.len() > 1 && rng.random_bool(P_DRIFT) {
        *current = pick_weighted_excluding(rng, &shopper.weights, *current);
    }
    let target = shopper
        .interests
        .get(*current)
        .copied()
        .unwrap_or(shopper.interests[0]);
    // Satiation: right after buying from a subcategory, a shopper seldom shops it again; the
    // session goes to a complement of the purchase or to another interest instead.
    let Some(item) = previous_purchase else {
        return target;
    };
    let bought_sub = world.items[item].sub;
    if target != bought_sub || !rng.random_bool(P_SATIATED) {
        return target;
    }
    let comps = &world.subs[bought_sub].complements;
    let others = shopper.interests.len() > 1;
    if !comps.is_empty() && (!others || !rng.random_bool(P_SATIATED_ELSEWHERE)) {
        return comps[rng.random_range(0..comps.len())];
    }
    if others {
        *current = pick_weighted_excluding(rng, &shopper.weights, *current);
        return shopper.interests[*current];
    }
    target
}

/// One session: optional search, views, maybe cart and purchase. Returns the purchased item.
fn run_session(
    rng: &mut StdRng,
    ctx: &Ctx<'_>,
    target: usize,
    forced: bool,
    t: &mut i64,
    events: &mut Vec<Event>,
    scratch: &mut Scratch,
) -> Option<usize> {
    let world = ctx.world;
    let sub = &world.subs[target];
    let mut first = true;

    let mut noun = None;
    if rng.random_bool(P_SEARCH) {
        let k = rng.random_range(0..sub.spec.nouns.len());
        noun = Some(k);
        let brand = ctx
            .shopper
            .fav_brand
            .filter(|&b| world.brand_top[b] == sub.top)
            .map(|b| world.brand_names[b]);
        let query = make_query(rng, sub.spec, k, brand);
        tick(rng, t, &mut first);
        events.push(Event::search(query, *t as f64));
    }

    fill_scores(world, ctx.shopper, target, noun, &mut scratch.cum);
    scratch.viewed.clear();
    let n_views = rng.random_range(MIN_VIEWS..=MAX_VIEWS);
    for _ in 0..n_views {
        let item = if rng.random_bool(P_OFF_TARGET_VIEW) {
            off_target_item(rng, ctx, target)
        } else {
            let mut i = sub.items[sample_cum(rng, &scratch.cum)];
            if scratch.viewed.last() == Some(&i) {
                i = sub.items[sample_cum(rng, &scratch.cum)];
            }
            i
        };
        tick(rng, t, &mut first);
        events.push(Event::item(
            EventKind::View,
            &ctx.catalog[item].item_id,
            *t as f64,
        ));
        scratch.viewed.push(item);
    }

    if !(forced || rng.random_bool(P_CART)) {
        return None;
    }
    let mut choice = pick_cart_item(rng, world, target, &scratch.viewed, &mut scratch.cands);
    if choice.is_none() && forced {
        let item = draw_in_stock(rng, world, target, &scratch.cum);
        tick(rng, t, &mut first);
        events.push(Event::item(
            EventKind::View,
            &ctx.catalog[item].item_id,
            *t as f64,
        ));
        scratch.viewed.push(item);
        choice = Some(item);
    }
    let item = choice?;
    tick(rng, t, &mut first);
    events.push(Event::item(
        EventKind::Cart,
        &ctx.catalog[item].item_id,
        *t as f64,
    ));
    if forced || rng.random_bool(P_PURCHASE) {
        tick(rng, t, &mut first);
        events.push(Event::item(
            EventKind::Purchase,
            &ctx.catalog[item].item_id,
            *t as f64,
        ));
        Some(item)
    } else {
        None
    }
}

/// Cumulative appeal (`popularity × price fit × brand affinity`, damped when out of stock,
/// boosted when matching the searched noun) of the items of `sub`, in `Sub::items` order.
fn fill_scores(
    world: &World,
    shopper: &Shopper,
    sub: usize,
    noun: Option<usize>,
    cum: &mut Vec<f64>,
) {
    cum.clear();
    let s = &world.subs[sub];
    let pref = s.mu + shopper.price_z * s.sigma;
    let tol = (shopper.price_tol * s.sigma).max(1e-3);
    let mut acc = 0.0;
    for &i in &s.items {
        let m = &world.items[i];
        let d = (m.log_price - pref) / tol;
        let mut w = m.pop * (PRICE_FIT_FLOOR + (-0.5 * d * d).exp());
        if Some(m.brand) == shopper.fav_brand {
            w *= FAVOURITE_BRAND_BOOST;
        }
        if !m.in_stock {
            w *= OUT_OF_STOCK_VIEW_FACTOR;
        }
        if Some(m.noun) == noun {
            w *= QUERY_NOUN_BOOST;
        }
        acc += w;
        cum.push(acc);
    }
}

/// A view outside the target: another interest if the shopper has one, else a complement.
fn off_target_item(rng: &mut StdRng, ctx: &Ctx<'_>, target: usize) -> usize {
    let world = ctx.world;
    let interests = &ctx.shopper.interests;
    let others = interests.iter().filter(|&&s| s != target).count();
    let sub = if others > 0 {
        let k = rng.random_range(0..others);
        interests
            .iter()
            .copied()
            .filter(|&s| s != target)
            .nth(k)
            .unwrap_or(target)
    } else {
        let comps = &world.subs[target].complements;
        if comps.is_empty() {
            target
        } else {
            comps[rng.random_range(0..comps.len())]
        }
    };
    let s = &world.subs[sub];
    s.items[sample_cum(rng, &s.pop_cum)]
}

/// A viewed in-stock item to put into the cart, preferring the target subcategory and the
/// most recently viewed item; `None` if nothing viewed is in stock.
fn pick_cart_item(
    rng: &mut StdRng,
    world: &World,
    target: usize,
    viewed: &[usize],
    cands: &mut Vec<usize>,
) -> Option<usize> {
    cands.clear();
    cands.extend(
        viewed
            .iter()
            .copied()
            .filter(|&i| world.items[i].in_stock && world.items[i].sub == target),
    );
    if cands.is_empty() {
        cands.extend(viewed.iter().copied().filter(|&i| world.items[i].in_stock));
    }
    let last = *cands.last()?;
    if rng.random_bool(P_CART_LAST_VIEWED) {
        Some(last)
    } else {
        Some(cands[rng.random_range(0..cands.len())])
    }
}

/// An in-stock item of `target`, drawn by appeal (`cum` as filled by [`fill_scores`]).
fn draw_in_stock(rng: &mut StdRng, world: &World, target: usize, cum: &[f64]) -> usize {
    let sub = &world.subs[target];
    for _ in 0..IN_STOCK_DRAWS {
        let i = sub.items[sample_cum(rng, cum)];
        if world.items[i].in_stock {
            return i;
        }
    }
    sub.fallback
}

/// A 2–4 word query from the subcategory's vocabulary: the noun, sometimes preceded by the
/// shopper's favourite brand or an adjective.
fn make_query(rng: &mut StdRng, spec: &SubSpec, noun: usize, brand: Option<&str>) -> String {
    let mut words: Vec<String> = spec.nouns[noun]
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    if words.len() < MAX_QUERY_WORDS {
        match brand {
            Some(b) if rng.random_bool(P_BRAND_IN_QUERY) => words.insert(0, b.to_ascii_lowercase()),
            _ => {
                if rng.random_bool(P_ADJECTIVE_IN_QUERY) {
                    let adjective = spec.adjectives[rng.random_range(0..spec.adjectives.len())];
                    words.insert(0, adjective.to_ascii_lowercase());
                }
            }
        }
    }
    words.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// Advances the clock by an in-session gap, except for the session's first event.
fn tick(rng: &mut StdRng, t: &mut i64, first: &mut bool) {
    if *first {
        *first = false;
    } else {
        *t += gap(rng, IN_SESSION_GAP_S);
    }
}

/// A log-uniform gap in whole seconds (at least 1).
fn gap(rng: &mut StdRng, (lo, hi): (f64, f64)) -> i64 {
    let x: f64 = rng.random_range(lo.ln()..hi.ln());
    (x.exp().round() as i64).max(1)
}

fn random_sub_of(rng: &mut StdRng, world: &World, top: usize) -> usize {
    let subs = &world.top_subs[top];
    if subs.is_empty() {
        0
    } else {
        subs[rng.random_range(0..subs.len())]
    }
}

/// Index drawn proportionally to `weights` (uniformly if they sum to zero).
fn pick_weighted(rng: &mut StdRng, weights: &[f64]) -> usize {
    if weights.len() <= 1 {
        return 0;
    }
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return rng.random_range(0..weights.len());
    }
    let mut r = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

/// Like [`pick_weighted`] but never returns `exclude` (unless it is the only index).
fn pick_weighted_excluding(rng: &mut StdRng, weights: &[f64], exclude: usize) -> usize {
    if weights.len() < 2 {
        return 0;
    }
    let total: f64 = weights
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != exclude)
        .map(|(_, &w)| w)
        .sum();
    if total.is_nan() || total <= 0.0 {
        let k = rng.random_range(0..weights.len() - 1);
        return if k >= exclude { k + 1 } else { k };
    }
    let mut r = rng.random::<f64>() * total;
    let mut last = exclude;
    for (i, &w) in weights.iter().enumerate() {
        if i == exclude {
            continue;
        }
        last = i;
        if r < w {
            return i;
        }
        r -= w;
    }
    last
}

/// Index drawn from cumulative weights (0 if empty).
fn sample_cum(rng: &mut StdRng, cum: &[f64]) -> usize {
    let total = match cum.last() {
        Some(&t) if t > 0.0 => t,
        _ => return 0,
    };
    let r = rng.random::<f64>() * total;
    cum.partition_point(|&c| c <= r).min(cum.len() - 1)
}

fn shuffle<T>(rng: &mut StdRng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// In-session gaps are at most 300 s, gaps between sessions at least 3600 s.
    const SESSION_GAP_S: i64 = 1_800;

    fn config(seed: u64) -> SynthConfig {
        SynthConfig {
            items: 300,
            shoppers: 400,
            seed,
        }
    }

    fn shop(seed: u64) -> Shop {
        generate(&config(seed)).expect("generate")
    }

    /// One row of `events.csv`.
    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Row {
        user_id: String,
        timestamp: i64,
        event: String,
        item_id: String,
        query: String,
    }

    /// The shop's events as the rows of `events.csv`, sorted by user, then time.
    fn rows(shop: &Shop) -> Vec<Row> {
        shop.shoppers
            .iter()
            .flat_map(|u| {
                u.events.iter().map(|e| Row {
                    user_id: u.user.clone(),
                    timestamp: e.ts as i64,
                    event: e.kind.as_str().to_owned(),
                    item_id: e.item_id.clone().unwrap_or_default(),
                    query: e.query.clone().unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Each purchase that ended a session, with the shopper's next session.
    fn after_purchases(events: &[Row]) -> Vec<(&Row, &[Row])> {
        sessions(events)
            .windows(2)
            .filter(|w| w[0][0].user_id == w[1][0].user_id)
            .filter_map(|w| {
                let bought = w[0].iter().rev().find(|e| e.event == "purchase")?;
                Some((bought, w[1]))
            })
            .collect()
    }

    fn categories(shop: &Shop) -> BTreeMap<&str, &str> {
        shop.catalog
            .iter()
            .map(|i| (i.item_id.as_str(), i.meta.category.as_str()))
            .collect()
    }

    /// Splits events (sorted by user, then time) into sessions.
    fn sessions(events: &[Row]) -> Vec<&[Row]> {
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..=events.len() {
            let split = i == events.len()
                || events[i].user_id != events[i - 1].user_id
                || events[i].timestamp - events[i - 1].timestamp > SESSION_GAP_S;
            if split {
                out.push(&events[start..i]);
                start = i;
            }
        }
        out
    }

    fn complement_table() -> BTreeMap<String, Vec<String>> {
        let mut table = BTreeMap::new();
        for top in TOPS {
            for sub in top.subs {
                table.insert(
                    format!("{}/{}", top.name, sub.name),
                    sub.complements.iter().map(|c| c.to_string()).collect(),
                );
            }
        }
        table
    }

    #[test]
    fn rejects_bad_configs() {
        let few_items = generate(&SynthConfig {
            items: 49,
            shoppers: 10,
            seed: 1,
        });
        assert!(matches!(few_items, Err(Error::InvalidArgument(_))));
        let no_shoppers = generate(&SynthConfig {
            items: 100,
            shoppers: 0,
            seed: 1,
        });
        assert!(matches!(no_shoppers, Err(Error::InvalidArgument(_))));
        assert!(
            generate(&SynthConfig {
                items: 50,
                shoppers: 1,
                seed: 1
            })
            .is_ok()
        );
    }

    #[test]
    fn same_seed_same_shop_different_seed_differs() {
        let a = shop(42);
        let b = shop(42);
        assert_eq!(a.catalog, b.catalog);
        assert_eq!(a.shoppers, b.shoppers);
        assert_eq!(a.offers, b.offers);
        let c = shop(43);
        assert_ne!(a.shoppers, c.shoppers);
        assert_ne!(a.catalog, c.catalog);
    }

    #[test]
    fn static_tables_are_consistent() {
        let table = complement_table();
        let mut brands = BTreeSet::new();
        assert_eq!(TOPS.len(), 8);
        for top in TOPS {
            assert!((3..=5).contains(&top.subs.len()), "{}", top.name);
            assert!(top.brands.len() >= 4);
            for brand in top.brands {
                assert!(brands.insert(*brand), "duplicate brand {brand}");
                assert!(brand.chars().all(|c| c.is_ascii_alphabetic()), "{brand}");
            }
            for sub in top.subs {
                assert!(sub.lo > 0.0 && sub.lo < sub.hi);
                assert!(!sub.complements.is_empty() && sub.complements.len() <= 2);
                for c in sub.complements {
                    assert!(table.contains_key(*c), "unknown complement {c}");
                }
                for noun in sub.nouns {
                    let n = noun.split_whitespace().count();
                    assert!((2..=3).contains(&n), "noun {noun:?}");
                }
                for adjective in sub.adjectives {
                    assert_eq!(adjective.split_whitespace().count(), 1);
                }
            }
        }
        assert!(
            table.len() <= MIN_ITEMS,
            "every subcategory must get an item"
        );
    }

    #[test]
    fn catalogue_is_realistic() {
        let shop = shop(7);
        assert_eq!(shop.catalog.len(), 300);
        assert_eq!(shop.catalog[0].item_id, "sku-001");
        assert_eq!(shop.catalog[299].item_id, "sku-300");

        let categories: BTreeSet<&str> = shop
            .catalog
            .iter()
            .map(|i| i.meta.category.as_str())
            .collect();
        let table = complement_table();
        assert_eq!(
            categories.len(),
            table.len(),
            "every subcategory gets items"
        );
        for required in [
            "running/shoes",
            "running/socks",
            "running/apparel",
            "running/accessories",
            "hiking/boots",
            "hiking/backpacks",
        ] {
            assert!(categories.contains(required), "{required}");
        }
        for top in ["kitchen/", "beauty/", "electronics/", "home/"] {
            assert!(categories.iter().any(|c| c.starts_with(top)), "{top}");
        }
        for c in &categories {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '/'),
                "{c}"
            );
            assert_eq!(c.matches('/').count(), 1);
        }

        let mut brands_per_top: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for item in &shop.catalog {
            let item = &item.meta;
            let price = item.price.expect("every synthetic item has a price");
            assert!(price > 0.0);
            assert!(item.title.starts_with(&item.brand), "{}", item.title);
            let top = item.category.split('/').next().unwrap_or("");
            brands_per_top
                .entry(top)
                .or_default()
                .insert(item.brand.as_str());
            let title = item.title.to_ascii_lowercase();
            match item.category.as_str() {
                "running/shoes" => {
                    assert!(
                        title.contains("trail running shoe") || title.contains("road running shoe"),
                        "{title}"
                    )
                }
                "running/socks" => assert!(title.contains("running socks"), "{title}"),
                _ => {}
            }
            let cents = (price as f64 * 100.0).round();
            assert!((price as f64 * 100.0 - cents).abs() < 1e-2, "{}", price);
        }
        for (top, brands) in &brands_per_top {
            assert!(brands.len() <= 8, "{top}: {brands:?}");
        }
        let shoes: Vec<f32> = shop
            .catalog
            .iter()
            .filter(|i| i.meta.category == "running/shoes")
            .filter_map(|i| i.meta.price)
            .collect();
        assert!(
            shoes.iter().all(|&p| (59.0..=200.0).contains(&p)),
            "{shoes:?}"
        );
        let socks: Vec<f32> = shop
            .catalog
            .iter()
            .filter(|i| i.meta.category == "running/socks")
            .filter_map(|i| i.meta.price)
            .collect();
        assert!(
            socks.iter().all(|&p| (8.0..=25.0).contains(&p)),
            "{socks:?}"
        );

        let in_stock = shop.catalog.iter().filter(|i| i.meta.in_stock).count() as f64 / 300.0;
        assert!((0.8..0.99).contains(&in_stock), "{in_stock}");
    }

    #[test]
    fn every_shopper_has_two_purchases() {
        let shop = shop(3);
        let events = rows(&shop);
        let mut purchases: BTreeMap<&str, usize> = BTreeMap::new();
        let mut users = BTreeSet::new();
        for e in &events {
            users.insert(e.user_id.as_str());
            if e.event == "purchase" {
                *purchases.entry(e.user_id.as_str()).or_default() += 1;
            }
        }
        assert_eq!(users.len(), 400);
        assert!(users.contains("u-000001") && users.contains("u-000400"));
        for user in &users {
            let n = purchases.get(user).copied().unwrap_or(0);
            assert!(n >= 2, "{user} has {n} purchases");
        }
    }

    #[test]
    fn timestamps_increase_per_user_and_events_are_sorted() {
        let shop = shop(5);
        let events = rows(&shop);
        for w in events.windows(2) {
            assert!(w[0].user_id <= w[1].user_id, "not sorted by user");
            if w[0].user_id == w[1].user_id {
                assert!(
                    w[0].timestamp < w[1].timestamp,
                    "{:?} then {:?}",
                    w[0],
                    w[1]
                );
            }
        }
        assert!(events.iter().all(|e| e.timestamp >= START_TS));
    }

    #[test]
    fn events_are_well_formed() {
        let shop = shop(9);
        let events = rows(&shop);
        let ids: BTreeSet<&str> = shop.catalog.iter().map(|i| i.item_id.as_str()).collect();
        let mut searches = 0;
        for e in &events {
            match e.event.as_str() {
                "search" => {
                    searches += 1;
                    assert!(e.item_id.is_empty(), "{e:?}");
                    let words = e.query.split_whitespace().count();
                    assert!((2..=4).contains(&words), "{e:?}");
                }
                "view" | "cart" | "purchase" => {
                    assert!(ids.contains(e.item_id.as_str()), "{e:?}");
                    assert!(e.query.is_empty(), "{e:?}");
                }
                other => panic!("unexpected event kind {other}"),
            }
        }
        assert!(searches > 0);
    }

    #[test]
    fn search_queries_match_titles_of_the_session() {
        let shop = shop(10);
        let events = rows(&shop);
        let titles: BTreeMap<&str, String> = shop
            .catalog
            .iter()
            .map(|i| (i.item_id.as_str(), i.meta.title.to_ascii_lowercase()))
            .collect();
        let (mut searched, mut matched) = (0, 0);
        for session in sessions(&events) {
            let Some(search) = session.iter().find(|e| e.event == "search") else {
                continue;
            };
            searched += 1;
            // The query ends with a (2–3 word) title noun; its last two words must show up in
            // the title of an item viewed in the same session.
            let words: Vec<&str> = search.query.split_whitespace().collect();
            let tail = &words[words.len().saturating_sub(2)..];
            let hit = session.iter().filter(|e| e.event == "view").any(|e| {
                let title = &titles[e.item_id.as_str()];
                tail.iter()
                    .all(|w| title.split_whitespace().any(|t| t == *w))
            });
            if hit {
                matched += 1;
            }
        }
        assert!(searched > 50);
        assert!(
            matched as f64 / searched as f64 > 0.6,
            "{matched}/{searched}"
        );
    }

    #[test]
    fn purchases_follow_a_cart_in_the_same_session() {
        let shop = shop(11);
        let events = rows(&shop);
        let mut purchases = 0;
        for session in sessions(&events) {
            for (i, e) in session.iter().enumerate() {
                if e.event == "purchase" {
                    purchases += 1;
                    assert!(
                        session[..i]
                            .iter()
                            .any(|p| p.event == "cart" && p.item_id == e.item_id),
                        "purchase without cart: {e:?}"
                    );
                }
            }
        }
        assert!(purchases >= 800);
    }

    #[test]
    fn sessions_after_a_purchase_often_target_a_complement() {
        let shop = shop(12);
        let events = rows(&shop);
        let category = categories(&shop);
        let table = complement_table();
        let (mut follows, mut hits) = (0, 0);
        for (bought, next) in after_purchases(&events) {
            let Some(view) = next.iter().find(|e| e.event == "view") else {
                continue;
            };
            follows += 1;
            let comps = &table[category[bought.item_id.as_str()]];
            if comps.iter().any(|c| c == category[view.item_id.as_str()]) {
                hits += 1;
            }
        }
        assert!(follows > 100, "{follows}");
        let rate = hits as f64 / follows as f64;
        assert!(rate > 0.3, "complement rate {rate}");
    }

    #[test]
    fn shoppers_seldom_return_to_a_subcategory_right_after_buying_from_it() {
        let shop = shop(14);
        let events = rows(&shop);
        let category = categories(&shop);
        let (mut items, mut same) = (0, 0);
        for (bought, next) in after_purchases(&events) {
            for e in next.iter().filter(|e| !e.item_id.is_empty()) {
                items += 1;
                if category[e.item_id.as_str()] == category[bought.item_id.as_str()] {
                    same += 1;
                }
            }
        }
        assert!(items > 500, "{items}");
        // Without satiation a third of these events were in the subcategory just bought.
        let rate = same as f64 / items as f64;
        assert!(
            rate < 0.2,
            "{same} of {items} next-session items in the bought subcategory"
        );
    }

    #[test]
    fn shoppers_move_between_top_categories_across_sessions() {
        let shop = shop(15);
        let events = rows(&shop);
        let category = categories(&shop);
        let top = |session: &[Row]| {
            let mut counts = BTreeMap::<&str, usize>::new();
            for e in session.iter().filter(|e| !e.item_id.is_empty()) {
                let t = category[e.item_id.as_str()].split('/').next().unwrap_or("");
                *counts.entry(t).or_default() += 1;
            }
            // The most frequent top category (ties to the first in name order).
            counts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(t, _)| t)
        };
        let all = sessions(&events);
        let (mut pairs, mut moved) = (0, 0);
        for w in all
            .windows(2)
            .filter(|w| w[0][0].user_id == w[1][0].user_id)
        {
            let (Some(a), Some(b)) = (top(w[0]), top(w[1])) else {
                continue;
            };
            pairs += 1;
            if a != b {
                moved += 1;
            }
        }
        assert!(pairs > 1000, "{pairs}");
        // With fewer second top categories and drifts (before 2026-11-30) the demo shop had 8%:
        // too few switches for a model to learn that views of a new category start one.
        let rate = moved as f64 / pairs as f64;
        assert!(
            (0.12..0.3).contains(&rate),
            "{moved} of {pairs} consecutive sessions change top category"
        );
    }

    #[test]
    fn offers_have_ground_truth_redeemers() {
        let shop = shop(13);
        let events = rows(&shop);
        assert!(
            (12..=20).contains(&shop.offers.len()),
            "{}",
            shop.offers.len()
        );
        let ids: BTreeSet<&str> = shop.offers.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids.len(), shop.offers.len(), "offer ids are unique");

        let items: BTreeMap<&str, &CatalogEntry> = shop
            .catalog
            .iter()
            .map(|i| (i.item_id.as_str(), i))
            .collect();
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for e in &events {
            if e.event == "purchase" {
                last.insert(e.user_id.as_str(), e.item_id.as_str());
            }
        }
        let mut total = 0;
        for offer in &shop.offers {
            if offer.categories.is_empty() {
                assert_eq!(offer.brands.len(), 1);
                assert!((0.049..=0.151).contains(&offer.discount), "{offer:?}");
            } else {
                assert!(offer.brands.is_empty());
                assert!((0.099..=0.251).contains(&offer.discount), "{offer:?}");
                let slug = offer.categories[0].replace('/', "-");
                assert!(offer.id.starts_with(&slug), "{}", offer.id);
            }
            let expected: Vec<String> = last
                .iter()
                .filter(|(_, item)| {
                    let item = &items[**item].meta;
                    offer.categories.contains(&item.category) || offer.brands.contains(&item.brand)
                })
                .map(|(user, _)| user.to_string())
                .collect();
            assert_eq!(offer.redeemers.as_ref(), Some(&expected), "{}", offer.id);
            total += expected.len();
        }
        assert!(total > 0);
        // The final session of every shopper contains their last purchase.
        let all = sessions(&events);
        for (k, session) in all.iter().enumerate() {
            let is_final = all
                .get(k + 1)
                .is_none_or(|next| next[0].user_id != session[0].user_id);
            if is_final {
                assert!(
                    session.iter().any(|e| e.event == "purchase"),
                    "{}",
                    session[0].user_id
                );
            }
        }
    }

    #[test]
    fn write_round_trips() {
        let shop = shop(21);
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("shop");
        // Write a shuffled copy of the events: the file must come out sorted anyway.
        let mut reversed = shop.clone();
        reversed.shoppers.reverse();
        for u in &mut reversed.shoppers {
            u.events.reverse();
        }
        write(&reversed, &out).expect("write");

        let catalog: Vec<CatalogEntry> =
            serde_json::from_reader(File::open(out.join("catalog.json")).expect("open catalog"))
                .expect("parse catalog");
        assert_eq!(catalog, shop.catalog);

        let offers: Vec<Offer> =
            serde_json::from_reader(File::open(out.join("offers.json")).expect("open offers"))
                .expect("parse offers");
        assert_eq!(offers, shop.offers);

        let text = std::fs::read_to_string(out.join("events.csv")).expect("read events");
        assert_eq!(
            text.lines().next(),
            Some("user_id,timestamp,event,item_id,query")
        );
        let mut reader = csv::Reader::from_path(out.join("events.csv")).expect("open events");
        let events: Vec<Row> = reader
            .deserialize()
            .collect::<std::result::Result<Vec<Row>, csv::Error>>()
            .expect("parse events");
        let generated = rows(&shop);
        let mut expected = generated.clone();
        expected.sort_by(|a, b| {
            a.user_id
                .cmp(&b.user_id)
                .then(a.timestamp.cmp(&b.timestamp))
        });
        assert_eq!(events, expected);
        assert_eq!(events, generated, "generated events are already sorted");
    }
}
