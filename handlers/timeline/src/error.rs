//! [`TimelineError`]: why a host API call or a subscription was refused.

use plugboard::HandlerError;

/// A failure of a [`TimelineStore`](crate::TimelineStore): the framework's store error.
/// `Unavailable` (Redis down or slower than `cluster.redis_timeout_ms`) answers
/// `unavailable`, `Backend` (Redis answered an error) answers `internal`.
pub use plugboard::StoreError;

/// Errors of the timeline host API and store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TimelineError {
    /// The entity type is not allowed or the entity id is empty or too long.
    #[error("{reason}")]
    InvalidEntity {
        /// The wire name of the field at fault (`entityType` or `entityId`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An item (or items) to broadcast is not a JSON object.
    #[error("{reason}")]
    InvalidItem {
        /// The wire name of the field at fault (`item`, `items` or `itemId`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The store backing the subscriptions failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TimelineError {
    /// The wire name of the offending field, for input errors.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidEntity { field, .. } | Self::InvalidItem { field, .. } => Some(field),
            Self::Store(_) => None,
        }
    }
}

impl From<TimelineError> for HandlerError {
    fn from(e: TimelineError) -> Self {
        match e {
            TimelineError::InvalidEntity { field, .. }
            | TimelineError::InvalidItem { field, .. } => {
                HandlerError::invalid(e.to_string()).with_detail("field", field)
            }
            TimelineError::Store(s) => s.into(),
        }
    }
}
