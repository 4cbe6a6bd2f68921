//! Warehouse ingest at shop scale: a synthetic event log written as Parquet (the `events`
//! columns, snappy, row groups of 1M rows, rows in time order across all users as a warehouse
//! export is) and as CSV, then read back by the trainer's readers, each read in its own process
//! so that its peak RSS is its own. `benches/ingest.sh` runs the steps and writes
//! `results/ingest.json`.
//!
//!   cargo bench --features train --bench ingest_bench -- gen EVENTS ITEMS USERS DIR
//!   cargo bench --features train --bench ingest_bench -- read parquet|csv FILE
//!
//! `read` prints one JSON line: events, seconds, events per second, the log's heap bytes per
//! event and the process's peak RSS (VmHWM).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use localrec::event::EventKind;
use localrec::train::data::{self, Format};
use localrec::train::parquet::EventsWriter;

/// xorshift64*: a fast, seeded generator (the log only needs to be large and skewed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WORDS: [&str; 12] = [
    "running", "shoes", "trail", "jacket", "rain", "socks", "wool", "tent", "light", "boots",
    "hiking", "women",
];

/// One event: (user, timestamp, event, item, query). Items are skewed (a power law), users
/// uniform, kinds 70% view, 15% cart, 10% purchase, 5% search.
fn event(
    rng: &mut Rng,
    t: u64,
    items: u64,
    users: u64,
) -> (String, i64, EventKind, String, String) {
    let user = format!("user-{}", rng.next() % users);
    let item = format!("sku-{}", ((rng.unit().powf(3.0)) * items as f64) as u64);
    let r = rng.unit();
    let (kind, item, query) = if r < 0.70 {
        (EventKind::View, item, String::new())
    } else if r < 0.85 {
        (EventKind::Cart, item, String::new())
    } else if r < 0.95 {
        (EventKind::Purchase, item, String::new())
    } else {
        let q = format!(
            "{} {}",
            WORDS[(rng.next() % 12) as usize],
            WORDS[(rng.next() % 12) as usize]
        );
        (EventKind::Search, String::new(), q)
    };
    (user, 1_700_000_000_000 + t as i64, kind, item, query)
}

fn generate(events: u64, items: u64, users: u64, dir: &Path, csv_too: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut parquet = EventsWriter::create(&dir.join("events.parquet"), 1 << 20).unwrap();
    let mut csv = csv_too.then(|| {
        let mut w = BufWriter::new(File::create(dir.join("events.csv")).unwrap());
        writeln!(w, "user_id,timestamp,event,item_id,query").unwrap();
        w
    });
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for t in 0..events {
        let (user, time, kind, item, query) = event(&mut rng, t, items, users);
        if let Some(w) = csv.as_mut() {
            writeln!(w, "{user},{time},{},{item},{query}", kind.as_str()).unwrap();
        }
        fn text(s: &str) -> Option<&str> {
            (!s.is_empty()).then_some(s)
        }
        parquet
            .push(&user, time, kind, text(&item), text(&query))
            .unwrap();
    }
    parquet.finish().unwrap();
    if let Some(mut w) = csv {
        w.flush().unwrap();
    }
}

fn read(format: &str, path: &Path) {
    let fmt = match format {
        "parquet" => Format::Parquet,
        "csv" => Format::Events,
        other => panic!("unknown format {other}"),
    };
    let started = Instant::now();
    let ds = data::load(path, fmt, false).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let events = ds.event_count();
    let line = serde_json::json!({
        "format": format,
        "file_bytes": std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        "events": events,
        "users": ds.users(),
        "seconds": seconds,
        "events_per_second": events as f64 / seconds,
        "heap_bytes_per_event": ds.heap_bytes() as f64 / events as f64,
        "peak_rss_bytes": localrec::train::pipeline::peak_rss_bytes(),
    });
    println!("{line}");
}

fn main() {
    // `cargo bench` passes `--bench`; the steps are the other arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let n = |i: usize| args[i].parse::<u64>().unwrap();
            generate(
                n(1),
                n(2),
                n(3),
                Path::new(&args[4]),
                args.get(5).is_some_and(|a| a == "csv"),
            );
        }
        Some("read") => read(&args[1], Path::new(&args[2])),
        _ => eprintln!(
            "usage: ingest gen EVENTS ITEMS USERS DIR [csv] | ingest read parquet|csv FILE"
        ),
    }
}
