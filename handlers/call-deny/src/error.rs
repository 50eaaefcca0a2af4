//! [`CallError`]: why a call operation was refused. Store failures are plugboard's own
//! [`StoreError`] (re-exported by this crate): `unavailable` while the shared store is
//! unreachable, `internal` for a store that answered something unexpected.

use axum::http::StatusCode;
use plugboard::{HandlerError, StoreError};

use crate::CallStatus;

/// Errors of the call operations (socket events, HTTP routes and the host API alike).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Bad input: a missing or malformed id, an unknown status.
    #[error("{0}")]
    Invalid(String),
    /// No such call (or it finished longer ago than the retention).
    #[error("call not found")]
    NotFound,
    /// The call is in another status.
    #[error("call is {}", status.as_str())]
    Conflict {
        /// The current status.
        status: CallStatus,
    },
    /// The actor may not do this to this call.
    #[error("{0}")]
    Forbidden(String),
    /// The request id names another caller's call.
    #[error("requestId is already used by another call")]
    RequestIdTaken,
    /// The host API was called before the handler started.
    #[error("call-deny is not started; start the host first")]
    NotStarted,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CallError {
    /// The HTTP status for this error.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::RequestIdTaken => StatusCode::CONFLICT,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotStarted | Self::Store(StoreError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<CallError> for HandlerError {
    fn from(e: CallError) -> Self {
        let message = e.to_string();
        match e {
            CallError::Invalid(_) => HandlerError::invalid(message),
            CallError::NotFound => HandlerError::not_found(message),
            CallError::Conflict { status } => {
                HandlerError::conflict(message).with_detail("status", status.as_str())
            }
            CallError::RequestIdTaken => HandlerError::conflict(message),
            CallError::Forbidden(_) => HandlerError::forbidden(message),
            CallError::NotStarted => HandlerError::unavailable(message),
            CallError::Store(e) => HandlerError::from(e),
        }
    }
}
