//! `localrec eval`: a model file on a log, as the browser would rank it.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use localrec::train::pipeline::run_eval;

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
}

pub fn run(a: EvalArgs) -> Result<()> {
    let out = run_eval(&a.model, &a.data.source(), a.offers.as_deref())?;
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
