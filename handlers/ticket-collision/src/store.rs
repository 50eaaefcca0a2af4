//! [`ViewerStore`]: where presence lives: [`MemoryViewerStore`](crate::MemoryViewerStore)
//! on one node, [`RedisViewerStore`](crate::RedisViewerStore) on a cluster; the same
//! contract tests run on both.
//!
//! Every method is one atomic step: each check-and-set (is the socket viewing? is the
//! typing deadline due? is the viewer still stale?) happens inside the store, never as a
//! read followed by a write in the handler. Times are ms since epoch, given by the caller.

use async_trait::async_trait;
use plugboard::SocketId;

use crate::{LeaveOutcome, Removal, StopOutcome, TypingOutcome, ViewOutcome, Viewer, ViewerStats};

/// Why the store refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The socket already views the most tickets it may.
    #[error("this socket already views {limit} tickets, the most allowed")]
    TooManyTickets {
        /// The configured limit.
        limit: usize,
    },
    /// The backing store cannot be reached (clients see `unavailable`).
    #[error("viewer store unavailable: {0}")]
    Unavailable(String),
    /// The backing store answered with an error or an unexpected reply (clients see
    /// `internal`).
    #[error("viewer store error: {0}")]
    Backend(String),
}

impl From<plugboard::StoreError> for StoreError {
    fn from(e: plugboard::StoreError) -> Self {
        match e {
            plugboard::StoreError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Backend(other.to_string()),
        }
    }
}

/// A `ticket:view` to record.
#[derive(Debug, Clone, Copy)]
pub struct ViewRequest<'a> {
    /// The ticket.
    pub ticket: &'a str,
    /// The agent (identity user id).
    pub agent: &'a str,
    /// The display name to show.
    pub name: &'a str,
    /// The socket viewing.
    pub socket: SocketId,
    /// Now, ms since epoch.
    pub now: u64,
    /// The most tickets one socket may view.
    pub max_tickets_per_socket: usize,
}

/// Presence per ticket: which agents view it, through which sockets, and who types.
///
/// Presence is per agent: an agent viewing through two sockets is one viewer, and it
/// leaves the ticket when its last socket does. Empty tickets and sockets leave no state.
#[async_trait]
pub trait ViewerStore: Send + Sync + 'static {
    /// Adds `socket` as a viewer of the ticket for the agent (and refreshes its activity).
    async fn view(&self, req: ViewRequest<'_>) -> Result<ViewOutcome, StoreError>;

    /// Marks the agent typing until `until`. `None` when `socket` does not view the ticket.
    async fn typing(
        &self,
        ticket: &str,
        socket: SocketId,
        now: u64,
        until: u64,
    ) -> Result<Option<TypingOutcome>, StoreError>;

    /// Marks the agent viewing again. `None` when `socket` does not view the ticket.
    async fn stop_typing(
        &self,
        ticket: &str,
        socket: SocketId,
        now: u64,
    ) -> Result<Option<StopOutcome>, StoreError>;

    /// Ends a typing status whose deadline is at or before `now`; `None` when the agent is
    /// gone, not typing, or typed again since.
    async fn expire_typing(
        &self,
        ticket: &str,
        agent: &str,
        now: u64,
    ) -> Result<Option<StopOutcome>, StoreError>;

    /// Removes `socket` from the ticket. `None` when it did not view it.
    async fn leave(
        &self,
        ticket: &str,
        socket: SocketId,
    ) -> Result<Option<LeaveOutcome>, StoreError>;

    /// The tickets `socket` views.
    async fn tickets_of(&self, socket: SocketId) -> Result<Vec<String>, StoreError>;

    /// Removes the agent (every socket of it) from the ticket. `None` when it is not there.
    async fn remove_agent(&self, ticket: &str, agent: &str) -> Result<Option<Removal>, StoreError>;

    /// Removes the agent if its last activity is still before `cutoff`.
    async fn remove_if_stale(
        &self,
        ticket: &str,
        agent: &str,
        cutoff: u64,
    ) -> Result<Option<Removal>, StoreError>;

    /// Up to `limit` (ticket, agent) pairs whose typing deadline is at or before `now`,
    /// earliest first. Only a hint: [`expire_typing`](Self::expire_typing) re-checks.
    async fn due_typing(&self, now: u64, limit: usize)
    -> Result<Vec<(String, String)>, StoreError>;

    /// Up to `limit` (ticket, agent) pairs with no activity since before `cutoff`, oldest
    /// first. Only a hint: [`remove_if_stale`](Self::remove_if_stale) re-checks.
    async fn stale(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, String)>, StoreError>;

    /// The viewers of a ticket, oldest first.
    async fn viewers(&self, ticket: &str) -> Result<Vec<Viewer>, StoreError>;

    /// Totals, and the `top` tickets with the most viewers.
    async fn stats(&self, top: usize) -> Result<ViewerStats, StoreError>;
}
