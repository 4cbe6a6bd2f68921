//! Native inference: encode a history, score the whole int8 catalogue and take the top 10, at
//! 12,101 (Beauty's size), 100,000 and 1,000,000 items (d=64, 2 blocks, random weights), plus the
//! scoring and top-k steps on their own. `cargo bench --bench inference`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use localrec::event::Event;
use localrec::event::EventKind;
use localrec::format;
use localrec::format::quant::Encoding;
use localrec::model::{HostBlocks, Positions, SeqBatch, SeqRecConfig, Step};
use localrec::runtime::rank::top_k;
use localrec::runtime::{Engine, RecommendOptions};

fn engine(items: usize) -> Engine {
    let config = SeqRecConfig::new(items)
        .with_d_model(64)
        .with_layers(2)
        .with_heads(1)
        .with_max_len(50)
        .with_query_buckets(0);
    let bytes = format::random_model(&config, 7, Encoding::Int8).unwrap();
    Engine::load(&bytes, &localrec::cpu_device(), None).unwrap()
}

fn history(len: usize, items: usize) -> Vec<Event> {
    (0..len)
        .map(|i| {
            let id = format!("item-{}", (i * 7919) % items + 1);
            Event::item(EventKind::View, id, 1.7e12 + i as f64)
        })
        .collect()
}

fn inference(c: &mut Criterion) {
    let mut group = c.benchmark_group("recommend");
    group.sample_size(20);
    for items in [12_101, 100_000, 1_000_000] {
        let engine = engine(items);
        let opts = RecommendOptions::default();
        for len in [10, 50] {
            let h = history(len, items);
            group.bench_with_input(
                BenchmarkId::new(format!("{items}_items"), format!("{len}_events")),
                &h,
                |b, h| b.iter(|| engine.recommend_blocking(black_box(h), &opts).unwrap()),
            );
        }
        let state = engine
            .state_blocking(&engine.encode(&history(50, items)))
            .unwrap()
            .unwrap()
            .0;
        group.bench_function(BenchmarkId::new("score_int8", items), |b| {
            b.iter(|| engine.score(black_box(&state)))
        });
        let scores = engine.score(&state);
        group.bench_function(BenchmarkId::new("top10", items), |b| {
            b.iter(|| top_k(black_box(&scores), 10, |_| true))
        });
    }
    group.finish();

    // The shipped Beauty model's forward alone (embedding, blocks, the newest state and its
    // attention), the part of `recommend()` that does not grow with the catalogue.
    let mut group = c.benchmark_group("forward");
    group.sample_size(50);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/beauty/model.lrec");
    let bytes = std::fs::read(path).unwrap();
    let engine = Engine::load(&bytes, &localrec::cpu_device(), None).unwrap();
    let ids = format::read_header(&bytes).unwrap().0.items;
    for len in [10, 50] {
        let h: Vec<Event> = (0..len)
            .map(|i| {
                Event::item(
                    EventKind::View,
                    ids[(i * 7919) % ids.len()].clone(),
                    1.7e12 + i as f64,
                )
            })
            .collect();
        let encoded = engine.encode(&h);
        group.bench_function(BenchmarkId::new("beauty", format!("{len}_events")), |b| {
            b.iter(|| engine.state_blocking(black_box(&encoded)).unwrap())
        });
    }
    // A model of the same shape with a relative attention bias (random weights): its history
    // encoded whole, and its newest event appended to the cached keys and values of the ones
    // before it (what `recommend()` computes after one `track()`).
    let config = SeqRecConfig::new(12_101)
        .with_d_model(64)
        .with_layers(2)
        .with_heads(1)
        .with_max_len(50)
        .with_positions(Positions::Relative);
    let bytes = format::random_model(&config, 7, Encoding::Int8).unwrap();
    let artefact = format::read(&bytes).unwrap();
    let model = artefact.model(&localrec::cpu_device()).unwrap();
    let weights = &artefact.weights;
    for len in [10, 50] {
        let steps: Vec<Step> = (0..len)
            .map(|i| Step::item(((i * 7919) % 12_101 + 1) as u32, EventKind::View))
            .collect();
        let batch = |s: &[Step]| SeqBatch::new(&config, &[s], &[]);
        let whole = batch(&steps);
        group.bench_function(
            BenchmarkId::new("relative_whole", format!("{len}_events")),
            |b| {
                b.iter(|| {
                    let (state, _, _) = model
                        .encode_appended(black_box(&whole), None, None)
                        .unwrap();
                    localrec::model::floats(state).unwrap()
                })
            },
        );
        let (_, _, past) = model
            .encode_appended(&batch(&steps[..len - 1]), None, None)
            .unwrap();
        let newest = batch(&steps[len - 1..]);
        group.bench_function(
            BenchmarkId::new("relative_append_one", format!("{len}_events")),
            |b| {
                b.iter(|| {
                    let (state, _, _) = model
                        .encode_appended(black_box(&newest), None, Some(&past))
                        .unwrap();
                    localrec::model::floats(state).unwrap()
                })
            },
        );
        // The same on the host (`HostBlocks`, the CPU engine's path).
        let host = HostBlocks::new(&config, weights).unwrap();
        let table = &weights["item_emb"].values;
        let rows = |b: &SeqBatch| -> Vec<f32> {
            b.item_rows()
                .flat_map(|r| {
                    table[r as usize * 64..(r as usize + 1) * 64]
                        .iter()
                        .copied()
                })
                .collect()
        };
        let whole_rows = rows(&whole);
        group.bench_function(
            BenchmarkId::new("host_whole", format!("{len}_events")),
            |b| b.iter(|| host.append(black_box(&whole), &whole_rows, None).unwrap()),
        );
        let before = batch(&steps[..len - 1]);
        let past = host.append(&before, &rows(&before), None).unwrap().keys;
        let newest_rows = rows(&newest);
        group.bench_function(
            BenchmarkId::new("host_append_one", format!("{len}_events")),
            |b| {
                b.iter(|| {
                    host.append(black_box(&newest), &newest_rows, Some(past.clone()))
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, inference);
criterion_main!(benches);
