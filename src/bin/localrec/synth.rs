//! `localrec synth`: a synthetic shop.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct SynthArgs {
    #[arg(long, default_value_t = 2000)]
    items: usize,
    #[arg(long, default_value_t = 10000)]
    shoppers: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
    /// Also write the events as `events.parquet` (the events columns) and/or `ga4.jsonl` (GA4's
    /// BigQuery export as newline-delimited JSON), e.g. `--also parquet,ga4`.
    #[arg(long, value_enum, value_delimiter = ',')]
    also: Vec<AlsoArg>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlsoArg {
    Parquet,
    Ga4,
}

pub fn run(a: SynthArgs) -> Result<()> {
    let shop = localrec::train::synth::generate(&localrec::train::synth::SynthConfig {
        items: a.items,
        shoppers: a.shoppers,
        seed: a.seed,
    })?;
    localrec::train::synth::write(&shop, &a.out)?;
    if a.also.contains(&AlsoArg::Parquet) {
        localrec::train::synth::write_events_parquet(
            &shop,
            &a.out.join("events.parquet"),
            1 << 20,
        )?;
    }
    if a.also.contains(&AlsoArg::Ga4) {
        localrec::train::synth::write_ga4_json(&shop, &a.out.join("ga4.jsonl"))?;
    }
    eprintln!(
        "wrote {} items, {} events, {} offers to {}",
        shop.catalog.len(),
        shop.events(),
        shop.offers.len(),
        a.out.display()
    );
    Ok(())
}
