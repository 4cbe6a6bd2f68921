//! `localrec shard`: a shipped model split into a core and per-category shards.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use localrec::format;

#[derive(Args)]
pub struct ShardArgs {
    /// The shipped model to split (a trainer's model.lrec).
    #[arg(long)]
    model: PathBuf,
    /// Folder to write: model.lrec (the core) and shards/<sha256>.lrec. Serve both as they are;
    /// the shards may be cached forever (`Cache-Control: public, max-age=31536000, immutable`).
    #[arg(long)]
    out: PathBuf,
    /// The most popular items, kept in the core: the first answer ranks these. Default: 20,000,
    /// or every item the model stores whole (residual codes' --exact-head) if that is more.
    #[arg(long)]
    core_items: Option<usize>,
    /// The most items one shard holds; a larger category is split over several.
    #[arg(long, default_value_t = 20_000)]
    shard_items: usize,
    /// Item categories (catalog.json or CSV, as for `train --catalog`), when the model has
    /// no catalogue of its own or it should be replaced.
    #[arg(long)]
    catalog: Option<PathBuf>,
}

pub fn run(a: ShardArgs) -> Result<()> {
    let bytes =
        std::fs::read(&a.model).with_context(|| format!("cannot read {}", a.model.display()))?;
    let catalog = a
        .catalog
        .as_deref()
        .map(localrec::train::data::load_catalog)
        .transpose()?;
    let split = format::shard::split(&bytes, catalog.as_ref(), a.core_items, a.shard_items)?;
    let dir = a.out.join("shards");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let core = a.out.join("model.lrec");
    std::fs::write(&core, &split.core)
        .with_context(|| format!("cannot write {}", core.display()))?;
    let mut shard_bytes = 0;
    for (entry, file) in &split.shards {
        let path = a.out.join(entry.path());
        std::fs::write(&path, file).with_context(|| format!("cannot write {}", path.display()))?;
        shard_bytes += file.len();
    }
    let categories: std::collections::BTreeSet<_> =
        split.shards.iter().map(|(e, _)| &e.category).collect();
    eprintln!(
        "wrote {} ({} bytes, the core) and {} shards of {} categories ({} bytes) under {}",
        core.display(),
        split.core.len(),
        split.shards.len(),
        categories.len(),
        shard_bytes,
        dir.display()
    );
    Ok(())
}
