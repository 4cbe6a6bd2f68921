//! What `localrec train` and `localrec eval` run, callable from code and tests without the CLI:
//! read the log, prepare, train with checkpoints, evaluate f32, int8 and popularity on the same
//! cases, and write `model.lrec`, `report.json` and `report.html`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::catalog::Offer;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::format::coded::CENTROIDS;
use crate::format::pq::ItemTable;
use crate::format::quant::{Encoding, Quantized};
use crate::format::{self, Artefact, ArtefactParts, Storage};
use crate::model::vocab::Vocab;
use crate::model::{BlockLayout, Features, Positions, SeqRecConfig, Weights};
use crate::runtime::Engine;

use super::data::{self, Dataset, Format};
use super::eval::{EvalCase, Scores, Split, cases, evaluate, evaluate_offers, evaluate_popularity};
use super::fit::{Resume, train};
use super::metrics::RankingMetrics;
use super::options::{Backend, TrainOptions};
use super::pq_tune::{PqTuneOptions, fine_tune};
use super::prepare::{PrepareOptions, Prepared, prepare};

/// A log to read.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub path: PathBuf,
    pub format: Format,
    /// Skip malformed lines (counted and reported) instead of stopping at the first.
    pub skip_bad_lines: bool,
}

impl DataSource {
    /// Reads the log; skipped lines are reported on stderr.
    pub fn load(&self) -> Result<Dataset> {
        let ds = data::load(&self.path, self.format, self.skip_bad_lines)?;
        if ds.skipped.count > 0 {
            eprintln!(
                "skipped {} bad line(s) of {}; first:",
                ds.skipped.count, ds.lines
            );
            for e in &ds.skipped.examples {
                eprintln!("  {e}");
            }
        }
        Ok(ds)
    }
}

/// The model settings a training run chooses; the rest of [`SeqRecConfig`] follows from the data.
/// The defaults are [`SeqRecConfig`]'s.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_len: usize,
    pub dropout: f64,
    pub layout: BlockLayout,
    pub positions: Positions,
    /// Hash buckets for search-query tokens.
    pub query_buckets: usize,
    /// Item-only ablation: ignore search events and event types.
    pub no_search: bool,
}

impl Default for ModelSettings {
    fn default() -> Self {
        let c = SeqRecConfig::new(1);
        ModelSettings {
            d_model: c.d_model,
            layers: c.layers,
            heads: c.heads,
            max_len: c.max_len,
            dropout: c.dropout,
            layout: c.layout,
            positions: c.positions,
            query_buckets: DEFAULT_QUERY_BUCKETS,
            no_search: false,
        }
    }
}

/// Hash buckets for query tokens when the log has searches.
pub const DEFAULT_QUERY_BUCKETS: usize = 2048;

/// One training run.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub data: DataSource,
    /// Where `model.lrec`, `report.json`, `report.html` (and, while running, `checkpoint.lrec`) go.
    pub out: PathBuf,
    /// Item attributes, `{"item": [attr, ...]}`.
    pub attributes: Option<PathBuf>,
    /// Catalogue (JSON or CSV: item_id, title, category, brand, price, in_stock).
    pub catalog: Option<PathBuf>,
    pub model: ModelSettings,
    pub options: TrainOptions,
    /// Worker threads (for the report; the caller sizes the pool).
    pub threads: usize,
    /// Continue from `out/checkpoint.lrec`.
    pub resume: bool,
}

/// What `localrec eval --item-table` tries: the item table stored with `encoding`, except the
/// `exact_head` most popular items, which keep the file's int8 rows; with `finetune` epochs
/// (product quantisation only), the model then trained on through the codes
/// ([`super::pq_tune`]).
#[derive(Debug, Clone)]
pub struct TableTrial {
    pub encoding: ItemTable,
    pub exact_head: usize,
    pub finetune: PqTuneOptions,
    /// Also write the model with this item table (residual codes only): the fine-tuned one
    /// when fine-tuning ran, else k-means'.
    pub write_model: Option<PathBuf>,
}

/// [`run_eval`]'s `--item-table` figures: the same model with its item table stored another way
/// (encoded and decoded again, for the history's embeddings and the scores alike), on the same
/// cases, beside the file's own `int8` metrics; with fine-tuning, also the model trained on
/// through the codes ([`super::pq_tune`]).
fn table_trial(
    artefact: &Artefact,
    TableTrial {
        encoding,
        exact_head,
        finetune,
        write_model,
    }: TableTrial,
    data: &Prepared,
    item_attrs: &[Vec<u32>],
    cases: &[EvalCase<'_>],
    int8: &RankingMetrics,
) -> Result<serde_json::Value> {
    let config = &artefact.header.config;
    let (rows, d) = (config.n_items + 1, config.d_model);
    if finetune.epochs > 0 && encoding.codes().is_none() {
        return Err(Error::InvalidArgument(
            "fine-tuning trains through product- or residual-quantisation codes: --item-table \
             pqM or rqM"
                .into(),
        ));
    }
    let mut weights = artefact.weights.clone();
    let table = weights
        .get_mut("item_emb")
        .ok_or_else(|| Error::ModelCorrupt("the model has no item table".into()))?;
    if write_model.is_some() && !matches!(encoding, ItemTable::Rq(_)) {
        return Err(Error::InvalidArgument(
            "a weights file stores residual codes: --item-table rqM to write one".into(),
        ));
    }
    let coding = Instant::now();
    let mut pq = encoding.code(&table.values, rows, d, 42)?;
    let coding_seconds = coding.elapsed().as_secs_f64();
    if let Some(pq) = pq.as_mut().filter(|pq| pq.residual) {
        // The codebooks as a file stores them (int8, a scale per centroid).
        let n = pq.books * CENTROIDS;
        pq.codebooks = Quantized::quantize(&pq.codebooks, n, d, Encoding::Int8).dequantize();
    }
    let stored = match &pq {
        Some(pq) => pq.decode(),
        None => encoding.round_trip(&table.values, rows, d, 42)?,
    };
    // Kept as the file has them: row 0 (padding; the item input of a search), one row, and the
    // `exact_head` most popular items.
    let popularity = artefact.popularity_rows();
    let mut by_popularity: Vec<usize> = (1..rows).collect();
    by_popularity.sort_by_key(|&r| std::cmp::Reverse(popularity[r]));
    let mut head: Vec<usize> = by_popularity.into_iter().take(exact_head).collect();
    head.sort_unstable();
    let mut kept = vec![false; rows];
    kept[0] = true;
    for &r in &head {
        kept[r] = true;
    }
    for ((row, new), kept) in table
        .values
        .chunks_exact_mut(d)
        .zip(stored.chunks_exact(d))
        .zip(kept)
    {
        if !kept {
            row.copy_from_slice(new);
        }
    }
    drop(stored);
    let compact = config.init_with(&crate::cpu_device(), &weights)?;
    drop(weights);
    let e = evaluate(&compact, config, item_attrs, cases, false)?.metrics;
    let relative = |x: f64, base: f64| (x - base) / base.max(1e-12);
    let mut out = json!({
        "encoding": encoding.to_string(),
        "exact_head": head.len(),
        "bytes_per_item": encoding.bytes_per_item(d),
        "shared_bytes": encoding.shared_bytes(d),
        "coding_seconds": coding_seconds,
        "hr@10": e.hr(),
        "ndcg@10": e.ndcg(),
        "ndcg_relative_to_int8": relative(e.ndcg(), int8.ndcg()),
        "hr_relative_to_int8": relative(e.hr(), int8.hr()),
    });
    let Some(pq) = pq else {
        return Ok(out);
    };
    // The model a written file would hold: k-means' codes, or fine-tuning's (which goes on from
    // a model of its own, so k-means' is dropped first: at 500,000 items a model is 128 MB).
    let (model, codebooks, codes) = if finetune.epochs > 0 {
        drop(compact);
        let model = artefact.model(&crate::cpu_device())?;
        let tuned = fine_tune(model, config, &pq, &head, data, item_attrs, &finetune)?;
        let e = evaluate(&tuned.model, config, item_attrs, cases, false)?.metrics;
        out["finetuned"] = json!({
            "options": finetune,
            "best_epoch": tuned.best_epoch,
            "stopped": tuned.stopped,
            "seconds": tuned.seconds,
            "curve": tuned.curve,
            "hr@10": e.hr(),
            "ndcg@10": e.ndcg(),
            "ndcg_relative_to_int8": relative(e.ndcg(), int8.ndcg()),
            "hr_relative_to_int8": relative(e.hr(), int8.hr()),
        });
        (tuned.model, tuned.codebooks, tuned.codes)
    } else {
        let (books, codes) = (pq.codebooks.clone(), pq.codes.clone());
        (compact, books, codes)
    };
    if let Some(path) = write_model {
        let file = write_compact(artefact, &model, &head, &pq, &codebooks, &codes)?;
        write_file(&path, &file)?;
        out["written"] = json!({
            "file": path.display().to_string(),
            "bytes": file.len(),
            "exact_rows": head.len() + 1,
        });
    }
    Ok(out)
}

/// The weights file of `model` with its item table as residual codes: row 0 and the `head`
/// rows (most popular first) stored whole and put first, then every other item in its order
/// with `codes` (`[rows][books]`) over `codebooks`. Ids and per-item fields follow the rows.
fn write_compact(
    artefact: &Artefact,
    model: &crate::model::SeqRec,
    head: &[usize],
    pq: &crate::format::pq::ProductQuantized,
    codebooks: &[f32],
    codes: &[u8],
) -> Result<Vec<u8>> {
    use crate::format::coded::{Codebooks, CodedTable};
    use crate::format::quant::QuantizedMatrix;
    let h = &artefact.header;
    let (rows, d, books) = (pq.rows, pq.cols, pq.books);
    let popularity = artefact.popularity_rows();
    let mut first: Vec<usize> = head.to_vec();
    first.sort_by_key(|&r| (std::cmp::Reverse(popularity[r]), r));
    let mut is_head = vec![false; rows];
    first.iter().for_each(|&r| is_head[r] = true);
    // New row k holds old row order[k].
    let order: Vec<usize> = std::iter::once(0)
        .chain(first.iter().copied())
        .chain((1..rows).filter(|&r| !is_head[r]))
        .collect();
    let mut weights = model.to_weights()?;
    let table = weights
        .get_mut("item_emb")
        .ok_or_else(|| Error::ModelCorrupt("the model has no item table".into()))?;
    let values = std::mem::take(&mut table.values);
    table.values = order
        .iter()
        .flat_map(|&r| values[r * d..(r + 1) * d].iter().copied())
        .collect();
    let exact_values = &table.values[..(head.len() + 1) * d];
    let exact = QuantizedMatrix::quantize(exact_values, head.len() + 1, d);
    let coded_codes: Vec<u8> = order[head.len() + 1..]
        .iter()
        .flat_map(|&r| codes[r * books..(r + 1) * books].iter().copied())
        .collect();
    let coded = CodedTable::new(
        exact,
        std::sync::Arc::new(Codebooks::quantize(books, d, codebooks)?),
        coded_codes,
    )?;
    // Item `i` is table row `i + 1`.
    let items_order: Vec<usize> = order[1..].iter().map(|&r| r - 1).collect();
    let items: Vec<String> = items_order.iter().map(|&i| h.items[i].clone()).collect();
    let popularity: Vec<u32> = items_order.iter().map(|&i| h.popularity[i]).collect();
    let attributes: Vec<Vec<u32>> = if h.attributes.is_empty() {
        Vec::new()
    } else {
        items_order
            .iter()
            .map(|&i| h.attributes[i].clone())
            .collect()
    };
    let catalog: Option<Vec<crate::catalog::ItemMeta>> = h
        .catalog
        .as_ref()
        .map(|c| items_order.iter().map(|&i| c[i].clone()).collect());
    let mut provenance = h.provenance.clone();
    if let Some(fields) = provenance.as_object_mut() {
        fields.insert(
            "item_table".into(),
            json!({
                "encoding": format!("rq{books}"),
                "exact_rows": head.len() + 1,
                "coded_from": artefact.sha256,
            }),
        );
    }
    format::write_coded(
        &ArtefactParts {
            config: &h.config,
            items: &items,
            popularity: &popularity,
            attributes: &attributes,
            catalog: catalog.as_deref(),
            weights: &weights,
            provenance,
            storage: Storage::Quantized {
                item_table: Encoding::Int8,
            },
        },
        &coded,
    )
}

/// Share of each user's top-10 that two evaluations agree on.
fn overlap(a: &[Vec<u32>], b: &[Vec<u32>]) -> f64 {
    let total: usize = a.iter().map(Vec::len).sum();
    let shared: usize = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.iter().filter(|i| y.contains(i)).count())
        .sum();
    shared as f64 / total.max(1) as f64
}

fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// The process's peak resident memory so far (Linux's `VmHWM`; None elsewhere).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// Trains, evaluates and writes the model and its report. Returns the report (`report.json`).
pub fn run_train(job: &TrainJob) -> Result<serde_json::Value> {
    let wall = Instant::now();
    std::fs::create_dir_all(&job.out).map_err(|e| Error::io(&job.out, e))?;
    let ds = job.data.load()?;
    let read_seconds = wall.elapsed().as_secs_f64();
    let log_bytes = ds.heap_bytes();
    let attributes = job
        .attributes
        .as_deref()
        .map(data::load_attributes)
        .transpose()?;
    let catalog = job.catalog.as_deref().map(data::load_catalog).transpose()?;
    let m = &job.model;
    let kinds: HashSet<EventKind> = ds.kinds().iter().copied().collect();
    let has_text = kinds.iter().any(|k| k.is_text());
    // The model's features, settled before the data is mapped: the trainer reads events
    // exactly as the shipped model will.
    let features = Features {
        query_buckets: if m.no_search || !has_text {
            0
        } else {
            m.query_buckets
        },
        max_query_tokens: SeqRecConfig::new(1).max_query_tokens,
        event_types: !m.no_search && kinds.len() > 1,
    };
    let prepared = prepare(
        &ds,
        &PrepareOptions {
            features,
            attributes: attributes.as_ref(),
            catalog: catalog.as_ref(),
            vocab: None,
        },
    )?;
    // The log as read is not needed again: its memory goes before training's is taken.
    drop(ds);
    let prepare_seconds = wall.elapsed().as_secs_f64() - read_seconds;
    let config = SeqRecConfig::new(prepared.vocab.len())
        .with_d_model(m.d_model)
        .with_layers(m.layers)
        .with_heads(m.heads)
        .with_max_len(m.max_len)
        .with_dropout(m.dropout)
        .with_layout(m.layout)
        .with_positions(m.positions)
        .with_query_buckets(features.query_buckets)
        .with_max_query_tokens(features.max_query_tokens)
        .with_n_attributes(prepared.n_attributes)
        .with_max_attributes(
            prepared
                .item_attrs
                .iter()
                .map(Vec::len)
                .max()
                .unwrap_or(0)
                .max(1),
        )
        .with_event_types(features.event_types);
    config.validate()?;
    let opts = job.options.clone();
    eprintln!(
        "{} users ({} evaluated), {} items, {} events; target = {}",
        prepared.stats.users,
        prepared.stats.evaluated_users,
        prepared.stats.items,
        prepared.stats.events,
        prepared.stats.target
    );
    let checkpoint = job.out.join("checkpoint.lrec");
    let resume = if job.resume {
        Some(load_checkpoint(&checkpoint, &config, job.options.backend)?)
    } else {
        None
    };
    let items = prepared.vocab.ids().to_vec();
    let popularity = prepared.popularity[1..].to_vec();
    let attrs_out: Vec<Vec<u32>> = prepared.item_attrs.iter().skip(1).cloned().collect();
    let catalog_out: Option<Vec<_>> = prepared.catalog.as_ref().map(|c| c[1..].to_vec());
    let shipped_table = opts.item_table_for(config.n_items);
    if matches!(shipped_table, ItemTable::Pq(_)) {
        return Err(Error::InvalidArgument(
            "a weights file stores residual codes, not product codes: --item-table rqM".into(),
        ));
    }
    // Residual codes are made from the int8 file, as `eval --write-model` makes them.
    let quantized_table = match shipped_table {
        ItemTable::Quantized(encoding) => encoding,
        ItemTable::Pq(_) | ItemTable::Rq(_) => Encoding::Int8,
    };
    let parts = |weights: &Weights, provenance: serde_json::Value, quantize: bool| {
        format::write(&ArtefactParts {
            config: &config,
            items: &items,
            popularity: &popularity,
            attributes: &attrs_out,
            catalog: catalog_out.as_deref(),
            weights,
            provenance,
            storage: if quantize {
                Storage::Quantized {
                    item_table: quantized_table,
                }
            } else {
                Storage::F32
            },
        })
    };
    let trained = train(&config, &prepared, &opts, resume, |c| {
        // Each file is written aside and renamed, and `checkpoint.lrec`, which names the Adam
        // state and best model it goes with, last: an interrupted run never leaves a
        // checkpoint pointing at a missing or half-written file.
        let epoch = c.curve.len();
        let adam = format!("checkpoint-adam-{epoch}.bpk");
        write_atomic(&job.out.join(&adam), &c.optimizer)?;
        let item_adam = match c.item_optimizer {
            Some(table) => {
                let name = format!("checkpoint-item-adam-{epoch}.bin");
                write_atomic_with(&job.out.join(&name), |f| table.write_state(f))?;
                Some(name)
            }
            None => None,
        };
        let best = format!("checkpoint-best-{}.lrec", c.best_epoch);
        if c.improved || !job.out.join(&best).is_file() {
            let bytes = parts(
                &c.best.to_weights()?,
                json!({"best_epoch": c.best_epoch}),
                false,
            )?;
            write_atomic(&job.out.join(&best), &bytes)?;
        }
        let provenance = json!({
            "curve": c.curve,
            "best_epoch": c.best_epoch,
            "optimizer": adam,
            "item_optimizer": item_adam,
            "best_model": best,
            "param_ids": c.param_ids,
        });
        let bytes = parts(&c.model.to_weights()?, provenance, false)?;
        write_atomic(&checkpoint, &bytes)?;
        let mut keep = vec!["checkpoint.lrec", &adam, &best];
        keep.extend(item_adam.as_deref());
        remove_checkpoint_files(&job.out, &keep)
    })?;
    eprintln!(
        "{}; best epoch {} (validated on {} of {} users)",
        trained.stopped, trained.best_epoch, trained.validation_users.0, trained.validation_users.1
    );

    // Final evaluation: f32, int8 (the shipped file, read back), popularity; same cases.
    let all_test = cases(&prepared, Split::Test);
    let test_of = all_test.len();
    let test = super::fit::seeded_sample(all_test, opts.test_users, opts.seed);
    let f32_eval = evaluate(&trained.model, &config, &prepared.item_attrs, &test, true)?;
    let pop_eval = evaluate_popularity(&prepared.popularity, &test)?;
    let weights = trained.model.to_weights()?;
    // From here on each copy of the model that is not needed goes at once: at 500,000 items
    // each holds a 128 MB table, and residual codes' fine-tuning comes on top.
    drop(trained.model);
    let provisional = parts(&weights, serde_json::Value::Null, true)?;
    let shipped = format::read(&provisional)?;
    drop(provisional);
    let int8_model = shipped.model(&crate::cpu_device())?;
    drop(shipped);
    let int8_eval = evaluate(&int8_model, &config, &prepared.item_attrs, &test, true)?;
    drop(int8_model);
    let f32_scores = Scores::from(&f32_eval.metrics);
    let int8_scores = Scores::from(&int8_eval.metrics);
    let pop_scores = Scores::from(&pop_eval.metrics);
    let mut report = json!({
        "localrec": crate::version(),
        "protocol": "leave-one-out; full ranking over the whole catalogue; items in the input history excluded; popularity baseline in the same run",
        "data": {"file": job.data.path.display().to_string(), "format": format!("{:?}", job.data.format), "stats": prepared.stats},
        "config": config,
        "training": {
            "options": opts,
            "negatives": opts.negatives_for(config.n_items),
            "threads": job.threads,
            "best_epoch": trained.best_epoch,
            "validation_users": trained.validation_users.0,
            "validation_users_of": trained.validation_users.1,
            "stopped": trained.stopped,
            "train_seconds": trained.train_seconds,
            "sequences_per_second": trained.sequences_per_second,
            "curve": trained.curve,
        },
        "test": {
            "users": f32_eval.metrics.users,
            "users_of": test_of,
            "f32": f32_scores,
            "int8": int8_scores,
            "popularity": pop_scores,
            "item_table": shipped_table,
            "int8_vs_f32_ndcg_relative": (int8_scores.ndcg10 - f32_scores.ndcg10) / f32_scores.ndcg10.max(1e-12),
            "int8_f32_top10_overlap": overlap(&f32_eval.top10, &int8_eval.top10),
        },
        "wall_seconds": wall.elapsed().as_secs_f64(),
        "read_seconds": read_seconds,
        "prepare_seconds": prepare_seconds,
        "log_heap_bytes": log_bytes,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    let provenance = json!({
        "trainer": format!("localrec {}", crate::version()),
        "seed": job.options.seed,
        "data": job.data.path.file_name().map(|f| f.to_string_lossy().to_string()),
        "test": report["test"],
    });
    let mut bytes = parts(&weights, provenance, true)?;
    drop(weights);
    let model_path = job.out.join("model.lrec");
    write_file(&model_path, &bytes)?;
    if let ItemTable::Rq(_) = shipped_table {
        // The int8 file just written becomes residual codes, fine-tuned and written in its
        // place; the report gets the figures beside int8's, on the same test users.
        let artefact = format::read(&bytes)?;
        let defaults = PqTuneOptions::default();
        let trial = TableTrial {
            encoding: shipped_table,
            exact_head: opts.exact_head_for(config.n_items),
            finetune: PqTuneOptions {
                epochs: opts.finetune_epochs,
                epoch_histories: opts.finetune_histories,
                purchase_weight: opts.purchase_weight,
                seed: opts.seed,
                deadline: opts.time_limit.map(|limit| wall + limit),
                progress: opts.progress,
                ..defaults
            },
            write_model: Some(model_path.clone()),
        };
        let item_attrs = artefact.item_attrs();
        report["test"]["compact"] = table_trial(
            &artefact,
            trial,
            &prepared,
            &item_attrs,
            &test,
            &int8_eval.metrics,
        )?;
        bytes = std::fs::read(&model_path).map_err(|e| Error::io(&model_path, e))?;
        // Coding and fine-tuning count in the run's time and memory.
        report["wall_seconds"] = json!(wall.elapsed().as_secs_f64());
        report["peak_rss_bytes"] = json!(peak_rss_bytes());
        if let Some(t) = report["test"]["compact"]["finetuned"].as_object() {
            eprintln!(
                "{shipped_table} item table: test NDCG@10 {:.4} ({:+.2}% of int8's)",
                t["ndcg@10"].as_f64().unwrap_or(f64::NAN),
                100.0 * t["ndcg_relative_to_int8"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    let sha = format::read(&bytes)?.sha256;
    report["model"] = json!({"file": "model.lrec", "bytes": bytes.len(), "sha256": sha});
    let pretty = |v: &serde_json::Value| {
        serde_json::to_string_pretty(v).map_err(|e| Error::InvalidArgument(e.to_string()))
    };
    write_file(&job.out.join("report.json"), pretty(&report)?)?;
    write_file(
        &job.out.join("report.html"),
        super::report::html(&trained.curve, &report),
    )?;
    remove_checkpoint_files(&job.out, &[])?;
    eprintln!(
        "wrote {} ({} bytes, sha256 {sha})",
        model_path.display(),
        bytes.len()
    );
    Ok(report)
}

/// Reads a model file.
pub fn read_model(path: &Path) -> Result<(Artefact, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let artefact = format::read(&bytes)?;
    Ok((artefact, bytes))
}

/// Writes a file under a temporary name, then renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| std::io::Write::write_all(f, bytes))
}

/// [`write_atomic`] with the contents written by `write` (straight to the file, for contents
/// too large to hold as one buffer).
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let partial = path.with_extension("partial");
    std::fs::File::create(&partial)
        .and_then(|mut f| write(&mut f))
        .map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))
}

/// Removes the checkpoint files in `dir` (`checkpoint.lrec`, Adam states, best models, and any
/// `.partial` an interrupted write left) but those named in `keep`.
fn remove_checkpoint_files(dir: &Path, keep: &[&str]) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let ours = matches!(name.as_str(), "checkpoint.lrec" | "checkpoint.partial")
            || name.starts_with("checkpoint-adam-")
            || name.starts_with("checkpoint-item-adam-")
            || name.starts_with("checkpoint-best-");
        let file = entry.file_type().is_ok_and(|t| t.is_file());
        if ours && file && !keep.contains(&name.as_str()) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

fn load_checkpoint(path: &Path, config: &SeqRecConfig, backend: Backend) -> Result<Resume> {
    let (ckpt, _) = read_model(path).map_err(|e| {
        Error::InvalidArgument(format!(
            "--resume needs the checkpoint of an interrupted run: {e}"
        ))
    })?;
    let same = serde_json::to_value(&ckpt.header.config).ok() == serde_json::to_value(config).ok();
    if !same {
        return Err(Error::InvalidArgument(format!(
            "{} was trained with another configuration; rerun without --resume",
            path.display()
        )));
    }
    let provenance = &ckpt.header.provenance;
    let corrupt = |what: &str| {
        Error::ModelCorrupt(format!(
            "{} has no {what}; it was written by an older localrec: rerun without --resume",
            path.display()
        ))
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    // Only a bare file name in the same directory (the header is read from disk).
    let sibling = |key: &str| -> Result<std::path::PathBuf> {
        let name = provenance[key].as_str().ok_or_else(|| corrupt(key))?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(corrupt(key));
        }
        Ok(dir.join(name))
    };
    let optimizer_path = sibling("optimizer")?;
    let optimizer = std::fs::read(&optimizer_path).map_err(|e| Error::io(&optimizer_path, e))?;
    let item_optimizer = match provenance.get("item_optimizer") {
        Some(serde_json::Value::String(_)) => {
            let path = sibling("item_optimizer")?;
            Some(std::fs::read(&path).map_err(|e| Error::io(&path, e))?)
        }
        _ => None,
    };
    let (best, _) = read_model(&sibling("best_model")?)?;
    let param_ids: Vec<u64> = serde_json::from_value(provenance["param_ids"].clone())
        .map_err(|_| corrupt("param_ids"))?;
    let curve: Vec<super::EpochLog> =
        serde_json::from_value(provenance["curve"].clone()).map_err(|_| corrupt("curve"))?;
    let best_epoch = provenance["best_epoch"].as_u64().unwrap_or(0) as usize;
    eprintln!(
        "resuming after epoch {} (best so far: epoch {best_epoch}) from {}",
        curve.len(),
        path.display()
    );
    Ok(Resume {
        model: ckpt.model(&backend.device()?.autodiff())?,
        optimizer,
        item_optimizer,
        param_ids,
        curve,
        best_epoch,
        best_model: best.model(&backend.device()?)?,
    })
}

/// Maps a log onto a trained model's vocabulary, featurised as the model reads events (the
/// browser's [`Features::step`]); unknown items are dropped and counted.
pub fn prepare_for(artefact: &Artefact, ds: &Dataset) -> Result<Prepared> {
    let vocab = Vocab::from_ids(artefact.header.items.clone())?;
    prepare(
        ds,
        &PrepareOptions {
            features: artefact.header.config.features(),
            attributes: None,
            catalog: None,
            vocab: Some(&vocab),
        },
    )
}

/// Evaluates a model file on a log: leave-one-out on the test split, full ranking, popularity
/// baseline, and offer targeting when `offers` is given. Returns what `localrec eval` prints.
pub fn run_eval(
    model: &Path,
    data: &DataSource,
    offers: Option<&Path>,
    item_table: Option<TableTrial>,
    test_users: usize,
) -> Result<serde_json::Value> {
    let (artefact, bytes) = read_model(model)?;
    if artefact.header.shards.is_some() {
        // Its other items are in shards: ranking the core alone would understate the model.
        return Err(Error::InvalidArgument(format!(
            "{} is the core of a model split by `localrec shard`: evaluate the model it was split \
             from",
            model.display()
        )));
    }
    let ds = data.load()?;
    let prepared = prepare_for(&artefact, &ds)?;
    let item_attrs = artefact.item_attrs();
    let net = artefact.model(&crate::cpu_device())?;
    let all_test = cases(&prepared, Split::Test);
    let test_of = all_test.len();
    // The trainer's sample for the same count (its default seed): the same users.
    let test = super::fit::seeded_sample(all_test, test_users, TrainOptions::default().seed);
    let m = evaluate(&net, &artefact.header.config, &item_attrs, &test, false)?;
    let pop = evaluate_popularity(&artefact.popularity_rows(), &test)?;
    let mut out = json!({
        "users": m.metrics.users,
        "users_of": test_of,
        "hr@10": m.metrics.hr(),
        "ndcg@10": m.metrics.ndcg(),
        "popularity": Scores::from(&pop.metrics),
        "unknown_items": prepared.stats.unknown_items,
        "skipped_lines": prepared.stats.skipped_lines,
        "target": prepared.stats.target,
        "model": {"file": model.display().to_string(), "sha256": artefact.sha256},
        "protocol": "leave-one-out, full ranking, history excluded",
    });
    if let Some(trial) = item_table {
        out["item_table"] =
            table_trial(&artefact, trial, &prepared, &item_attrs, &test, &m.metrics)?;
    }
    if let Some(path) = offers {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let list: Vec<Offer> = serde_json::from_str(&text).map_err(|e| {
            Error::input(path, e.line(), format!("not a JSON array of offers: {e}"))
        })?;
        let engine = Engine::load(&bytes, &crate::cpu_device(), None)?;
        let eval = evaluate_offers(&engine, &item_attrs, &test, &list)?;
        out["offers"] =
            serde_json::to_value(eval).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    }
    Ok(out)
}
