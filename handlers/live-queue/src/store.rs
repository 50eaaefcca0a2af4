//! The state traits: [`BusyStateStore`], [`QueueStore`], [`MatchStore`].
//!
//! Every check-and-set is ONE trait method, so the Redis implementation makes each an
//! atomic script; the handler never reads then writes. [`LiveStore`] bundles the three
//! (they share one backend because matching and calls change queue and busy state together).
//!
//! Every method is fallible: the outer `Err` ([`StoreError`]) means the store could not
//! answer (Redis unreachable or slow: `Unavailable`) and nothing the caller can rely on
//! changed; a refused check-and-set is an answer, so it sits inside the `Ok` side.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use plugboard::StoreError;

use crate::{BusyState, Status};

/// What a store call answers: the outcome, or why the store could not answer.
pub type StoreResult<T> = Result<T, StoreError>;

/// One side of an atomic two-user transition.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The user.
    pub user: &'a str,
    /// The version the caller read, if it wants a strict compare-and-set.
    pub expected: Option<u64>,
}

/// Which side of a pair failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairConflict {
    /// 0 for the first user, 1 for the second.
    pub side: usize,
    /// That user's current state.
    pub state: BusyState,
}

/// Counts of users by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    /// Known users that are available.
    pub available: u64,
    /// Users in the queue.
    pub queueing: u64,
    /// Users matched or ringing.
    pub connecting: u64,
    /// Users in a call.
    pub in_call: u64,
}

/// Per-user busy state with compare-and-set on `version`.
#[async_trait]
pub trait BusyStateStore: Send + Sync + 'static {
    /// The user's state (`available`, version 0 when unknown).
    async fn state(&self, user: &str) -> StoreResult<BusyState>;
    /// Moves `user` to `to` for `holder` if the move is allowed (see [`crate::allowed`]) and
    /// `expected` (when given) is the current version. Returns the new version, or the
    /// current state on conflict.
    async fn try_transition(
        &self,
        user: &str,
        expected: Option<u64>,
        to: Status,
        holder: Option<&str>,
    ) -> StoreResult<Result<u64, BusyState>>;
    /// Moves two users to `to` for `holder` atomically: both or neither.
    async fn try_transition_pair(
        &self,
        a: Side<'_>,
        b: Side<'_>,
        to: Status,
        holder: Option<&str>,
    ) -> StoreResult<Result<(u64, u64), PairConflict>>;
    /// Refreshes `updatedAt` without a change (the user is alive, or its rejoin grace
    /// starts now). False when unknown.
    async fn touch(&self, user: &str) -> StoreResult<bool>;
    /// Up to `limit` states last refreshed before `before_ms`.
    async fn stale(&self, before_ms: u64, limit: usize) -> StoreResult<Vec<(String, BusyState)>>;
    /// Drops an `available` record still at `version` (memory reclaim). False otherwise.
    async fn forget_available(&self, user: &str, version: u64) -> StoreResult<bool>;
    /// How many known users are in each status.
    async fn counts(&self) -> StoreResult<StatusCounts>;
}

/// Matching preferences sent with `join-queue`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Users who both set a language are only matched with the same language.
    #[serde(default)]
    pub language: Option<String>,
}

/// A successful `join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// 1-based place in the queue.
    pub position: usize,
    /// False when the user was already queueing (idempotent rejoin).
    pub new: bool,
}

/// Two users matched by [`QueueStore::try_match`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchMade {
    /// The new match id.
    pub match_id: String,
    /// `(user, name)` of both, the earlier-queued first.
    pub users: [(String, String); 2],
}

/// The FIFO queue; every method that changes it also changes busy state atomically.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Queues the user (`available -> queueing`), or confirms the place of one already
    /// queueing (same position; a place kept during a rejoin grace is resumed). Fails
    /// with the current state when the user is connecting or in a call.
    async fn join(
        &self,
        user: &str,
        name: &str,
        prefs: &Preferences,
    ) -> StoreResult<Result<Joined, BusyState>>;
    /// Leaves the queue (`queueing -> available`). `Ok(false)` when the user was
    /// available; the current state when connecting or in a call.
    async fn leave(&self, user: &str) -> StoreResult<Result<bool, BusyState>>;
    /// 1-based place of a queueing user.
    async fn position(&self, user: &str) -> StoreResult<Option<usize>>;
    /// The user's last socket went away: keep the place but stop matching it.
    async fn suspend(&self, user: &str) -> StoreResult<bool>;
    /// Makes a suspended place matchable again. False when there is none.
    async fn resume(&self, user: &str) -> StoreResult<bool>;
    /// Removes a place still suspended (grace over) and makes the user available.
    async fn expire_suspended(&self, user: &str) -> StoreResult<bool>;
    /// Matches `user` with the earliest-queued compatible, matchable user: both leave the
    /// queue and become `connecting` for the new `match_id`, atomically.
    async fn try_match(&self, user: &str, match_id: &str) -> StoreResult<Option<MatchMade>>;
    /// How many places the queue holds.
    async fn queue_len(&self) -> StoreResult<usize>;
    /// Changes whenever the queue state was lost (a new memory store, a Redis that lost
    /// its data); the same on every node sharing the state.
    async fn epoch(&self) -> StoreResult<String>;
}

/// Why a match or call operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The caller is held by another match or call.
    #[error("You are busy")]
    CallerBusy(BusyState),
    /// The callee is held by another match or call.
    #[error("User is busy")]
    CalleeBusy(BusyState),
    /// A call for this match is already ringing or running.
    #[error("Call already in progress")]
    InProgress,
    /// The user is not a party of this match.
    #[error("you are not a party of this match")]
    Forbidden,
    /// No such match, or no call waiting for this user.
    #[error("no such match or call")]
    NotFound,
}

/// What `request-call` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// The callee is ringing.
    Ringing,
    /// The callee had already called the caller: one call started (glare merge).
    Merged {
        /// The stage of the merged call (the first request's).
        stage: String,
        /// Both users, the first requester first.
        participants: [String; 2],
    },
}

/// A started call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Its stage.
    pub stage: String,
    /// Caller then callee.
    pub participants: [String; 2],
}

/// A match that ended; both parties are available again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The match id.
    pub match_id: String,
    /// Both parties.
    pub parties: [String; 2],
}

/// What [`MatchStore::release`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The state before.
    pub previous: BusyState,
    /// The match that ended with it, if the user was held.
    pub ended: Option<Ended>,
}

/// Matches (from the queue or from `request-call` on an unknown match id) and their calls.
#[async_trait]
pub trait MatchStore: Send + Sync + 'static {
    /// The two parties of a match.
    async fn parties(&self, match_id: &str) -> StoreResult<Option<[String; 2]>>;
    /// Rings `callee` for `caller` in `match_id`: both become `connecting` for it (or a
    /// pending opposite request merges into one `in-call` call).
    async fn request_call(
        &self,
        match_id: &str,
        caller: &str,
        callee: &str,
        stage: &str,
    ) -> StoreResult<Result<Requested, CallError>>;
    /// The callee accepts the ringing call: both `in-call`. Exactly one accept wins.
    async fn accept_call(
        &self,
        match_id: &str,
        user: &str,
    ) -> StoreResult<Result<Started, CallError>>;
    /// A party ends the match and its call: both `available`.
    async fn end(&self, match_id: &str, user: &str) -> StoreResult<Result<Ended, CallError>>;
    /// Makes `user` available whatever it holds (when `expected` is given, only if the
    /// version still matches): leaves the queue, ends its match for both. `None` when
    /// nothing changed.
    async fn release(&self, user: &str, expected: Option<u64>) -> StoreResult<Option<Released>>;
    /// How many matches exist.
    async fn match_count(&self) -> StoreResult<usize>;
}

/// The whole live-queue state.
pub trait LiveStore: BusyStateStore + QueueStore + MatchStore {}

impl<T: BusyStateStore + QueueStore + MatchStore> LiveStore for T {}
