//! `localrec random-model`: random weights for timing.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use localrec::format;
use localrec::format::pq::ItemTable;
use localrec::model::SeqRecConfig;
use localrec::train::TrainOptions;

#[derive(Args)]
pub struct RandomModelArgs {
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
    /// How the item table is stored: int8, int4, or rqM (residual codes in M codebooks, random
    /// codes; with --exact-head). Default: the trainer's (int8 up to 20,000 items, int4 up to
    /// 100,000, rq12 above).
    #[arg(long)]
    item_table: Option<ItemTable>,
    /// With residual codes: the first N items are stored whole (int8), as the trainer stores
    /// the most popular (default: the trainer's, 2% of the items).
    #[arg(long)]
    exact_head: Option<usize>,
    /// The model file to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: RandomModelArgs) -> Result<()> {
    let config = SeqRecConfig::new(a.items)
        .with_d_model(a.d_model)
        .with_layers(a.layers)
        .with_heads(a.heads)
        .with_max_len(a.max_len)
        .with_query_buckets(a.query_buckets)
        .with_event_types(true);
    let table = a.item_table.unwrap_or(ItemTable::for_items(a.items));
    let bytes = match table {
        ItemTable::Quantized(encoding) => format::random_model(&config, a.seed, encoding)?,
        ItemTable::Rq(books) => {
            let exact = TrainOptions {
                exact_head: a.exact_head,
                ..TrainOptions::default()
            }
            .exact_head_for(a.items);
            format::random_model_coded(&config, a.seed, books, exact + 1)?
        }
        ItemTable::Pq(_) => anyhow::bail!("a weights file stores residual codes (rqM), not pqM"),
    };
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, {} items, {table} item table, random weights)",
        a.out.display(),
        bytes.len(),
        a.items
    );
    Ok(())
}
