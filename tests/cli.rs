//! The `localrec` binary driven end to end in a temporary directory.

#![cfg(feature = "train")]

use std::path::Path;
use std::process::{Command, Output};

fn localrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_localrec"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `localrec train` on an events log for one quiet epoch into `out`, with `extra` flags.
fn train_events(log: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--data",
        p(log),
        "--format",
        "events",
        "--out",
        p(out),
        "--epochs",
        "1",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    localrec(&args)
}

/// A log whose figures are worked out by hand. Seq format: the last item of each line is the
/// test target, the one before it the validation target; popularity counts the training events
/// (the rest), so a=3, b=2, c=2, d=e=0 (rows in order of first appearance: a b c d e).
///   u1 a b c | d e   test e, input {a b c d} excluded: only e is left            -> rank 0
///   u2 a b | d c     test c, input {a b d}: c (2) beats e (0)                    -> rank 0
///   u3 a | e d       test d, input {a e}: b (2) and c (2) come first             -> rank 2
///   u4 c | b a       test a, input {c b}: a has the highest count                -> rank 0
/// HR@10 = 1, NDCG@10 = (1 + 1 + 1/log2(4) + 1) / 4 = 0.875.
#[test]
fn eval_figures_match_a_hand_computed_case() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    std::fs::write(&log, "u1 a b c d e\nu2 a b d c\nu3 a e d\nu4 c b a\n").unwrap();
    let out = dir.path().join("model");
    ok(localrec(&[
        "train",
        "--data",
        p(&log),
        "--format",
        "seq",
        "--out",
        p(&out),
        "--epochs",
        "1",
        "--d-model",
        "8",
        "--quiet",
    ]));
    let model = out.join("model.lrec");
    let eval = json(&ok(localrec(&[
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&log),
        "--format",
        "seq",
        "--json",
    ])));
    assert_eq!(eval["users"], 4);
    assert_eq!(eval["popularity"]["hr@10"], 1.0);
    let ndcg = eval["popularity"]["ndcg@10"].as_f64().unwrap();
    assert!((ndcg - 0.875).abs() < 1e-12, "{eval}");
    // The model's own figure lies in what its ranks allow: the target is one of at most 3
    // candidates for every user, so it is always in the top 10 and NDCG@10 >= 1/log2(4).
    assert_eq!(eval["hr@10"], 1.0, "{eval}");
    assert!(eval["ndcg@10"].as_f64().unwrap() >= 0.5, "{eval}");
}

#[test]
fn synth_train_eval_inspect_recommend() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let out = dir.path().join("model");
    ok(localrec(&[
        "synth",
        "--items",
        "200",
        "--shoppers",
        "600",
        "--seed",
        "3",
        "--out",
        p(&shop),
    ]));
    for f in ["catalog.json", "events.csv", "offers.json"] {
        assert!(shop.join(f).is_file(), "synth wrote no {f}");
    }
    let events = shop.join("events.csv");
    let catalog = shop.join("catalog.json");
    let report = ok(localrec(&[
        "train",
        "--data",
        p(&events),
        "--format",
        "events",
        "--catalog",
        p(&catalog),
        "--out",
        p(&out),
        "--epochs",
        "3",
        "--d-model",
        "32",
        "--negatives",
        "64",
        "--quiet",
        "--seed",
        "9",
    ]));
    let test = json(&report);
    for f in ["model.lrec", "report.json", "report.html"] {
        assert!(out.join(f).is_file(), "train wrote no {f}");
    }
    assert!(
        !out.join("checkpoint.lrec").exists(),
        "the checkpoint is removed after a finished run"
    );
    let full: serde_json::Value = json(&std::fs::read_to_string(out.join("report.json")).unwrap());
    assert_eq!(full["training"]["curve"].as_array().unwrap().len(), 3);
    assert!(full["training"]["sequences_per_second"].as_f64().unwrap() > 0.0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("<script"),
        "report.html is self-contained SVG"
    );

    let model = out.join("model.lrec");
    let offers = shop.join("offers.json");
    // `localrec eval` of the shipped file on the shop's log, with more arguments.
    let eval_with = |more: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            p(&model),
            "--data",
            p(&events),
            "--format",
            "events",
        ];
        args.extend_from_slice(more);
        localrec(&args)
    };
    let eval = json(&ok(eval_with(&["--offers", p(&offers), "--json"])));
    assert_eq!(
        eval["users"].as_u64().unwrap(),
        test["users"].as_u64().unwrap()
    );
    let diff =
        (eval["ndcg@10"].as_f64().unwrap() - test["int8"]["ndcg@10"].as_f64().unwrap()).abs();
    assert!(
        diff < 1e-9,
        "eval of the shipped file reproduces the trainer's int8 figure: {eval} vs {test}"
    );
    assert_eq!(
        eval["popularity"], test["popularity"],
        "eval's baseline is the trainer's: same cases, same counts"
    );
    let o = &eval["offers"];
    assert_eq!(
        o["users"], eval["users"],
        "offers are judged on the test users: {o}"
    );
    let (model_hits, popular_hits) = (
        o["hit@1"].as_f64().unwrap(),
        o["hit@1_popularity"].as_f64().unwrap(),
    );
    assert!(
        model_hits > popular_hits && model_hits <= 1.0,
        "the model targets offers better than popularity: {o}"
    );
    assert!(o["hit@1_by_expected_discount"].as_f64().unwrap() <= 1.0);

    // The same ranking with the item table stored another way: int8 again changes nothing;
    // product quantisation of 200 items keeps each in its own centroids (256 per subspace), so it
    // changes nothing either, in 4 bytes per item; int4 reports its size on the same users; an
    // unknown encoding is refused.
    let trial = |encoding: &str, head: &str| {
        json(&ok(eval_with(&[
            "--json",
            "--item-table",
            encoding,
            "--exact-head",
            head,
        ])))
    };
    let same = trial("int8", "0");
    assert_eq!(same["item_table"]["ndcg@10"], same["ndcg@10"], "{same}");
    assert_eq!(same["item_table"]["ndcg_relative_to_int8"], 0.0);
    assert_eq!(same["item_table"]["bytes_per_item"], 32 + 4);
    let pq = trial("pq4", "0");
    assert_eq!(pq["users"], eval["users"]);
    assert_eq!(pq["item_table"]["encoding"], "pq4");
    assert_eq!(pq["item_table"]["bytes_per_item"], 4);
    assert_eq!(pq["item_table"]["shared_bytes"], 256 * 32 * 4);
    let relative = pq["item_table"]["ndcg_relative_to_int8"].as_f64().unwrap();
    assert!(relative.abs() < 1e-3, "{pq}");
    let int4 = trial("int4", "1000");
    assert_eq!(int4["item_table"]["bytes_per_item"], 16 + 4);
    assert_eq!(int4["item_table"]["exact_head"], 200, "at most every item");
    assert_eq!(
        int4["item_table"]["ndcg@10"], int4["ndcg@10"],
        "every item exact"
    );
    let bad = eval_with(&["--item-table", "pq"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected int8, int4, pqM"));
    // Fine-tuning through the codes: it starts from k-means (epoch 0, the plain trial's figures),
    // keeps the best validation epoch of those it ran, and trains only through codes.
    let tuned = json(&ok(eval_with(&[
        "--json",
        "--item-table",
        "pq4",
        "--finetune-epochs",
        "2",
    ])));
    let t = &tuned["item_table"];
    assert_eq!(t["ndcg@10"], pq["item_table"]["ndcg@10"], "{t}");
    let curve = t["finetuned"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 3, "{t}");
    let valid = |e: &serde_json::Value| e["valid"]["ndcg@10"].as_f64().unwrap();
    let best = &curve[t["finetuned"]["best_epoch"].as_u64().unwrap() as usize];
    assert!(curve.iter().all(|e| valid(e) <= valid(best)), "{t}");
    assert!(curve[1]["loss"].as_f64().unwrap().is_finite());
    assert!(t["finetuned"]["ndcg@10"].as_f64().unwrap() > 0.0, "{t}");
    assert!(curve.iter().all(|e| e["reassigned"] == 0), "{t}");
    // An epoch trains on every history (fewer than the default sample), or on a fresh sample
    // of --finetune-histories of them.
    let histories = |e: &serde_json::Value| e["histories"].as_u64().unwrap();
    let all = histories(&curve[1]);
    assert!(
        all > 50 && curve[1..].iter().all(|e| histories(e) == all),
        "{t}"
    );
    let sampled = json(&ok(eval_with(&[
        "--json",
        "--item-table",
        "pq4",
        "--finetune-epochs",
        "1",
        "--finetune-histories",
        "50",
    ])));
    assert_eq!(
        histories(&sampled["item_table"]["finetuned"]["curve"][1]),
        50,
        "{sampled}"
    );
    assert_eq!(
        t["finetuned"]["options"]["table_only"], true,
        "the default: {t}"
    );
    // With the most popular items kept whole (trained as rows, ranked as int8 would store them),
    // items free to change codes after each epoch, every weight learning, and sampled
    // negatives.
    let headed = json(&ok(eval_with(&[
        "--json",
        "--item-table",
        "pq4",
        "--exact-head",
        "50",
        "--finetune-epochs",
        "1",
        "--finetune-reassign",
        "--finetune-whole-model",
        "--finetune-negatives",
        "16",
    ])));
    let h = &headed["item_table"];
    assert_eq!(h["exact_head"], 50);
    // Sampled negatives: each step builds only the rows it reads from their codes.
    assert_eq!(h["finetuned"]["options"]["negatives"], 16, "{h}");
    assert!(
        h["finetuned"]["curve"][1]["loss"]
            .as_f64()
            .unwrap()
            .is_finite(),
        "{h}"
    );
    assert_eq!(h["finetuned"]["options"]["table_only"], false, "{h}");
    let curve = h["finetuned"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 2, "{h}");
    // Whether any of the 150 coded items moves in one epoch depends on the run; that a moved
    // latent row takes the nearest centroids is the unit test's (`pq_tune`).
    assert!(curve[1]["reassigned"].is_u64(), "{h}");
    let refused = eval_with(&["--item-table", "int4", "--finetune-epochs", "1"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--item-table pqM or rqM"));

    let header = json(&ok(localrec(&["inspect", p(&model)])));
    // Every file is written as format version 7 (the per-item lists in binary).
    assert_eq!(header["format_version"], 7);
    assert_eq!(header["config"]["positions"], "relative");
    assert_eq!(header["items"], 200);
    assert_eq!(header["has_catalog"], true);
    assert_eq!(header["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(header["config"]["d_model"], 32);

    let recs = ok(localrec(&[
        "recommend",
        "--model",
        p(&model),
        "--history",
        "sku-001,sku-002",
        "-k",
        "5",
    ]));
    let lines: Vec<serde_json::Value> = recs.lines().map(json).collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines
            .iter()
            .all(|l| l["itemId"] != "sku-001" && l["itemId"] != "sku-002"),
        "history is excluded"
    );
    let unknown = localrec(&["recommend", "--model", p(&model), "--history", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown item id \"nope\""));

    // A tampered file is refused by every command that reads it.
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let bad = dir.path().join("bad.lrec");
    std::fs::write(&bad, &bytes).unwrap();
    let err = localrec(&["inspect", p(&bad)]);
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("checksum mismatch"));
}

/// A synthetic shop of 150 items and 300 shoppers (seed 5) in `dir/shop`, `extra` passed to
/// `localrec synth`.
fn small_shop(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let shop = dir.join("shop");
    let mut args = vec![
        "synth",
        "--items",
        "150",
        "--shoppers",
        "300",
        "--seed",
        "5",
        "--out",
        p(&shop),
    ];
    args.extend_from_slice(extra);
    ok(localrec(&args));
    shop
}

/// The same shop written as events CSV, as the events columns in Parquet and as GA4's BigQuery
/// export (JSON lines) trains to the same model: each format reads as the same log.
#[test]
fn the_same_shop_trains_alike_from_csv_parquet_ga4_and_prepared_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let shop = small_shop(dir.path(), &["--also", "parquet,ga4"]);
    // `localrec prepare`: the CSV log as one row per user, read back with --format seq-parquet.
    let prepared = dir.path().join("sequences.parquet");
    let summary = json(&ok(localrec(&[
        "prepare",
        "--data",
        p(&shop.join("events.csv")),
        "--format",
        "events",
        "--out",
        p(&prepared),
        "--users-per-group",
        "64",
    ])));
    assert_eq!(summary["users"], 300, "{summary}");
    let mut curves = Vec::new();
    for (file, format) in [
        (shop.join("events.csv"), "events"),
        (shop.join("events.parquet"), "parquet"),
        (shop.join("ga4.jsonl"), "ga4"),
        (prepared, "seq-parquet"),
    ] {
        let out = dir.path().join(format);
        ok(localrec(&[
            "train",
            "--data",
            p(&file),
            "--format",
            format,
            "--out",
            p(&out),
            "--epochs",
            "2",
            "--d-model",
            "16",
            "--negatives",
            "32",
            "--quiet",
            "--seed",
            "4",
            "--threads",
            "1",
        ]));
        let report: serde_json::Value =
            json(&std::fs::read_to_string(out.join("report.json")).unwrap());
        let valid: Vec<f64> = report["training"]["curve"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["valid"]["ndcg@10"].as_f64().unwrap())
            .collect();
        curves.push((format, valid, report["test"].clone()));
    }
    assert_eq!(curves[0].1.len(), 2);
    assert!(
        curves[0].2["int8"]["ndcg@10"].as_f64().unwrap() > 0.0,
        "{}",
        curves[0].2
    );
    for (format, valid, test) in &curves[1..] {
        assert_eq!(valid, &curves[0].1, "{format}");
        assert_eq!(test, &curves[0].2, "{format}");
    }
}

#[test]
fn seq_format_with_attributes_and_resume_without_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let data = fixtures.join("beauty-1500.txt");
    let attrs = fixtures.join("beauty-1500-attributes.json");
    let out = dir.path().join("m");
    let args = |epochs: &'static str| {
        vec![
            "train".to_string(),
            "--data".into(),
            p(&data).into(),
            "--format".into(),
            "seq".into(),
            "--attributes".into(),
            p(&attrs).into(),
            "--out".into(),
            p(&out).into(),
            "--epochs".into(),
            epochs.into(),
            "--quiet".into(),
            "--d-model".into(),
            "16".into(),
            "--patience".into(),
            "50".into(),
        ]
    };
    let first: Vec<String> = args("1");
    let out1 = localrec(&first.iter().map(String::as_str).collect::<Vec<_>>());
    ok(out1);
    let report: serde_json::Value =
        json(&std::fs::read_to_string(out.join("report.json")).unwrap());
    assert_eq!(report["data"]["stats"]["users"], 1500);
    assert!(report["config"]["n_attributes"].as_u64().unwrap() > 0);
    let inspect = json(&ok(localrec(&["inspect", p(&out.join("model.lrec"))])));
    assert_eq!(inspect["has_attributes"], true);
    // A finished run removes its checkpoint, so --resume then is a clear error.
    let mut resume = args("2");
    resume.push("--resume".into());
    let err = localrec(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!err.status.success());
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("checkpoint"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
}

#[test]
fn bad_input_stops_with_file_and_line_or_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.csv");
    std::fs::write(&log, "user_id,timestamp,event,item_id,query\nu1,1,view,a,\nu1,2,teleport,b,\nu1,3,purchase,b,\nu1,4,view,c,\nu1,5,purchase,a,\nu1,6,purchase,c,\nu2,1,purchase,a,\nu2,2,view,b,\nu2,3,purchase,b,\nu2,4,purchase,c,\n").unwrap();
    let out = dir.path().join("o");
    let err = train_events(&log, &out, &[]);
    assert!(!err.status.success());
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(
        stderr.contains("events.csv:3: unknown event type \"teleport\""),
        "{stderr}"
    );
    let run = train_events(
        &log,
        &out,
        &["--skip-bad-lines", "--d-model", "8", "--negatives", "2"],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("skipped 1 bad line(s) of 10"), "{stderr}");
}

#[test]
fn random_model_for_timing_loads_and_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("random/model.lrec");
    let write = |out: &Path| {
        ok(localrec(&[
            "random-model",
            "--items",
            "3000",
            "--d-model",
            "32",
            "--layers",
            "2",
            "--out",
            p(out),
        ]))
    };
    write(&model);
    let header = json(&ok(localrec(&["inspect", p(&model)])));
    assert_eq!(header["items"], 3000);
    assert_eq!(header["config"]["layers"], 2);
    assert_eq!(header["config"]["d_model"], 32);
    let recs = ok(localrec(&[
        "recommend",
        "--model",
        p(&model),
        "--history",
        "item-5,item-9",
    ]));
    assert_eq!(recs.lines().count(), 10);
    // The same seed writes the same file.
    let again = dir.path().join("again.lrec");
    write(&again);
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

/// `--item-table int4` ships the item table in int4 (format version 2), which `inspect`, `eval`
/// and `recommend` read; `random-model` picks int4 by itself above 20,000 items.
#[test]
fn int4_item_tables_train_evaluate_and_rank() {
    let dir = tempfile::tempdir().unwrap();
    let shop = small_shop(dir.path(), &[]);
    let out = dir.path().join("model");
    let events = shop.join("events.csv");
    ok(train_events(
        &events,
        &out,
        &[
            "--d-model",
            "32",
            "--item-table",
            "int4",
            "--test-users",
            "40",
        ],
    ));
    let report = json(&std::fs::read_to_string(out.join("report.json")).unwrap());
    assert_eq!(report["test"]["item_table"], "int4");
    assert_eq!(report["test"]["users"], 40);
    let model = out.join("model.lrec");
    let header = json(&ok(localrec(&["inspect", p(&model)])));
    // int4 alone needs version 2; every file is written as 7.
    assert_eq!(header["format_version"], 7);
    let dtypes: Vec<(&str, &str)> = header["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["dtype"].as_str().unwrap()))
        .collect();
    assert!(dtypes.contains(&("item_emb", "i4")), "{dtypes:?}");
    assert!(dtypes.contains(&("blocks.0.wo", "i8")), "{dtypes:?}");
    let eval = json(&ok(localrec(&[
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&events),
        "--format",
        "events",
        "--json",
        "--test-users",
        "40",
    ])));
    // `eval` reads the shipped file as the trainer's own read-back did, on the same sample of
    // test users: the same figures.
    assert_eq!(eval["users"], 40);
    assert_eq!(eval["users_of"], report["test"]["users_of"]);
    assert!(eval["users_of"].as_u64().unwrap() > 40);
    assert_eq!(eval["ndcg@10"], report["test"]["int8"]["ndcg@10"]);
    let first = std::fs::read_to_string(&events).unwrap();
    let item = first
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .to_owned();
    let recs = ok(localrec(&[
        "recommend",
        "--model",
        p(&model),
        "--history",
        &item,
    ]));
    assert_eq!(recs.lines().count(), 10);
    let large = dir.path().join("large.lrec");
    ok(localrec(&[
        "random-model",
        "--items",
        "20001",
        "--d-model",
        "32",
        "--layers",
        "1",
        "--out",
        p(&large),
    ]));
    let header = json(&ok(localrec(&["inspect", p(&large)])));
    let table = header["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "item_emb");
    assert_eq!(table.unwrap()["dtype"], "i4");
}

/// `localrec shard` on a trained model with a catalogue: a version-3 core that `inspect` and
/// `recommend` read, shards named by their SHA-256, and `eval` refusing the core (it would rank
/// only the popular items).
#[test]
fn a_trained_model_splits_into_a_core_and_category_shards() {
    let dir = tempfile::tempdir().unwrap();
    let shop = small_shop(dir.path(), &[]);
    let out = dir.path().join("model");
    let events = shop.join("events.csv");
    let catalog = shop.join("catalog.json");
    ok(train_events(
        &events,
        &out,
        &["--catalog", p(&catalog), "--d-model", "16"],
    ));
    let site = dir.path().join("site");
    let model = out.join("model.lrec");
    let run = localrec(&[
        "shard",
        "--model",
        p(&model),
        "--out",
        p(&site),
        "--core-items",
        "40",
        "--shard-items",
        "10",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    let core = site.join("model.lrec");
    let header = json(&ok(localrec(&["inspect", p(&core)])));
    // Numbered shard ids alone need version 5; every file is written as 7.
    assert_eq!(header["format_version"], 7);
    assert_eq!(header["items"], 40);
    let whole = json(&ok(localrec(&["inspect", p(&model)])));
    assert_eq!(header["shards"]["catalog_items"], whole["items"]);
    let shards = header["shards"]["shards"].as_u64().unwrap() as usize;
    let files: Vec<_> = std::fs::read_dir(site.join("shards"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), shards);
    for name in &files {
        let bytes = std::fs::read(site.join("shards").join(name)).unwrap();
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(name, &format!("{hex}.lrec"));
    }
    assert!(stderr.contains(&format!("{shards} shards")), "{stderr}");
    let first = header["first_items"][0].as_str().unwrap();
    let recs = ok(localrec(&[
        "recommend",
        "--model",
        p(&core),
        "--history",
        first,
    ]));
    assert_eq!(recs.lines().count(), 10);
    let refused = localrec(&[
        "eval",
        "--model",
        p(&core),
        "--data",
        p(&events),
        "--format",
        "events",
    ]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("localrec shard"), "{why}");
}

/// An interrupted run leaves a checkpoint; `--resume` continues its curve instead of starting over.
#[test]
fn interrupted_training_resumes_from_its_checkpoint() {
    resumes_exactly(&[]);
}

/// The same with sampled negatives, where the item table trains outside burn's optimizer (lazy
/// Adam) and its Adam state is a checkpoint file of its own.
#[test]
fn interrupted_training_with_sampled_negatives_resumes_exactly() {
    resumes_exactly(&["--negatives", "16"]);
}

fn resumes_exactly(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/beauty-1500.txt");
    let out = dir.path().join("m");
    let args = |epochs: &str| -> Vec<String> {
        [
            "train",
            "--data",
            p(&data),
            "--format",
            "seq",
            "--out",
            p(&out),
            "--quiet",
            "--d-model",
            "16",
            "--patience",
            "1000",
            "--epochs",
            epochs,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_localrec"))
        .args(args("1000"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = out.join("checkpoint.lrec");
    let started = std::time::Instant::now();
    // The checkpoint is written (to a temporary name, then renamed) after every epoch.
    while !checkpoint.is_file() {
        assert!(
            started.elapsed().as_secs() < 120,
            "no checkpoint after 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let header = json(&ok(localrec(&["inspect", p(&checkpoint)])));
    let saved = header["provenance"]["curve"].as_array().unwrap().clone();
    assert!(!saved.is_empty());
    let epochs = (saved.len() + 2).to_string();
    let mut resume = args(&epochs);
    resume.push("--resume".into());
    let resumed = localrec(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        String::from_utf8_lossy(&resumed.stderr).contains("resuming"),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    ok(resumed);
    let report = json(&std::fs::read_to_string(out.join("report.json")).unwrap());
    let curve = report["training"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), saved.len() + 2);
    assert_eq!(
        &curve[..saved.len()],
        &saved[..],
        "the saved epochs are kept as they were"
    );
    assert_eq!(curve.last().unwrap()["epoch"], saved.len() as u64 + 2);
    assert!(
        !checkpoint.exists(),
        "a finished run removes its checkpoint"
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("checkpoint"))
        .collect();
    assert!(left.is_empty(), "checkpoint files left: {left:?}");
    // The resumed run continues exactly where the interrupted one stopped (weights, Adam's
    // state, shuffles, negatives, dropout): its epochs are those of a run never interrupted.
    let straight_out = dir.path().join("straight");
    let mut straight = args(&epochs);
    let at = straight.iter().position(|a| a == "--out").unwrap();
    straight[at + 1] = p(&straight_out).to_string();
    ok(localrec(
        &straight.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let uninterrupted = json(&std::fs::read_to_string(straight_out.join("report.json")).unwrap());
    let key = |e: &serde_json::Value| (e["epoch"].clone(), e["loss"].clone(), e["valid"].clone());
    let want: Vec<_> = uninterrupted["training"]["curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    let got: Vec<_> = curve.iter().map(key).collect();
    assert_eq!(got, want);
    assert_eq!(
        report["model"]["sha256"], uninterrupted["model"]["sha256"],
        "the same final model"
    );
}

/// `eval --item-table rqM --write-model` writes the model with its item table as residual codes
/// (format version 4, the --exact-head items whole and first): the file ranks exactly as the
/// trial measured it, and `inspect`, `recommend` and `shard` read it.
#[test]
fn residual_codes_write_a_compact_model_that_evaluates_ranks_and_shards() {
    let dir = tempfile::tempdir().unwrap();
    let shop = small_shop(dir.path(), &[]);
    let out = dir.path().join("model");
    let events = shop.join("events.csv");
    ok(train_events(&events, &out, &["--d-model", "32"]));
    let model = out.join("model.lrec");
    let eval = |model: &Path, more: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            p(model),
            "--data",
            p(&events),
            "--format",
            "events",
            "--json",
        ];
        args.extend_from_slice(more);
        json(&ok(localrec(&args)))
    };
    let compact = dir.path().join("rq.lrec");
    let kmeans = dir.path().join("rq-kmeans.lrec");
    let trial = |write: &Path, epochs: &str| {
        eval(
            &model,
            &[
                "--item-table",
                "rq1",
                "--exact-head",
                "20",
                "--finetune-epochs",
                epochs,
                "--write-model",
                p(write),
            ],
        )
    };
    let tuned = trial(&compact, "1");
    let t = &tuned["item_table"];
    assert_eq!(t["encoding"], "rq1");
    assert_eq!(t["bytes_per_item"], 1);
    assert_eq!(t["written"]["exact_rows"], 21, "{t}");
    assert_eq!(
        t["written"]["bytes"].as_u64().unwrap(),
        std::fs::metadata(&compact).unwrap().len()
    );
    let again = eval(&compact, &[]);
    assert_eq!(again["users"], tuned["users"]);
    assert_eq!(
        again["ndcg@10"], t["finetuned"]["ndcg@10"],
        "the written file ranks as fine-tuning measured it: {again} vs {t}"
    );
    // Without fine-tuning, k-means' codebooks: as the plain trial measured.
    let plain = trial(&kmeans, "0");
    assert_eq!(
        eval(&kmeans, &[])["ndcg@10"],
        plain["item_table"]["ndcg@10"]
    );
    let header = json(&ok(localrec(&["inspect", p(&compact)])));
    // Residual codes alone need version 4; every file is written as 7.
    assert_eq!(header["format_version"], 7);
    let table = header["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "item_emb")
        .unwrap()
        .clone();
    assert_eq!(
        (table["dtype"].as_str(), table["exact"].as_u64()),
        (Some("rq1"), Some(21))
    );
    assert_eq!(header["provenance"]["item_table"]["exact_rows"], 21);
    // The most popular items come first.
    let first = header["first_items"][0].as_str().unwrap().to_owned();
    let recs = ok(localrec(&[
        "recommend",
        "--model",
        p(&compact),
        "--history",
        &first,
    ]));
    assert_eq!(recs.lines().count(), 10);
    let sharded = dir.path().join("sharded");
    let catalog = shop.join("catalog.json");
    ok(localrec(&[
        "shard",
        "--model",
        p(&compact),
        "--out",
        p(&sharded),
        "--catalog",
        p(&catalog),
        "--core-items",
        "20",
    ]));
    let core = json(&ok(localrec(&["inspect", p(&sharded.join("model.lrec"))])));
    // Coded with numbered shards alone needs version 5; every file is written as 7.
    assert_eq!(core["format_version"], 7);
    let refused = localrec(&[
        "shard",
        "--model",
        p(&compact),
        "--out",
        p(&dir.path().join("small")),
        "--catalog",
        p(&catalog),
        "--core-items",
        "10",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--core-items 20"));
    // Product codes are not a file format.
    let pq = localrec(&[
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&events),
        "--format",
        "events",
        "--item-table",
        "pq4",
        "--write-model",
        p(&dir.path().join("pq.lrec")),
    ]);
    assert!(!pq.status.success());
    assert!(String::from_utf8_lossy(&pq.stderr).contains("rqM"));

    // `train --item-table rqM` ships that table: trained, then fine-tuned through the codes,
    // its figures in the report beside int8's, and the file ranks as reported.
    let coded_out = dir.path().join("coded");
    ok(train_events(
        &events,
        &coded_out,
        &[
            "--d-model",
            "32",
            "--item-table",
            "rq1",
            "--exact-head",
            "20",
            "--finetune-epochs",
            "1",
        ],
    ));
    let report = json(&std::fs::read_to_string(coded_out.join("report.json")).unwrap());
    assert_eq!(report["test"]["item_table"], "rq1");
    let c = &report["test"]["compact"];
    assert_eq!(
        (c["encoding"].as_str(), c["exact_head"].as_u64()),
        (Some("rq1"), Some(20))
    );
    let shipped = coded_out.join("model.lrec");
    assert_eq!(
        report["model"]["bytes"],
        std::fs::metadata(&shipped).unwrap().len()
    );
    assert_eq!(
        eval(&shipped, &[])["ndcg@10"],
        c["finetuned"]["ndcg@10"],
        "{c}"
    );
    let header = json(&ok(localrec(&["inspect", p(&shipped)])));
    assert_eq!(header["format_version"], 7); // residual codes need 4; every file is 7

    // With a time limit spent, fine-tuning starts no epoch: the file ships k-means' codes.
    let limited_out = dir.path().join("limited");
    ok(train_events(
        &events,
        &limited_out,
        &[
            "--d-model",
            "32",
            "--item-table",
            "rq1",
            "--finetune-epochs",
            "3",
            "--time-limit-min",
            "0",
        ],
    ));
    let report = json(&std::fs::read_to_string(limited_out.join("report.json")).unwrap());
    let c = &report["test"]["compact"];
    let tuned = &c["finetuned"];
    assert_eq!(tuned["curve"].as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!(tuned["best_epoch"], 0, "{c}");
    assert_eq!(tuned["stopped"], "time limit reached before epoch 1", "{c}");
    assert_eq!(tuned["ndcg@10"], c["ndcg@10"], "{c}");
    assert_eq!(
        eval(&limited_out.join("model.lrec"), &[])["ndcg@10"],
        c["ndcg@10"],
        "{c}"
    );
}

/// A file of an earlier format version loads, and `localrec upgrade` rewrites it as the newest:
/// the fixture is the Beauty model as shipped in format version 6 (its per-item lists JSON
/// arrays in the header); upgraded, it is the shipped version-7 file byte for byte, and both
/// answer alike.
#[test]
fn upgrade_rewrites_an_older_file_as_the_newest_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let old = root.join("tests/fixtures/beauty-model-v6.lrec");
    let shipped = root.join("models/beauty/model.lrec");
    let header = json(&ok(localrec(&["inspect", p(&old)])));
    assert_eq!(header["format_version"], 6);
    assert_eq!(header["items"], 12101);
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("model.lrec");
    ok(localrec(&["upgrade", p(&old), "-o", p(&new)]));
    assert_eq!(
        json(&ok(localrec(&["inspect", p(&new)])))["format_version"],
        7
    );
    assert!(
        std::fs::read(&new).unwrap() == std::fs::read(&shipped).unwrap(),
        "the upgraded file is the shipped one"
    );
    let recommend = |model: &Path| {
        ok(localrec(&[
            "recommend",
            "--model",
            p(model),
            "--history",
            "1,2,3",
            "-k",
            "10",
        ]))
    };
    assert_eq!(recommend(&old), recommend(&new));
    // A damaged file is refused, and nothing is written.
    let mut damaged = std::fs::read(&old).unwrap();
    damaged[100] ^= 1;
    let bad = dir.path().join("bad.lrec");
    std::fs::write(&bad, &damaged).unwrap();
    let out = dir.path().join("never.lrec");
    let refused = localrec(&["upgrade", p(&bad), "-o", p(&out)]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("checksum"));
    assert!(!out.exists());
}
