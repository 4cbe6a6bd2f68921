//! The log arguments shared by `train` and `eval`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use localrec::train::data::Format;
use localrec::train::pipeline::DataSource;

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Seq,
    Events,
    Parquet,
    Ga4,
    SeqParquet,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Seq => Format::Seq,
            FormatArg::Events => Format::Events,
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Ga4 => Format::Ga4,
            FormatArg::SeqParquet => Format::SeqParquet,
        }
    }
}

#[derive(Args)]
pub struct DataArgs {
    /// The log: a file, or for the Parquet and GA4 formats also a directory of shards or a
    /// glob pattern (quoted: `'exports/events_*.parquet'`).
    #[arg(long)]
    data: PathBuf,
    /// `seq`: one user per line, `user item item ...`; `events`: CSV or JSON lines with
    /// user_id, timestamp, event, item_id, query, category; `parquet`: the same columns in
    /// Parquet; `ga4`: Google Analytics 4's BigQuery export (Parquet or newline-delimited JSON);
    /// `seq-parquet`: one Parquet row per user with lists item_ids, kinds, timestamps, queries,
    /// categories.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Skip malformed lines (counted and reported) instead of stopping at the first.
    #[arg(long)]
    skip_bad_lines: bool,
}

impl DataArgs {
    /// The log as the library reads it.
    pub fn source(&self) -> DataSource {
        DataSource {
            path: self.data.clone(),
            format: self.format.into(),
            skip_bad_lines: self.skip_bad_lines,
        }
    }
}
