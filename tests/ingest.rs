//! Warehouse inputs: the `events` columns, GA4's BigQuery export and one-row-per-user sequences
//! as Parquet (one file, a directory of shards, a glob) and GA4's newline-delimited JSON export.
//! Each is written here from the same small shop and must read as the same log the CSV reader
//! makes of it; bad rows are reported with file, row and row group.

#![cfg(feature = "train")]

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use localrec::event::EventKind;
use localrec::train::data::{self, Dataset, Format};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::json;

/// (user, timestamp, event, item_id, query, category) of a small shop, in no particular order.
fn rows() -> Vec<(
    &'static str,
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    vec![
        ("u1", 30, "purchase", "sku-3", "", ""),
        ("u1", 10, "view", "sku-1", "", ""),
        ("u2", 5, "search", "", "trail shoes", ""),
        ("u1", 20, "cart", "sku-3", "", ""),
        ("u2", 6, "category", "", "", "hiking/boots"),
        ("u2", 7, "view", "sku-2", "", ""),
        ("u3", 1, "purchase", "sku-1", "", ""),
        ("u2", 8, "purchase", "sku-2", "", ""),
    ]
}

fn csv_log(dir: &Path) -> Dataset {
    let mut text = String::from("user_id,timestamp,event,item_id,query,category\n");
    for (u, t, e, i, q, c) in rows() {
        text += &format!("{u},{t},{e},{i},{q},{c}\n");
    }
    let path = dir.join("log.csv");
    std::fs::write(&path, text).unwrap();
    data::load(&path, Format::Events, false).unwrap()
}

/// (kind, item, query, category) of an event.
type Fields = (EventKind, Option<String>, Option<String>, Option<String>);

/// Users and their events' fields in order: what the trainer reads of a log.
fn summary(ds: &Dataset) -> Vec<(String, Vec<Fields>)> {
    let mut users: Vec<_> = ds
        .logs()
        .iter()
        .map(|u| {
            let events = u
                .events
                .iter()
                .map(|e| {
                    (
                        e.kind,
                        e.item_id.clone(),
                        e.query.clone(),
                        e.category.clone(),
                    )
                })
                .collect();
            (u.user.clone(), events)
        })
        .collect();
    users.sort_by(|a, b| a.0.cmp(&b.0));
    users
}

fn text(v: Vec<&str>) -> ArrayRef {
    Arc::new(StringArray::from(
        v.into_iter()
            .map(|s| (!s.is_empty()).then_some(s))
            .collect::<Vec<_>>(),
    ))
}

fn write_parquet(path: &Path, batches: &[RecordBatch], rows_per_group: usize) {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

fn events_batch(rows: &[(&str, i64, &str, &str, &str, &str)]) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("user_id", text(rows.iter().map(|r| r.0).collect())),
        (
            "timestamp",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("event", text(rows.iter().map(|r| r.2).collect())),
        ("item_id", text(rows.iter().map(|r| r.3).collect())),
        ("query", text(rows.iter().map(|r| r.4).collect())),
        ("category", text(rows.iter().map(|r| r.5).collect())),
        // A column the trainer does not read (projected away).
        (
            "page_location",
            text(rows.iter().map(|_| "https://shop.example/").collect()),
        ),
    ])
    .unwrap()
}

#[test]
fn events_parquet_reads_as_the_csv_log_from_a_file_a_directory_or_a_glob() {
    let dir = tempfile::tempdir().unwrap();
    let want = summary(&csv_log(dir.path()));
    let all = rows();
    let shards = dir.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    write_parquet(
        &shards.join("part-00000.parquet"),
        &[events_batch(&all[..5])],
        2,
    );
    write_parquet(
        &shards.join("part-00001.parquet"),
        &[events_batch(&all[5..])],
        2,
    );
    std::fs::write(shards.join("_SUCCESS"), "").unwrap();
    let one = dir.path().join("all.parquet");
    write_parquet(&one, &[events_batch(&all)], 3);
    for path in [one.clone(), shards.clone(), shards.join("part-*.parquet")] {
        let ds = data::load(&path, Format::Parquet, false).unwrap();
        assert_eq!(summary(&ds), want, "{}", path.display());
        assert_eq!(ds.lines, all.len());
    }
    // Timestamps order events within a user across shards.
    let ds = data::load(&shards, Format::Parquet, false).unwrap();
    let logs = ds.logs();
    let u1 = logs.iter().find(|u| u.user == "u1").unwrap();
    assert_eq!(
        u1.events.iter().map(|e| e.ts).collect::<Vec<_>>(),
        [10.0, 20.0, 30.0]
    );
}

#[test]
fn bad_parquet_rows_name_file_row_and_row_group_or_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = rows();
    all[4] = ("u2", 6, "teleport", "sku-1", "", "");
    let path = dir.path().join("bad.parquet");
    write_parquet(&path, &[events_batch(&all)], 2);
    let err = data::load(&path, Format::Parquet, false).unwrap_err();
    assert_eq!(err.code(), "BAD_INPUT");
    let msg = err.to_string();
    assert!(
        msg.contains("bad.parquet:5:") && msg.contains("teleport") && msg.contains("row group 2"),
        "{msg}"
    );
    let ds = data::load(&path, Format::Parquet, true).unwrap();
    assert_eq!(ds.skipped.count, 1);
    assert_eq!(ds.event_count(), all.len() - 1);

    // Missing columns and files that are not Parquet are clear errors, not panics.
    let no_event = RecordBatch::try_from_iter([
        ("user_id", text(vec!["u1"])),
        ("timestamp", text(vec!["1"])),
    ])
    .unwrap();
    let path = dir.path().join("columns.parquet");
    write_parquet(&path, &[no_event], 10);
    let msg = data::load(&path, Format::Parquet, false)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("missing column \"event\""), "{msg}");
    let path = dir.path().join("not.parquet");
    std::fs::write(&path, b"PAR1 this is not a parquet file").unwrap();
    let err = data::load(&path, Format::Parquet, false).unwrap_err();
    assert!(
        err.to_string().contains("not a readable Parquet file"),
        "{err}"
    );
    let msg = data::load(&dir.path().join("empty-*.parquet"), Format::Parquet, false)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no parquet files"), "{msg}");
}

/// GA4 export rows (BigQuery's schema, the fields the mapping reads plus some it does not) for
/// the same shop, with the noise a real export has.
fn ga4_rows() -> Vec<serde_json::Value> {
    let item = |id: &str, c1: &str, c2: &str| json!({"item_id": id, "item_name": format!("Item {id}"), "item_category": c1, "item_category2": c2, "price": 10.5, "quantity": 1});
    let ev =
        |user: &str, ts: i64, name: &str, params: serde_json::Value, items: serde_json::Value| {
            json!({
                "event_date": "20261201",
                "event_timestamp": ts,
                "event_name": name,
                "event_params": params,
                "user_id": if user.starts_with('u') { json!(user) } else { json!(null) },
                "user_pseudo_id": format!("p-{user}"),
                "items": items,
            })
        };
    let p = |k: &str, v: &str| json!({"key": k, "value": {"string_value": v, "int_value": null}});
    vec![
        ev(
            "u1",
            30,
            "purchase",
            json!([p("transaction_id", "T1")]),
            json!([item("sku-3", "running", "shoes")]),
        ),
        ev(
            "u1",
            10,
            "view_item",
            json!([]),
            json!([item("sku-1", "running", "")]),
        ),
        ev(
            "u1",
            11,
            "page_view",
            json!([p("page_location", "https://shop.example/")]),
            json!([]),
        ),
        ev(
            "u2",
            5,
            "view_search_results",
            json!([p("search_term", "trail shoes")]),
            json!([]),
        ),
        ev(
            "u1",
            20,
            "add_to_cart",
            json!([]),
            json!([item("sku-3", "running", "shoes")]),
        ),
        ev(
            "u2",
            6,
            "view_item_list",
            json!([]),
            json!([
                item("sku-2", "hiking", "boots"),
                item("sku-5", "hiking", "boots")
            ]),
        ),
        ev(
            "u2",
            7,
            "view_item",
            json!([]),
            json!([item("sku-2", "hiking", "boots")]),
        ),
        ev(
            "anon3",
            1,
            "purchase",
            json!([]),
            json!([item("sku-1", "running", "")]),
        ),
        ev(
            "u2",
            8,
            "purchase",
            json!([]),
            json!([item("sku-2", "hiking", "boots")]),
        ),
        ev("u2", 9, "session_start", json!([]), json!([])),
    ]
}

fn ga4_schema() -> Arc<Schema> {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let value = DataType::Struct(
        vec![
            s("string_value"),
            Field::new("int_value", DataType::Int64, true),
        ]
        .into(),
    );
    let param = DataType::Struct(vec![s("key"), Field::new("value", value, true)].into());
    let item = DataType::Struct(
        vec![
            s("item_id"),
            s("item_name"),
            s("item_category"),
            s("item_category2"),
            Field::new("price", DataType::Float64, true),
            Field::new("quantity", DataType::Int64, true),
        ]
        .into(),
    );
    Arc::new(Schema::new(vec![
        s("event_date"),
        Field::new("event_timestamp", DataType::Int64, true),
        s("event_name"),
        Field::new(
            "event_params",
            DataType::List(Arc::new(Field::new("element", param, true))),
            true,
        ),
        s("user_id"),
        s("user_pseudo_id"),
        Field::new(
            "items",
            DataType::List(Arc::new(Field::new("element", item, true))),
            true,
        ),
    ]))
}

fn ga4_parquet(path: &Path, rows: &[serde_json::Value]) {
    let ndjson: String = rows.iter().map(|r| r.to_string() + "\n").collect();
    let mut reader = arrow_json::ReaderBuilder::new(ga4_schema())
        .build(ndjson.as_bytes())
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    write_parquet(path, &[batch], 4);
}

/// What the GA4 rows stand for, written as an events CSV log: the mapping's expected output.
fn ga4_expected(dir: &Path) -> Vec<(String, Vec<Fields>)> {
    let text = "user_id,timestamp,event,item_id,query,category\n\
        u1,30,purchase,sku-3,,\nu1,10,view,sku-1,,\nu2,5,search,,trail shoes,\nu1,20,cart,sku-3,,\n\
        u2,6,category,,,hiking/boots\nu2,7,view,sku-2,,\np-anon3,1,purchase,sku-1,,\nu2,8,purchase,sku-2,,\n";
    let path = dir.join("expected.csv");
    std::fs::write(&path, text).unwrap();
    summary(&data::load(&path, Format::Events, false).unwrap())
}

#[test]
fn ga4_exports_map_like_the_browser_adapter_from_parquet_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let want = ga4_expected(dir.path());
    let rows = ga4_rows();
    let parquet = dir.path().join("events_20261201.parquet");
    ga4_parquet(&parquet, &rows);
    // BigQuery's JSON export writes INT64 as strings.
    let json_path = dir.path().join("events_20261201.json");
    let lines: String = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["event_timestamp"] = json!(r["event_timestamp"].to_string());
            r.to_string() + "\n"
        })
        .collect();
    std::fs::write(&json_path, lines).unwrap();
    for path in [parquet, json_path] {
        let ds = data::load(&path, Format::Ga4, false).unwrap();
        assert_eq!(summary(&ds), want, "{}", path.display());
        assert_eq!((ds.lines, ds.ignored), (10, 2), "{}", path.display());
    }
    // A directory holding both (a day in Parquet, the next in JSON) reads as one log.
    let days = dir.path().join("days");
    std::fs::create_dir(&days).unwrap();
    ga4_parquet(&days.join("events_20261201.parquet"), &rows[..5]);
    let rest: String = rows[5..].iter().map(|r| r.to_string() + "\n").collect();
    std::fs::write(days.join("events_20261202.json"), rest).unwrap();
    assert_eq!(
        summary(&data::load(&days, Format::Ga4, false).unwrap()),
        want
    );
}

#[test]
fn ga4_rows_without_a_shopper_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = ga4_rows();
    rows[6]["user_id"] = json!(null);
    rows[6]["user_pseudo_id"] = json!(null);
    let path = dir.path().join("events.parquet");
    ga4_parquet(&path, &rows);
    let msg = data::load(&path, Format::Ga4, false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("events.parquet:7:")
            && msg.contains("user_pseudo_id")
            && msg.contains("row group 1"),
        "{msg}"
    );
    let ds = data::load(&path, Format::Ga4, true).unwrap();
    assert_eq!(ds.skipped.count, 1);
}

#[test]
fn sequence_parquet_reads_one_row_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let want = summary(&csv_log(dir.path()));
    let list = |v: Vec<Vec<&str>>| -> ArrayRef {
        let lens: Vec<usize> = v.iter().map(Vec::len).collect();
        let values = text(v.into_iter().flatten().collect());
        let offsets = arrow_buffer::OffsetBuffer::from_lengths(lens);
        Arc::new(ListArray::new(
            Arc::new(Field::new("element", DataType::Utf8, true)),
            offsets,
            values,
            None,
        ))
    };
    let users = vec!["u1", "u2", "u3"];
    let batch = RecordBatch::try_from_iter([
        ("user_id", text(users)),
        (
            "item_ids",
            list(vec![
                vec!["sku-1", "sku-3", "sku-3"],
                vec!["", "", "sku-2", "sku-2"],
                vec!["sku-1"],
            ]),
        ),
        (
            "kinds",
            list(vec![
                vec!["view", "cart", "purchase"],
                vec!["search", "category", "view", "purchase"],
                vec!["purchase"],
            ]),
        ),
        (
            "queries",
            list(vec![
                vec!["", "", ""],
                vec!["trail shoes", "", "", ""],
                vec![""],
            ]),
        ),
        (
            "categories",
            list(vec![
                vec!["", "", ""],
                vec!["", "hiking/boots", "", ""],
                vec![""],
            ]),
        ),
        ("timestamps", {
            let v: Vec<f64> = vec![10., 20., 30., 5., 6., 7., 8., 1.];
            let offsets = arrow_buffer::OffsetBuffer::from_lengths([3, 4, 1]);
            Arc::new(ListArray::new(
                Arc::new(Field::new("element", DataType::Float64, true)),
                offsets,
                Arc::new(Float64Array::from(v)),
                None,
            )) as ArrayRef
        }),
    ])
    .unwrap();
    let path = dir.path().join("seq-a.parquet");
    write_parquet(&path, std::slice::from_ref(&batch), 2);
    let ds = data::load(&path, Format::SeqParquet, false).unwrap();
    assert_eq!(summary(&ds), want);
    // The same user in two shards is an error that names the second row.
    write_parquet(&dir.path().join("seq-b.parquet"), &[batch.slice(0, 1)], 2);
    let msg = data::load(&dir.path().join("seq-*.parquet"), Format::SeqParquet, false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("seq-b.parquet:1:") && msg.contains("\"u1\" has a second row"),
        "{msg}"
    );
}

/// `localrec prepare`'s output: the log grouped by user, one row each, reads back as the same
/// log (users in order, events with their kinds, items, texts and timestamps), across row
/// groups.
#[test]
fn written_sequences_read_back_as_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = csv_log(dir.path());
    let path = dir.path().join("prepared.parquet");
    let users = localrec::train::parquet::write_sequences(&log, &path, 2).unwrap();
    assert_eq!(users, 3);
    let back = data::load(&path, Format::SeqParquet, false).unwrap();
    assert_eq!(back.logs(), log.logs());
    assert_eq!(back.event_count(), rows().len());
}
