//! `localrec eval`: a model file on a log, as the browser would rank it.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use localrec::train::pipeline::{TableTrial, run_eval};

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
    /// Also rank with the item table stored another way (int8, int4, or pqM: product
    /// quantisation with M one-byte subspaces, e.g. pq16) and report its figures beside the
    /// file's own, with the bytes it takes per item.
    #[arg(long)]
    item_table: Option<localrec::format::pq::ItemTable>,
    /// With --item-table: the N most popular items keep the file's int8 rows.
    #[arg(long, default_value_t = 0, requires = "item_table")]
    exact_head: usize,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let out = run_eval(
        &a.model,
        &a.data.source(),
        a.offers.as_deref(),
        a.item_table.map(|encoding| TableTrial {
            encoding,
            exact_head: a.exact_head,
        }),
    )?;
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
