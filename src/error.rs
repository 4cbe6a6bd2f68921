//! The library's one error type. The wasm boundary turns it into a JS `Error` with a stable `code`.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in localrec, with a message a developer can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The weights file is truncated, tampered with or internally inconsistent.
    #[error("model file is corrupt: {0}")]
    ModelCorrupt(String),
    /// The weights file was written by an incompatible format version.
    #[error(
        "model file has format version {found}, this build of localrec reads versions 1 to {expected}"
    )]
    ModelVersion { found: u32, expected: u32 },
    /// An event passed to `track()` (or a line of a log) is malformed.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// An item id that is not in the model's vocabulary or catalogue.
    #[error("unknown item id {0:?}")]
    UnknownItem(String),
    /// A bad argument (k = 0, bad filter, bad config, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The requested compute backend is not available (e.g. WebGPU without an adapter).
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),
    /// A download the page asked for (a model's shard) failed: network or HTTP status.
    #[error("fetch failed: {0}")]
    Fetch(String),
    /// Persistent storage failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// A tensor computation failed on the device.
    #[error("compute error: {0}")]
    Compute(String),
    /// Input data could not be parsed: `file:line: reason`.
    #[error("{}:{line}: {reason}", path.display())]
    Input {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// An I/O error with the path it concerns.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// A stable, machine-readable code (the `code` property of the JS `Error`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::ModelCorrupt(_) => "MODEL_CORRUPT",
            Error::ModelVersion { .. } => "MODEL_VERSION",
            Error::BadEvent(_) => "BAD_EVENT",
            Error::UnknownItem(_) => "UNKNOWN_ITEM",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::BackendUnavailable(_) => "BACKEND_UNAVAILABLE",
            Error::Fetch(_) => "FETCH",
            Error::Storage(_) => "STORAGE",
            Error::Compute(_) => "COMPUTE",
            Error::Input { .. } => "BAD_INPUT",
            Error::Io { .. } => "IO",
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A parse error at `path:line`.
    pub fn input(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }
}
