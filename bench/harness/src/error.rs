//! Harness errors.

use thiserror::Error;

/// Why the harness could not prepare, start or record something.
#[derive(Debug, Error)]
pub enum HarnessError {
    /// File or process i/o.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A build step (`cargo build`, `npm ci`) failed.
    #[error("build failed: {0}")]
    Build(String),
    /// A server did not print its `listening addr=..` line in time, or exited.
    #[error("server did not start: {0}")]
    Start(String),
    /// Results could not be serialised.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The plot could not be drawn.
    #[error("plot: {0}")]
    Plot(String),
    /// A callgrind dump could not be read.
    #[error("callgrind: {0}")]
    Callgrind(String),
    /// Invalid command line combination.
    #[error("{0}")]
    Usage(String),
}
