//! `localrec`: train, evaluate, inspect and quantise models; generate a synthetic shop.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use localrec::event::EventKind;
use localrec::format::{self, Artefact, ArtefactParts};
use localrec::model::SeqRecConfig;
use localrec::runtime::{Engine, RecommendOptions, StoredEvent};
use localrec::train::data::{self, Format};
use localrec::train::{
    self, NegativeSharing, PrepareOptions, Prepared, Resume, Scores, Split, TrainOptions,
};

/// Largest catalogue trained with full cross-entropy by default. On Beauty (12,101 items, dropout
/// 0.2, Xavier-normal embeddings) it reached validation NDCG@10 0.061 in 28 epochs against 0.060
/// for 256 sampled negatives (test 0.0486 vs 0.0485), but took 28 minutes where sampling needed
/// about 10. Its time and memory grow with the catalogue (a batch of 128 x 50 positions holds
/// 6,400 x items logits: 0.5 GB at 20,000 items), so larger shops sample.
const FULL_SOFTMAX_MAX_ITEMS: usize = 20_000;

#[derive(Parser)]
#[command(
    name = "localrec",
    version,
    about = "Train, evaluate and ship on-device recommendation models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a log and write DIR/model.lrec, DIR/report.json and DIR/report.html.
    Train(TrainArgs),
    /// Evaluate a model file on a log (leave-one-out, full ranking, popularity baseline).
    Eval(EvalArgs),
    /// Generate a synthetic shop: catalog.json, events.csv, offers.json.
    Synth(SynthArgs),
    /// Print a model file's header as JSON.
    Inspect {
        /// The model file.
        file: PathBuf,
    },
    /// Refresh a model's golden top-10 file (histories in, top-10 and scores written back).
    #[command(hide = true)]
    Golden {
        #[arg(long)]
        model: PathBuf,
        /// JSON array of {"history": [events]}; rewritten with "top10" and "scores".
        #[arg(long)]
        histories: PathBuf,
    },
    /// Write a model with random weights and a synthetic catalogue of N items, for timing
    /// (benchmarks, load tests); its recommendations mean nothing.
    RandomModel(RandomModelArgs),
    /// Recommend from the shell for a comma-separated history of item ids.
    Recommend {
        #[arg(long)]
        model: PathBuf,
        /// Item ids, oldest first, e.g. "sku-1,sku-7".
        #[arg(long)]
        history: String,
        #[arg(short, long, default_value_t = 10)]
        k: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SharingArg {
    Batch,
    Sequence,
    Position,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Seq,
    Events,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Seq => Format::Seq,
            FormatArg::Events => Format::Events,
        }
    }
}

#[derive(Args)]
struct DataArgs {
    /// The log: `seq` (one user per line) or `events` (CSV/JSONL).
    #[arg(long)]
    data: PathBuf,
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Skip malformed lines (counted and reported) instead of stopping at the first.
    #[arg(long)]
    skip_bad_lines: bool,
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Item attributes, `{"item": [attr, ...]}`.
    #[arg(long)]
    attributes: Option<PathBuf>,
    /// Catalogue (JSON or CSV: item_id, title, category, brand, price, in_stock).
    #[arg(long)]
    catalog: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 64)]
    d_model: usize,
    #[arg(long, default_value_t = 1)]
    layers: usize,
    #[arg(long, default_value_t = 1)]
    heads: usize,
    #[arg(long, default_value_t = 50)]
    max_len: usize,
    /// Dropout on embeddings, attention weights and outputs, inside the feed-forward and on the
    /// item table the loss scores against (training only).
    #[arg(long, default_value_t = 0.2)]
    dropout: f64,
    /// Sampled-softmax negatives; 0 trains with full cross-entropy. Default: full cross-entropy
    /// for catalogues up to 20,000 items (better on Beauty), 256 sampled negatives above.
    #[arg(long)]
    negatives: Option<usize>,
    /// One set of negatives per sequence, one per position, or one shared by the whole batch.
    #[arg(long, value_enum, default_value_t = SharingArg::Sequence)]
    negative_sharing: SharingArg,
    /// Adam's L2 weight decay.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Loss weight of the positions right after a purchase (what the shopper turns to once they
    /// have bought): above 1 teaches cross-selling harder. Only event logs have purchases.
    #[arg(long, default_value_t = 1.0)]
    purchase_weight: f64,
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Early stopping: epochs without a better validation NDCG@10.
    #[arg(long, default_value_t = 10)]
    patience: usize,
    /// Wall-clock budget for training, in minutes.
    #[arg(long, default_value_t = 25.0)]
    time_limit_min: f64,
    /// Hash buckets for search-query tokens.
    #[arg(long, default_value_t = 2048)]
    query_buckets: usize,
    /// Item-only ablation: ignore search events and event types.
    #[arg(long)]
    no_search: bool,
    /// Worker threads for the CPU backend.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Continue from DIR/checkpoint.lrec (weights and curve; Adam's moments restart).
    #[arg(long)]
    resume: bool,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct RandomModelArgs {
    /// Catalogue size.
    #[arg(long)]
    items: usize,
    #[arg(long, default_value_t = 64)]
    d_model: usize,
    #[arg(long, default_value_t = 2)]
    layers: usize,
    #[arg(long, default_value_t = 1)]
    heads: usize,
    #[arg(long, default_value_t = 50)]
    max_len: usize,
    /// Hash buckets for search-query tokens (0: item events only).
    #[arg(long, default_value_t = 0)]
    query_buckets: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The model file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct EvalArgs {
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Print one JSON object (the default prints the same object, pretty).
    #[arg(long)]
    json: bool,
    /// Also evaluate offer targeting with these offers (`offers.json` of `localrec synth`; the
    /// model needs a catalogue): how often the top offer applies to the held-out purchase.
    #[arg(long)]
    offers: Option<PathBuf>,
}

#[derive(Args)]
struct SynthArgs {
    #[arg(long, default_value_t = 2000)]
    items: usize,
    #[arg(long, default_value_t = 10000)]
    shoppers: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(a) => run_train(a),
        Command::Eval(a) => run_eval(a),
        Command::Synth(a) => run_synth(a),
        Command::Inspect { file } => run_inspect(&file),
        Command::Recommend { model, history, k } => run_recommend(&model, &history, k),
        Command::Golden { model, histories } => run_golden(&model, &histories),
        Command::RandomModel(a) => run_random_model(a),
    }
}

fn set_threads(n: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n.max(1))
        .build_global()
        .context("cannot start worker threads")
}

fn load_data(a: &DataArgs) -> Result<data::Dataset> {
    let ds = data::load(&a.data, a.format.into(), a.skip_bad_lines)?;
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

fn read_model(path: &Path) -> Result<Artefact> {
    Ok(read_model_bytes(path)?.0)
}

/// The checked artefact and the file's bytes (for an [`Engine`], which checks them itself).
fn read_model_bytes(path: &Path) -> Result<(Artefact, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let artefact =
        format::read(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
    Ok((artefact, bytes))
}

fn overlap(a: &[Vec<u32>], b: &[Vec<u32>]) -> f64 {
    let total: usize = a.iter().map(Vec::len).sum();
    let shared: usize = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.iter().filter(|i| y.contains(i)).count())
        .sum();
    shared as f64 / total.max(1) as f64
}

fn run_train(a: TrainArgs) -> Result<()> {
    set_threads(a.threads)?;
    let wall = Instant::now();
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let ds = load_data(&a.data)?;
    let attributes = a
        .attributes
        .as_deref()
        .map(data::load_attributes)
        .transpose()?;
    let catalog = a.catalog.as_deref().map(data::load_catalog).transpose()?;
    let prepared = train::prepare(
        &ds,
        &PrepareOptions {
            query_buckets: if a.no_search { 0 } else { a.query_buckets },
            max_query_tokens: 6,
            attributes: attributes.as_ref(),
            catalog: catalog.as_ref(),
            vocab: None,
            items_only: a.no_search,
        },
    )?;
    let kinds: std::collections::HashSet<EventKind> = ds
        .users
        .iter()
        .flat_map(|u| u.events.iter().map(|e| e.kind))
        .collect();
    let config = SeqRecConfig::new(prepared.vocab.len())
        .with_d_model(a.d_model)
        .with_layers(a.layers)
        .with_heads(a.heads)
        .with_max_len(a.max_len)
        .with_dropout(a.dropout)
        .with_query_buckets(if a.no_search || prepared.stats.searches == 0 {
            0
        } else {
            a.query_buckets
        })
        .with_max_query_tokens(6)
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
        .with_event_types(!a.no_search && kinds.len() > 1);
    config.validate()?;
    let opts = TrainOptions {
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.lr,
        negatives: a
            .negatives
            .unwrap_or(if prepared.stats.items <= FULL_SOFTMAX_MAX_ITEMS {
                0
            } else {
                256
            }),
        negative_sharing: match a.negative_sharing {
            SharingArg::Batch => NegativeSharing::Batch,
            SharingArg::Sequence => NegativeSharing::Sequence,
            SharingArg::Position => NegativeSharing::Position,
        },
        weight_decay: a.weight_decay,
        purchase_weight: a.purchase_weight,
        patience: a.patience,
        seed: a.seed,
        time_limit: Some(Duration::from_secs_f64(a.time_limit_min * 60.0)),
        progress: !a.quiet,
    };
    eprintln!(
        "{} users ({} evaluated), {} items, {} events; target = {}",
        prepared.stats.users,
        prepared.stats.evaluated_users,
        prepared.stats.items,
        prepared.stats.events,
        prepared.stats.target
    );
    let checkpoint = a.out.join("checkpoint.lrec");
    let resume = if a.resume {
        Some(load_checkpoint(&checkpoint, &config)?)
    } else {
        None
    };
    let items = prepared.vocab.ids().to_vec();
    let popularity = prepared.popularity[1..].to_vec();
    let attrs_out: Vec<Vec<u32>> = prepared.item_attrs.iter().skip(1).cloned().collect();
    let catalog_out: Option<Vec<_>> = prepared.catalog.as_ref().map(|c| c[1..].to_vec());
    let parts =
        |weights: &localrec::model::Weights, provenance: serde_json::Value, quantize: bool| {
            format::write(&ArtefactParts {
                config: &config,
                items: &items,
                popularity: &popularity,
                attributes: &attrs_out,
                catalog: catalog_out.as_deref(),
                weights,
                provenance,
                quantize,
            })
        };
    let trained = train::train(
        &config,
        &prepared,
        &opts,
        resume,
        |best, curve, best_epoch| {
            let bytes = parts(
                &best.to_weights()?,
                json!({"curve": curve, "best_epoch": best_epoch}),
                false,
            )?;
            // Written aside and renamed, so an interrupted run never leaves half a checkpoint.
            let partial = checkpoint.with_extension("lrec.partial");
            std::fs::write(&partial, bytes).map_err(|e| localrec::Error::io(&partial, e))?;
            std::fs::rename(&partial, &checkpoint).map_err(|e| localrec::Error::io(&checkpoint, e))
        },
    )?;
    eprintln!("{}; best epoch {}", trained.stopped, trained.best_epoch);

    // Final evaluation: f32, int8 (the shipped file, read back), popularity; same cases.
    let test = train::cases(&prepared, Split::Test);
    let f32_eval = train::evaluate(&trained.model, &config, &prepared.item_attrs, &test, true)?;
    let pop_eval = train::evaluate_popularity(&prepared.popularity, &test)?;
    let weights = trained.model.to_weights()?;
    let provisional = parts(&weights, serde_json::Value::Null, true)?;
    let shipped = format::read(&provisional)?;
    let int8_model = shipped.model(&localrec::cpu_device())?;
    let int8_eval = train::evaluate(&int8_model, &config, &prepared.item_attrs, &test, true)?;
    let f32_scores = Scores::from(&f32_eval.metrics);
    let int8_scores = Scores::from(&int8_eval.metrics);
    let pop_scores = Scores::from(&pop_eval.metrics);
    let report = json!({
        "localrec": localrec::version(),
        "protocol": "leave-one-out; full ranking over the whole catalogue; items in the input history excluded; popularity baseline in the same run",
        "data": {"file": a.data.data.display().to_string(), "format": format!("{:?}", Format::from(a.data.format)), "stats": prepared.stats},
        "config": config,
        "training": {
            "options": opts,
            "threads": a.threads,
            "best_epoch": trained.best_epoch,
            "stopped": trained.stopped,
            "train_seconds": trained.train_seconds,
            "sequences_per_second": trained.sequences_per_second,
            "curve": trained.curve,
        },
        "test": {
            "users": f32_eval.metrics.users,
            "f32": f32_scores,
            "int8": int8_scores,
            "popularity": pop_scores,
            "int8_vs_f32_ndcg_relative": (int8_scores.ndcg10 - f32_scores.ndcg10) / f32_scores.ndcg10.max(1e-12),
            "int8_f32_top10_overlap": overlap(&f32_eval.top10, &int8_eval.top10),
        },
        "wall_seconds": wall.elapsed().as_secs_f64(),
    });
    let provenance = json!({
        "trainer": format!("localrec {}", localrec::version()),
        "seed": a.seed,
        "data": a.data.data.file_name().map(|f| f.to_string_lossy().to_string()),
        "test": report["test"],
    });
    let bytes = parts(&weights, provenance, true)?;
    let model_path = a.out.join("model.lrec");
    std::fs::write(&model_path, &bytes)
        .with_context(|| format!("cannot write {}", model_path.display()))?;
    let sha = format::read(&bytes)?.sha256;
    let mut report = report;
    report["model"] = json!({"file": "model.lrec", "bytes": bytes.len(), "sha256": sha});
    std::fs::write(
        a.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(
        a.out.join("report.html"),
        localrec::train::report::html(&trained.curve, &report),
    )?;
    let _ = std::fs::remove_file(&checkpoint);
    println!("{}", serde_json::to_string_pretty(&report["test"])?);
    eprintln!(
        "wrote {} ({} bytes, sha256 {sha})",
        model_path.display(),
        bytes.len()
    );
    Ok(())
}

fn load_checkpoint(path: &Path, config: &SeqRecConfig) -> Result<Resume> {
    let ckpt = read_model(path).context("--resume needs the checkpoint of an interrupted run")?;
    if serde_json::to_value(&ckpt.header.config)? != serde_json::to_value(config)? {
        bail!(
            "{} was trained with another configuration; rerun without --resume",
            path.display()
        );
    }
    let device = localrec::cpu_device().autodiff();
    let model = ckpt.model(&device)?;
    let best_model = ckpt.model(&localrec::cpu_device())?;
    let curve = serde_json::from_value(ckpt.header.provenance["curve"].clone())
        .context("checkpoint has no curve")?;
    let best_epoch = ckpt.header.provenance["best_epoch"].as_u64().unwrap_or(0) as usize;
    eprintln!("resuming after epoch {best_epoch} from {}", path.display());
    Ok(Resume {
        model,
        curve,
        best_epoch,
        best_model,
    })
}

fn prepare_for(artefact: &Artefact, ds: &data::Dataset) -> Result<(Prepared, Vec<Vec<u32>>)> {
    let c = &artefact.header.config;
    let vocab = localrec::model::vocab::Vocab::from_ids(artefact.header.items.clone())?;
    let prepared = train::prepare(
        ds,
        &PrepareOptions {
            query_buckets: c.query_buckets,
            max_query_tokens: c.max_query_tokens,
            attributes: None,
            catalog: None,
            vocab: Some(&vocab),
            items_only: !c.event_types && c.query_buckets == 0,
        },
    )?;
    Ok((prepared, artefact.item_attrs()))
}

fn run_eval(a: EvalArgs) -> Result<()> {
    let (artefact, bytes) = read_model_bytes(&a.model)?;
    let ds = load_data(&a.data)?;
    let (prepared, item_attrs) = prepare_for(&artefact, &ds)?;
    let model = artefact.model(&localrec::cpu_device())?;
    let test = train::cases(&prepared, Split::Test);
    let m = train::evaluate(&model, &artefact.header.config, &item_attrs, &test, false)?;
    let pop = train::evaluate_popularity(&artefact.popularity_rows(), &test)?;
    let offers = match &a.offers {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let list: Vec<localrec::runtime::Offer> = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a JSON array of offers", path.display()))?;
            let engine = Engine::load(&bytes, &localrec::cpu_device(), None)?;
            let eval = train::evaluate_offers(&engine, &item_attrs, &test, &list)?;
            serde_json::to_value(eval)?
        }
        None => serde_json::Value::Null,
    };
    let mut out = json!({
        "users": m.metrics.users,
        "hr@10": m.metrics.hr(),
        "ndcg@10": m.metrics.ndcg(),
        "popularity": Scores::from(&pop.metrics),
        "unknown_items": prepared.stats.unknown_items,
        "skipped_lines": prepared.stats.skipped_lines,
        "target": prepared.stats.target,
        "model": {"file": a.model.display().to_string(), "sha256": artefact.sha256},
        "protocol": "leave-one-out, full ranking, history excluded",
    });
    if !offers.is_null() {
        out["offers"] = offers;
    }
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

fn run_synth(a: SynthArgs) -> Result<()> {
    let shop = localrec::train::synth::generate(&localrec::train::synth::SynthConfig {
        items: a.items,
        shoppers: a.shoppers,
        seed: a.seed,
    })?;
    localrec::train::synth::write(&shop, &a.out)?;
    eprintln!(
        "wrote {} items, {} events, {} offers to {}",
        shop.catalog.len(),
        shop.events.len(),
        shop.offers.len(),
        a.out.display()
    );
    Ok(())
}

fn run_inspect(file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (header, payload, sha256) = format::read_header(&bytes)?;
    let out = json!({
        "format_version": format::FORMAT_VERSION,
        "bytes": bytes.len(),
        "payload_bytes": payload.len(),
        "sha256": sha256,
        "config": header.config,
        "items": header.items.len(),
        "first_items": header.items.iter().take(5).collect::<Vec<_>>(),
        "has_catalog": header.catalog.is_some(),
        "has_attributes": !header.attributes.is_empty(),
        "tensors": header.tensors,
        "provenance": header.provenance,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn load_engine(path: &Path) -> Result<Engine> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Engine::load(&bytes, &localrec::cpu_device(), None)
        .with_context(|| format!("cannot load {}", path.display()))
}

fn run_recommend(model_path: &Path, history: &str, k: usize) -> Result<()> {
    let engine = load_engine(model_path)?;
    let mut events = Vec::new();
    for id in history.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let event = StoredEvent {
            kind: EventKind::Purchase,
            item_id: Some(id.to_owned()),
            query: None,
            category: None,
            ts: 0.0,
        };
        events.push(engine.validate(event)?);
    }
    let opts = RecommendOptions {
        k,
        ..RecommendOptions::default()
    };
    for r in engine.recommend_blocking(&events, &opts)? {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}

fn run_golden(model: &Path, histories: &Path) -> Result<()> {
    let engine = load_engine(model)?;
    let text = std::fs::read_to_string(histories)
        .with_context(|| format!("cannot read {}", histories.display()))?;
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    let mut out = Vec::new();
    for case in cases {
        let history: Vec<StoredEvent> = serde_json::from_value(case["history"].clone())?;
        let recs = engine.recommend_blocking(&history, &RecommendOptions::default())?;
        out.push(json!({
            "history": history,
            "top10": recs.iter().map(|r| r.item_id.clone()).collect::<Vec<_>>(),
            "scores": recs.iter().map(|r| r.score).collect::<Vec<_>>(),
        }));
    }
    std::fs::write(histories, serde_json::to_string_pretty(&out)? + "\n")?;
    eprintln!(
        "wrote {} golden cases to {}",
        out.len(),
        histories.display()
    );
    Ok(())
}

fn run_random_model(a: RandomModelArgs) -> Result<()> {
    let config = SeqRecConfig::new(a.items)
        .with_d_model(a.d_model)
        .with_layers(a.layers)
        .with_heads(a.heads)
        .with_max_len(a.max_len)
        .with_query_buckets(a.query_buckets)
        .with_event_types(true);
    let bytes = format::random_model(&config, a.seed)?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, {} items, random weights)",
        a.out.display(),
        bytes.len(),
        a.items
    );
    Ok(())
}
