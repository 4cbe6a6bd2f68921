//! The log arguments shared by `train` and `eval`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use localrec::train::data::Format;
use localrec::train::pipeline::DataSource;

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Seq,
    Events,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Seq => Format::Seq,
            FormatArg::Events => Format::Events,
        }
    }
}

#[derive(Args)]
pub struct DataArgs {
    /// The log: `seq` (one user per line) or `events` (CSV/JSONL).
    #[arg(long)]
    data: PathBuf,
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
