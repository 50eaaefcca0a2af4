//! One call record on Redis and its optimistic compare-and-set: read the record with its
//! revision, let [`decide`] and [`apply`] (the one transition rule, in Rust) say what
//! becomes of it, then [`COMMIT`](super::scripts::COMMIT) it only if the revision is
//! unchanged — MULTI/WATCH semantics in one script. A lost race re-reads and decides
//! again, a bounded number of times.

use super::RedisCallStore;
use crate::call::{Decision, apply, decide};
use crate::{Call, CallRef, CallStatus, StoreError, Transition, TransitionOutcome};

/// How often a transition is decided again after losing a race before giving up with
/// `unavailable`. Each lost race means another transition of the same call committed, so
/// a few rounds settle any contention (a call has at most two transitions).
const MAX_ROUNDS: usize = 8;

/// A record as read, with the revision its commit must still find.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) id: String,
    pub(super) rev: u64,
    pub(super) call: Call,
    pub(super) deadline: Option<u64>,
}

pub(super) fn decode(json: &str) -> Result<Call, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Backend(format!("unreadable call record: {e}")))
}

pub(super) fn encode(call: &Call) -> Result<String, StoreError> {
    serde_json::to_string(call)
        .map_err(|e| StoreError::Backend(format!("call record not serializable: {e}")))
}

/// The pair field of `cd:pairs`: JSON `[caller, target or ""]`, unambiguous for any ids.
pub(super) fn pair_field(caller: &str, target: Option<&str>) -> String {
    serde_json::json!([caller, target.unwrap_or_default()]).to_string()
}

impl RedisCallStore {
    /// The record a reference names, with its revision.
    pub(super) async fn read(&self, r: &CallRef) -> Result<Option<Stored>, StoreError> {
        let mut inv = self.scripts.read.prepare_invoke();
        inv.arg(self.redis.prefix())
            .arg(r.call_id.as_deref().unwrap_or_default())
            .arg(r.request_id.as_deref().unwrap_or_default());
        let found: Option<(String, u64, String, String)> = self.redis.invoke(&inv).await?;
        let Some((id, rev, json, dl)) = found else {
            return Ok(None);
        };
        let deadline = match dl.as_str() {
            "" => None,
            d => Some(d.parse().map_err(|_| {
                StoreError::Backend(format!("unreadable deadline `{d}` of call {id}"))
            })?),
        };
        Ok(Some(Stored {
            call: decode(&json)?,
            id,
            rev,
            deadline,
        }))
    }

    /// Writes `after` (and its deadline) over `before` if nobody changed it since it was
    /// read. Returns false when the revision moved on.
    async fn commit(
        &self,
        before: &Stored,
        after: &Call,
        deadline: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut inv = self.scripts.commit.prepare_invoke();
        inv.arg(self.redis.prefix())
            .arg(&before.id)
            .arg(before.rev)
            .arg(encode(after)?)
            .arg(before.call.status.as_str())
            .arg(after.status.as_str())
            .arg(after.created_at)
            .arg(deadline.map(|d| d.to_string()).unwrap_or_default())
            .arg(pair_field(&after.caller_id, after.target_id.as_deref()))
            .arg(&after.caller_id)
            .arg(after.agent_id.as_deref().unwrap_or_default())
            .arg(after.updated_at)
            .arg(self.finished_ttl_ms)
            .arg(&after.request_id);
        let done: i64 = self.redis.invoke(&inv).await?;
        Ok(done == 1)
    }

    /// One transition: read, decide, commit if unchanged; again after a lost race. `t_of`
    /// builds the transition from the record read (`None`: nothing to do, e.g. an expiry
    /// whose deadline moved).
    pub(super) async fn cas(
        &self,
        r: &CallRef,
        t_of: impl Fn(&Stored) -> Option<Transition>,
    ) -> Result<Option<TransitionOutcome>, StoreError> {
        for _ in 0..MAX_ROUNDS {
            let Some(stored) = self.read(r).await? else {
                return Ok(Some(TransitionOutcome::NotFound));
            };
            let Some(t) = t_of(&stored) else {
                return Ok(None);
            };
            let outcome = match decide(&stored.call, &t) {
                Decision::Duplicate => TransitionOutcome::Duplicate(stored.call),
                Decision::Conflict => TransitionOutcome::Conflict(stored.call),
                Decision::Forbidden => TransitionOutcome::Forbidden(stored.call),
                Decision::Apply => {
                    let mut after = stored.call.clone();
                    apply(&mut after, &t);
                    let deadline = (t.to == CallStatus::Accepted)
                        .then_some(t.deadline_ms)
                        .flatten();
                    if !self.commit(&stored, &after, deadline).await? {
                        tracing::debug!(
                            handler = "call-deny",
                            call = stored.id,
                            "lost a race; deciding again"
                        );
                        continue;
                    }
                    TransitionOutcome::Applied(after)
                }
            };
            return Ok(Some(outcome));
        }
        Err(StoreError::Unavailable(format!(
            "the call changed concurrently {MAX_ROUNDS} times in a row; try again"
        )))
    }

    /// Decodes a script's list of record JSONs.
    pub(super) fn decode_all(&self, replies: Vec<String>) -> Result<Vec<Call>, StoreError> {
        replies.iter().map(|j| decode(j)).collect()
    }
}
