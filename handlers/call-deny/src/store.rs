//! Call state behind [`CallStore`]. Every check-and-set (create with duplicate check, each
//! transition, each expiry, each claim of a departure) is ONE trait method, so a networked
//! store makes each one atomic (a Redis script, or a compare-and-set on a revision) and the
//! handler never reads then writes.

use async_trait::async_trait;

use crate::{Call, CallStatus, StoreError, Transition};

/// Names a call: by id, by the caller's request id, or both (then both must match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRef {
    /// The server's call id.
    pub call_id: Option<String>,
    /// The caller's request id.
    pub request_id: Option<String>,
}

impl CallRef {
    /// By call id.
    pub fn id(call_id: impl Into<String>) -> Self {
        Self {
            call_id: Some(call_id.into()),
            request_id: None,
        }
    }

    /// By request id.
    pub fn request(request_id: impl Into<String>) -> Self {
        Self {
            call_id: None,
            request_id: Some(request_id.into()),
        }
    }
}

/// A call to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// The new call's id.
    pub call_id: String,
    /// The caller's request id.
    pub request_id: String,
    /// Who calls.
    pub caller_id: String,
    /// Whom, if one user.
    pub target_id: Option<String>,
    /// Now, ms since epoch.
    pub now_ms: u64,
    /// When the ringing call becomes `missed`.
    pub ring_deadline_ms: u64,
}

/// What [`CallStore::create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// A new ringing call.
    Created(Call),
    /// The caller already has an open call to that target, or re-sent a request id of
    /// theirs: that call, unchanged.
    Existing(Call),
    /// The request id belongs to another caller's call; nothing changed.
    RequestIdTaken,
}

/// What [`CallStore::transition`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    /// The transition happened (exactly once per call and status); the record after it.
    Applied(Call),
    /// It had already happened (repeated deny, cancel or end); the record, unchanged.
    Duplicate(Call),
    /// The call is in another status; the record, unchanged.
    Conflict(Call),
    /// The actor may not do this; the record, unchanged.
    Forbidden(Call),
    /// No such call (or the call id and request id name different calls).
    NotFound,
}

/// Counts for `stats()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Calls ringing now.
    pub ringing: u64,
    /// Calls accepted and not ended.
    pub active: u64,
    /// Records kept (open ones and finished ones within the retention).
    pub records: u64,
    /// Users holding at least one open call.
    pub users_with_open_calls: u64,
    /// Users whose departure waits for its grace (see [`CallStore::schedule_departure`]).
    pub pending_departures: u64,
}

/// A user's departure claimed by [`CallStore::claim_departures`]: the claimer checks whether
/// the user is still gone and cleans up, then [`settles`](CallStore::settle_departure) it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// The user who left.
    pub user: String,
    /// The claim: the departure is due again at this time (ms) unless settled before, so
    /// a claimer that fails or dies hands it over to the next sweep.
    pub token: u64,
}

/// Storage of calls. Object safe; the handler holds an `Arc<dyn CallStore>`.
#[async_trait]
pub trait CallStore: Send + Sync + 'static {
    /// Creates a ringing call unless the caller already has an open (ringing or accepted)
    /// call to the same target, or the request id is known. One atomic step.
    async fn create(&self, new: NewCall) -> Result<CreateOutcome, StoreError>;

    /// Decides the transition with [`decide`](crate::decide) on the current record and
    /// applies it when allowed. One atomic compare-and-set.
    async fn transition(
        &self,
        call: &CallRef,
        t: &Transition,
    ) -> Result<TransitionOutcome, StoreError>;

    /// The record, if kept.
    async fn get(&self, call: &CallRef) -> Result<Option<Call>, StoreError>;

    /// Up to `limit` calls in `status`, oldest first.
    async fn list(&self, status: CallStatus, limit: usize) -> Result<Vec<Call>, StoreError>;

    /// The open calls in which `user` is the caller or the accepting agent.
    async fn open_calls_of(&self, user: &str) -> Result<Vec<Call>, StoreError>;

    /// Moves up to `limit` calls whose deadline is at or before `now_ms`: ringing ones to
    /// `missed`, accepted ones to `ended` (reason `timeout`). Returns the records after.
    async fn expire(&self, now_ms: u64, limit: usize) -> Result<Vec<Call>, StoreError>;

    /// Forgets up to `limit` finished calls last changed before `before_ms`; returns how many.
    async fn purge_finished(&self, before_ms: u64, limit: usize) -> Result<usize, StoreError>;

    /// Counts (of the whole cluster on a shared store).
    async fn counts(&self) -> Result<StoreCounts, StoreError>;

    /// Records that `user`'s last socket went away and their calls must be cleaned up at
    /// `due_ms` unless they are back by then. A later departure of the same user replaces
    /// the earlier one. Kept in the store, so whichever node sweeps first handles it, even
    /// when the node that saw the disconnect died meanwhile.
    async fn schedule_departure(&self, user: &str, due_ms: u64) -> Result<(), StoreError>;

    /// Claims up to `limit` departures due at or before `now_ms`: each becomes due again at
    /// `now_ms + lease_ms` (its token), so exactly one claimer holds it at a time and an
    /// unsettled one comes back. One atomic step.
    async fn claim_departures(
        &self,
        now_ms: u64,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Departure>, StoreError>;

    /// Forgets a claimed departure unless it was scheduled again since the claim (then the
    /// new one stays). Returns true when it was forgotten.
    async fn settle_departure(&self, departure: &Departure) -> Result<bool, StoreError>;
}
