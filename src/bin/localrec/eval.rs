//! `localrec eval`: a model file on a log, as the browser would rank it.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use localrec::train::pipeline::{TableTrial, run_eval};
use localrec::train::pq_tune::PqTuneOptions;

use crate::data_args::DataArgs;

#[derive(Args)]
pub struct EvalArgs {
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
    /// Also rank with the item table stored another way (int8, int4, pqM: product
    /// quantisation with M one-byte subspaces, e.g. pq16, or rqM: residual quantisation with M
    /// one-byte stages, e.g. rq12) and report its figures beside the file's own, with the bytes
    /// it takes per item.
    #[arg(long)]
    item_table: Option<localrec::format::pq::ItemTable>,
    /// With --item-table: the N most popular items keep the file's int8 rows.
    #[arg(long, default_value_t = 0, requires = "item_table")]
    exact_head: usize,
    /// With --item-table pqM or rqM: train on through the codes for at most N epochs (the codes stay;
    /// the codebooks, row 0 and the --exact-head rows learn, the Transformer frozen unless
    /// --finetune-whole-model; the best validation epoch is kept) and report its figures
    /// beside k-means alone.
    #[arg(long, default_value_t = 0, requires = "item_table")]
    finetune_epochs: usize,
    /// Fine-tuning's learning rate (default: the trainer's).
    #[arg(long, requires = "finetune_epochs")]
    finetune_lr: Option<f64>,
    /// Fine-tuning lets items change codes: after each epoch every item takes the nearest
    /// centroids to a latent copy of its row that follows the rows' gradients.
    #[arg(long, requires = "finetune_epochs")]
    finetune_reassign: bool,
    /// Fine-tuning trains every weight, not only the item table (codebooks, row 0, the
    /// --exact-head rows) with the Transformer as the file has it.
    #[arg(long, requires = "finetune_epochs")]
    finetune_whole_model: bool,
    /// Fine-tuning's sampled negatives (0: full cross-entropy; default: the trainer's rule, full
    /// up to 20,000 items, 256 above). With sampled negatives a step builds only the item rows it
    /// reads from their codes.
    #[arg(long, requires = "finetune_epochs")]
    finetune_negatives: Option<usize>,
    /// Fine-tuning's loss weight of the positions after a purchase (as `train --purchase-weight`).
    #[arg(long, requires = "finetune_epochs")]
    purchase_weight: Option<f64>,
    /// Histories a fine-tuning epoch trains on, a fresh sample each epoch when the log has
    /// more (0: all).
    #[arg(long, requires = "finetune_epochs", default_value_t = PqTuneOptions::default().epoch_histories)]
    finetune_histories: usize,
    /// Users whose test target is ranked: a seeded sample of this many when there are more (0:
    /// every user). The same users as `train --test-users` with the trainer's default seed.
    #[arg(long, default_value_t = 0)]
    test_users: usize,
    /// With --item-table rqM: write the model with that item table to this file (format
    /// version 4), the fine-tuned codebooks when --finetune-epochs ran; the --exact-head items
    /// are stored whole and come first.
    #[arg(long, requires = "item_table")]
    write_model: Option<PathBuf>,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let out = run_eval(
        &a.model,
        &a.data.source(),
        a.offers.as_deref(),
        a.item_table.map(|encoding| {
            let defaults = PqTuneOptions::default();
            TableTrial {
                encoding,
                exact_head: a.exact_head,
                finetune: PqTuneOptions {
                    epochs: a.finetune_epochs,
                    learning_rate: a.finetune_lr.unwrap_or(defaults.learning_rate),
                    purchase_weight: a.purchase_weight.unwrap_or(defaults.purchase_weight),
                    reassign: a.finetune_reassign,
                    negatives: a.finetune_negatives,
                    table_only: !a.finetune_whole_model,
                    epoch_histories: a.finetune_histories,
                    progress: true,
                    ..defaults
                },
                write_model: a.write_model.clone(),
            }
        }),
        a.test_users,
    )?;
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
