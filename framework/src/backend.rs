//! [`Backend`]: where handler state lives, chosen by `store` in config, and
//! [`StoreError`], the one error a networked store adds.

use crate::{ErrorCode, HandlerError, RedisStore};

/// Where handler state lives. Handlers read it in `initialize` with
/// [`InitContext::backend`](crate::InitContext::backend) and build their store on it:
/// memory by default, Redis when `store = "redis"` (many nodes, one state).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Backend {
    /// In-process memory: one node, nothing to install.
    Memory,
    /// The cluster's Redis: state shared by every node.
    Redis(RedisStore),
}

impl Backend {
    /// The Redis store, when the backend is Redis.
    pub fn redis(&self) -> Option<&RedisStore> {
        match self {
            Self::Redis(r) => Some(r),
            Self::Memory => None,
        }
    }
}

/// Why a networked store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Redis is unreachable or did not answer in time; the request changed nothing that
    /// the caller can rely on. Clients see `unavailable` and may retry.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with an error or a reply of an unexpected shape (a bug, or keys
    /// written by something else).
    #[error("state store error: {0}")]
    Backend(String),
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => HandlerError::new(ErrorCode::Unavailable, e.to_string()),
            StoreError::Backend(_) => HandlerError::new(ErrorCode::Internal, e.to_string()),
        }
    }
}
