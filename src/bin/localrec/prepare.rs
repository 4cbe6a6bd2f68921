//! `localrec prepare`: a log in any input format rewritten as sequence Parquet (one row per
//! user, events in time order), the layout `--format seq-parquet` reads without regrouping.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use localrec::train::parquet::write_sequences;

use crate::data_args::DataArgs;

#[derive(Args)]
pub struct PrepareArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The sequence Parquet file to write.
    #[arg(long)]
    out: PathBuf,
    /// Users per row group.
    #[arg(long, default_value_t = 100_000)]
    users_per_group: usize,
}

pub fn run(a: PrepareArgs) -> Result<()> {
    let started = Instant::now();
    let ds = a.data.source().load()?;
    let read = started.elapsed().as_secs_f64();
    let users = write_sequences(&ds, &a.out, a.users_per_group)?;
    let bytes = std::fs::metadata(&a.out)
        .with_context(|| format!("cannot read {}", a.out.display()))?
        .len();
    let summary = serde_json::json!({
        "out": a.out,
        "users": users,
        "events": ds.event_count(),
        "rows_read": ds.lines,
        "rows_ignored": ds.ignored,
        "rows_skipped": ds.skipped.count,
        "skipped_examples": ds.skipped.examples,
        "bytes": bytes,
        "read_seconds": read,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
