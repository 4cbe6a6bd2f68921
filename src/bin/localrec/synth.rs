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
}

pub fn run(a: SynthArgs) -> Result<()> {
    let shop = localrec::train::synth::generate(&localrec::train::synth::SynthConfig {
        items: a.items,
        shoppers: a.shoppers,
        seed: a.seed,
    })?;
    localrec::train::synth::write(&shop, &a.out)?;
    eprintln!(
        "wrote {} items, {} events, {} offers to {}",
        shop.catalog.len(),
        shop.events(),
        shop.offers.len(),
        a.out.display()
    );
    Ok(())
}
