//! Errors raised by the load generator.

use thiserror::Error;

/// Why a connection, a request or a scenario failed.
#[derive(Debug, Error)]
pub enum LoadError {
    /// TCP or socket-level failure.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// WebSocket handshake or frame failure.
    #[error("websocket: {0}")]
    Ws(Box<tokio_tungstenite::tungstenite::Error>),
    /// A step did not finish in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// The server spoke something that is not Engine.IO v4 / Socket.IO v5 as expected.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server refused the Socket.IO CONNECT (`44{..}`).
    #[error("connect refused: {0}")]
    ConnectRefused(String),
    /// The server closed the connection.
    #[error("connection closed by server")]
    Closed,
    /// HTTP publish request failure.
    #[error("http: {0}")]
    Http(String),
    /// The server does not implement what the scenario needs (error ack, 404, no answer).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading the server's memory use failed.
    #[error("reading /proc/{pid}/status: {source}")]
    Proc {
        /// The server process id.
        pid: u32,
        /// What went wrong.
        source: std::io::Error,
    },
}

impl From<tokio_tungstenite::tungstenite::Error> for LoadError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        LoadError::Ws(Box::new(e))
    }
}
