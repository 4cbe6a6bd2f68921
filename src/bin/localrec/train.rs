//! `localrec train`: the arguments, mapped onto the library's [`TrainJob`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use localrec::format::pq::ItemTable;
use localrec::model::{BlockLayout, Positions};
use localrec::train::pipeline::{ModelSettings, TrainJob, run_train};
use localrec::train::{Backend, NegativeSharing, TrainOptions};

use crate::data_args::DataArgs;

#[derive(Clone, Copy, ValueEnum)]
pub enum SharingArg {
    Batch,
    Sequence,
    Position,
}

/// [`BlockLayout`]'s choices on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    PreNorm,
    Sasrec,
}

impl From<BlockLayout> for LayoutArg {
    fn from(l: BlockLayout) -> Self {
        match l {
            BlockLayout::PreNorm => LayoutArg::PreNorm,
            BlockLayout::Sasrec => LayoutArg::Sasrec,
        }
    }
}

impl From<LayoutArg> for BlockLayout {
    fn from(a: LayoutArg) -> Self {
        match a {
            LayoutArg::PreNorm => BlockLayout::PreNorm,
            LayoutArg::Sasrec => BlockLayout::Sasrec,
        }
    }
}

/// `--positions`: how events are numbered for the position table.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PositionsArg {
    FromNewest,
    FromOldest,
    Relative,
}

impl From<PositionsArg> for Positions {
    fn from(a: PositionsArg) -> Self {
        match a {
            PositionsArg::FromNewest => Positions::FromNewest,
            PositionsArg::FromOldest => Positions::FromOldest,
            PositionsArg::Relative => Positions::Relative,
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
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
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    seed: u64,
    #[arg(long, default_value_t = ModelSettings::default().d_model)]
    d_model: usize,
    #[arg(long, default_value_t = ModelSettings::default().layers)]
    layers: usize,
    #[arg(long, default_value_t = ModelSettings::default().heads)]
    heads: usize,
    #[arg(long, default_value_t = ModelSettings::default().max_len)]
    max_len: usize,
    /// Dropout on embeddings, attention weights and inside and after the feed-forward (training
    /// only; never on the item table the loss scores against).
    #[arg(long, default_value_t = ModelSettings::default().dropout)]
    dropout: f64,
    /// Block arrangement: sasrec (the original SASRec code's) or pre-norm (GPT-2 style).
    #[arg(long, value_enum, default_value_t = LayoutArg::from(ModelSettings::default().layout))]
    layout: LayoutArg,
    /// Positions: relative (a learned attention bias by distance, nothing added to the input;
    /// the default: the browser then computes only each new event), from-newest (a learned
    /// table added to the input, the newest event reading its last row; the default before
    /// format version 6) or from-oldest (the window's oldest event reads row 0).
    #[arg(long, value_enum, default_value_t = PositionsArg::Relative)]
    positions: PositionsArg,
    /// Sampled-softmax negatives; 0 trains with full cross-entropy. Default: full cross-entropy
    /// for catalogues up to 20,000 items (better on Beauty), 256 sampled negatives above.
    #[arg(long)]
    negatives: Option<usize>,
    /// One set of negatives per sequence, one per position, or one shared by the whole batch.
    #[arg(long, value_enum, default_value_t = SharingArg::Sequence)]
    negative_sharing: SharingArg,
    /// With sampled negatives, update the whole item table with Adam every step (slower at large
    /// catalogues) instead of only the rows the step reads (lazy Adam, the default).
    #[arg(long)]
    dense_item_adam: bool,
    /// How the shipped model stores the item table: int8; int4 (about half the bytes per item;
    /// on Beauty 0.8% of test NDCG@10); or rqM, M one-byte residual codes per item with the
    /// --exact-head most popular items int8, the codebooks then fine-tuned through the codes
    /// (rq12 with 2% exact: 12 bytes per item, on Beauty 1.4%). Default: int8 up to 20,000
    /// items, int4 up to 100,000, rq12 above.
    #[arg(long)]
    item_table: Option<ItemTable>,
    /// With residual codes (`--item-table rqM`, the default above 100,000 items): the most
    /// popular items stored whole (default: 2% of the catalogue). Int8 and int4 tables store
    /// every item whole.
    #[arg(long)]
    exact_head: Option<usize>,
    /// With residual codes: fine-tuning epochs at most (patience 5; none start after
    /// --time-limit-min).
    #[arg(long, default_value_t = TrainOptions::default().finetune_epochs)]
    finetune_epochs: usize,
    /// With residual codes: histories a fine-tuning epoch trains on, a fresh sample each
    /// epoch when the log has more (0: all; only the codebooks and exact rows learn).
    #[arg(long, default_value_t = TrainOptions::default().finetune_histories)]
    finetune_histories: usize,
    /// Adam's L2 weight decay.
    #[arg(long, default_value_t = TrainOptions::default().weight_decay)]
    weight_decay: f64,
    /// Loss weight of the positions right after a purchase (what the shopper turns to once they
    /// have bought): above 1 teaches cross-selling harder. Only event logs have purchases.
    #[arg(long, default_value_t = TrainOptions::default().purchase_weight)]
    purchase_weight: f64,
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    batch_size: usize,
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    lr: f64,
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    epochs: usize,
    /// Early stopping: epochs without a better validation NDCG@10.
    #[arg(long, default_value_t = TrainOptions::default().patience)]
    patience: usize,
    /// Users validated after each epoch: a seeded sample of this many when there are more
    /// (0 = every user).
    #[arg(long, default_value_t = TrainOptions::default().validation_users)]
    validation_users: usize,
    /// Users ranked for the final test figures: a seeded sample of this many when there are
    /// more (0 = every user, the default; the report says how many of how many).
    #[arg(long, default_value_t = TrainOptions::default().test_users)]
    test_users: usize,
    /// Wall-clock budget for training, in minutes (with residual codes, no fine-tuning epoch
    /// starts after it either, counted from the start of the run). None by default: early
    /// stopping on validation NDCG@10 (`--patience`) ends a run, whatever the machine.
    #[arg(long)]
    time_limit_min: Option<f64>,
    /// Hash buckets for search-query tokens.
    #[arg(long, default_value_t = ModelSettings::default().query_buckets)]
    query_buckets: usize,
    /// Item-only ablation: ignore search events and event types.
    #[arg(long)]
    no_search: bool,
    /// Worker threads for the CPU backend and the loss (default: every core).
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
    /// Continue an interrupted run from DIR/checkpoint.lrec, exactly where it stopped (weights,
    /// Adam's state, the epoch's shuffles and negatives, the best model and curve so far).
    #[arg(long)]
    resume: bool,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// The CPU backend to train on: flex (burn 0.22's recommended one, faster) or ndarray.
    #[arg(long, value_enum, default_value_t = BackendArg::Flex)]
    backend: BackendArg,
    /// Where to train: the CPU (with `--backend`), or a GPU through burn's wgpu runtime, on the
    /// graphics API it prefers (wgpu) or pinned to Vulkan, or burn's CUDA runtime. GPUs need a
    /// build with `--features gpu` (CUDA: `--features cuda`).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
}

/// `--device`'s choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Wgpu,
    Vulkan,
    Cuda,
}

/// [`Backend`]'s choices on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Flex,
    Ndarray,
}

pub fn run(a: TrainArgs) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.max(1))
        .build_global()
        .context("cannot start worker threads")?;
    let backend = match (a.device, a.backend) {
        (DeviceArg::Cpu, BackendArg::Flex) => Backend::Flex,
        (DeviceArg::Cpu, BackendArg::Ndarray) => Backend::NdArray,
        (_, BackendArg::Ndarray) => {
            anyhow::bail!(
                "--backend chooses the CPU backend; it cannot be combined with a GPU --device"
            )
        }
        (DeviceArg::Wgpu, _) => Backend::Wgpu,
        (DeviceArg::Vulkan, _) => Backend::Vulkan,
        (DeviceArg::Cuda, _) => Backend::Cuda,
    };
    let job = TrainJob {
        data: a.data.source(),
        out: a.out,
        attributes: a.attributes,
        catalog: a.catalog,
        model: ModelSettings {
            d_model: a.d_model,
            layers: a.layers,
            heads: a.heads,
            max_len: a.max_len,
            dropout: a.dropout,
            layout: a.layout.into(),
            positions: a.positions.into(),
            query_buckets: a.query_buckets,
            no_search: a.no_search,
        },
        options: TrainOptions {
            epochs: a.epochs,
            batch_size: a.batch_size,
            learning_rate: a.lr,
            negatives: a.negatives,
            negative_sharing: match a.negative_sharing {
                SharingArg::Batch => NegativeSharing::Batch,
                SharingArg::Sequence => NegativeSharing::Sequence,
                SharingArg::Position => NegativeSharing::Position,
            },
            dense_item_adam: a.dense_item_adam,
            item_table: a.item_table,
            exact_head: a.exact_head,
            finetune_epochs: a.finetune_epochs,
            finetune_histories: a.finetune_histories,
            weight_decay: a.weight_decay,
            purchase_weight: a.purchase_weight,
            patience: a.patience,
            validation_users: a.validation_users,
            test_users: a.test_users,
            seed: a.seed,
            time_limit: a.time_limit_min.map(|m| Duration::from_secs_f64(m * 60.0)),
            progress: !a.quiet,
            backend,
        },
        threads: a.threads,
        resume: a.resume,
    };
    let report = run_train(&job)?;
    println!("{}", serde_json::to_string_pretty(&report["test"])?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use localrec::format::quant::Encoding;
    use localrec::model::SeqRecConfig;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    /// The CLI's defaults are the library's: `SeqRecConfig` for the model, `TrainOptions` for the
    /// optimisation. There is no default wall-clock limit: early stopping ends a default run.
    #[test]
    fn defaults_are_the_librarys() {
        let a = Cli::try_parse_from(["localrec", "--data", "log", "--format", "seq", "--out", "o"])
            .unwrap()
            .train;
        let (c, o) = (SeqRecConfig::new(1), TrainOptions::default());
        assert_eq!(
            (a.d_model, a.layers, a.heads, a.max_len, a.dropout),
            (c.d_model, c.layers, c.heads, c.max_len, c.dropout)
        );
        assert_eq!(
            (
                a.batch_size,
                a.lr,
                a.epochs,
                a.patience,
                a.seed,
                a.validation_users,
                a.test_users
            ),
            (
                o.batch_size,
                o.learning_rate,
                o.epochs,
                o.patience,
                o.seed,
                o.validation_users,
                o.test_users
            )
        );
        assert_eq!((a.negatives, o.negatives), (None, None));
        assert_eq!(
            (a.weight_decay, a.purchase_weight),
            (o.weight_decay, o.purchase_weight)
        );
        assert!(a.time_limit_min.is_none() && o.time_limit.is_none());
        assert_eq!(BlockLayout::from(a.layout), c.layout);
        assert_eq!(
            o.negatives_for(12_101),
            0,
            "full cross-entropy on a Beauty-sized catalogue"
        );
        assert_eq!(o.negatives_for(100_000), 256);
        assert_eq!(a.item_table, None);
        assert_eq!(
            o.item_table_for(12_101),
            ItemTable::Quantized(Encoding::Int8)
        );
        assert_eq!(
            o.item_table_for(100_000),
            ItemTable::Quantized(Encoding::Int4)
        );
        assert_eq!(o.item_table_for(100_001), ItemTable::Rq(12));
        assert_eq!((o.exact_head_for(12_101), o.exact_head_for(10)), (242, 1));
    }
}
