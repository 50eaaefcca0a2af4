//! Timeouts on Redis: the due entries of `cd:deadlines`, each moved by the same
//! compare-and-set as any transition ([`record`](super::record)), so when every node's
//! sweeper expires at once, one applies each and the others find it already done.

use plugboard::redis::{Value, cmd};

use super::RedisCallStore;
use super::record::Stored;
use crate::{
    Actor, Call, CallRef, CallStatus, EndReason, StoreError, Transition, TransitionOutcome,
};

/// The expiry of a record read, if its deadline has passed at `now_ms`.
fn expiry(s: &Stored, now_ms: u64) -> Option<Transition> {
    let (to, reason) = match s.call.status {
        _ if s.deadline.is_none_or(|d| d > now_ms) => return None,
        CallStatus::Ringing => (CallStatus::Missed, None),
        CallStatus::Accepted => (CallStatus::Ended, Some(EndReason::Timeout)),
        _ => return None,
    };
    Some(Transition {
        to,
        actor: Actor::System,
        reason,
        now_ms,
        deadline_ms: None,
    })
}

impl RedisCallStore {
    pub(super) async fn expire_due(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        let due: Vec<String> = self
            .redis
            .query(
                cmd("ZRANGEBYSCORE")
                    .arg(self.key("cd:deadlines"))
                    .arg("-inf")
                    .arg(now_ms)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        let mut out = Vec::with_capacity(due.len());
        for id in due {
            let r = CallRef::id(id.clone());
            let step = match self.cas(&r, |s| expiry(s, now_ms)).await {
                Ok(Some(TransitionOutcome::NotFound)) => {
                    self.drop_dangling(&id).await.map(|_| None)
                }
                Ok(Some(TransitionOutcome::Applied(call))) => Ok(Some(call)),
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            };
            match step {
                Ok(applied) => out.extend(applied),
                // What already applied must still be announced; the rest waits for the
                // next sweep.
                Err(e) if !out.is_empty() => {
                    tracing::warn!(handler = "call-deny", call = id, error = %e, "expiry interrupted");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Drops a deadline entry whose record expired by its TTL.
    pub(super) async fn drop_dangling(&self, id: &str) -> Result<(), StoreError> {
        let mut inv = self.scripts.drop_dangling.prepare_invoke();
        inv.arg(self.redis.prefix()).arg(id);
        let _: Value = self.redis.invoke(&inv).await?;
        Ok(())
    }
}
