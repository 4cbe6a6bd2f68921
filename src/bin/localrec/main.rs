//! `localrec`: train, evaluate, inspect and quantise models; generate a synthetic shop.
//! One module per subcommand; the work itself is in the library (`localrec::train::pipeline`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod data_args;
mod eval;
mod inspect;
mod prepare;
mod random_model;
mod recommend;
mod shard;
mod synth;
mod train;

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
    Train(train::TrainArgs),
    /// Evaluate a model file on a log (leave-one-out, full ranking, popularity baseline).
    Eval(eval::EvalArgs),
    /// Rewrite a log (any --format) as sequence Parquet: one row per user, events in time order.
    Prepare(prepare::PrepareArgs),
    /// Generate a synthetic shop: catalog.json, events.csv, offers.json.
    Synth(synth::SynthArgs),
    /// Print a model file's header as JSON.
    Inspect {
        /// The model file.
        file: PathBuf,
    },
    /// Rewrite a model file of an earlier format version as the newest one (the same weights,
    /// bit for bit; the per-item lists in binary, which the browser reads several times faster).
    Upgrade {
        /// The model file to read.
        file: PathBuf,
        /// Where to write the upgraded file (may be FILE itself).
        #[arg(short, long)]
        output: PathBuf,
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
    RandomModel(random_model::RandomModelArgs),
    /// Split a model into a core (the most popular items) and per-category shards the browser
    /// fetches when the shopper opens a category.
    Shard(shard::ShardArgs),
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

fn main() -> Result<()> {
    // matrixmultiply (burn-ndarray's matrix products) runs each large product on as many threads
    // as the machine has cores, whatever `--threads` says and on top of the rayon workers
    // `--threads` sizes (when it also ran the loss's products, `--threads 1` used every core and
    // `--threads 2` ran four threads on two). One thread per product makes `--threads` the
    // number of cores a run uses (set MATMUL_NUM_THREADS to override).
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // SAFETY: main has started no thread yet, so nothing reads the environment meanwhile.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", "1") };
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Prepare(a) => prepare::run(a),
        Command::Inspect { file } => inspect::run(&file),
        Command::Upgrade { file, output } => inspect::upgrade(&file, &output),
        Command::Recommend { model, history, k } => recommend::run(&model, &history, k),
        Command::Golden { model, histories } => recommend::golden(&model, &histories),
        Command::RandomModel(a) => random_model::run(a),
        Command::Shard(a) => shard::run(a),
    }
}
