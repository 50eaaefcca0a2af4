//! [`MemoryCallStore`]: the in-process [`CallStore`]. One mutex over the records and their
//! indexes makes each trait method one atomic step; every index is a hash map or an
//! ordered set, so no operation scans all calls.

mod departures;
mod inner;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::{
    Actor, Call, CallRef, CallStatus, CallStore, CreateOutcome, Departure, EndReason, NewCall,
    StoreCounts, StoreError, Transition, TransitionOutcome,
};
use departures::Departures;
use inner::Inner;

/// The in-process [`CallStore`].
#[derive(Debug, Default)]
pub struct MemoryCallStore {
    inner: Mutex<Inner>,
    departures: Mutex<Departures>,
}

impl MemoryCallStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CallStore for MemoryCallStore {
    async fn create(&self, new: NewCall) -> Result<CreateOutcome, StoreError> {
        let mut g = self.inner.lock();
        if let Some(id) = g.by_request.get(&new.request_id) {
            let existing = &g.calls[id].call;
            return Ok(if existing.caller_id == new.caller_id {
                CreateOutcome::Existing(existing.clone())
            } else {
                CreateOutcome::RequestIdTaken
            });
        }
        if let Some(open) = g.open_call_of_pair(&new) {
            return Ok(CreateOutcome::Existing(open.clone()));
        }
        let call = Call {
            call_id: new.call_id,
            request_id: new.request_id,
            caller_id: new.caller_id,
            target_id: new.target_id,
            status: CallStatus::Ringing,
            created_at: new.now_ms,
            updated_at: new.now_ms,
            ended_reason: None,
            by: None,
            agent_id: None,
        };
        g.insert(call.clone(), new.ring_deadline_ms);
        Ok(CreateOutcome::Created(call))
    }

    async fn transition(
        &self,
        call: &CallRef,
        t: &Transition,
    ) -> Result<TransitionOutcome, StoreError> {
        let mut g = self.inner.lock();
        Ok(match g.resolve(call) {
            Some(id) => g.transition(&id, t),
            None => TransitionOutcome::NotFound,
        })
    }

    async fn get(&self, call: &CallRef) -> Result<Option<Call>, StoreError> {
        let g = self.inner.lock();
        Ok(g.resolve(call).map(|id| g.calls[&id].call.clone()))
    }

    async fn list(&self, status: CallStatus, limit: usize) -> Result<Vec<Call>, StoreError> {
        let g = self.inner.lock();
        Ok(g.by_status
            .get(&status)
            .into_iter()
            .flatten()
            .take(limit)
            .map(|(_, id)| g.calls[id].call.clone())
            .collect())
    }

    async fn open_calls_of(&self, user: &str) -> Result<Vec<Call>, StoreError> {
        let g = self.inner.lock();
        let mut calls: Vec<Call> = g
            .open_by_user
            .get(user)
            .into_iter()
            .flatten()
            .map(|id| g.calls[id].call.clone())
            .collect();
        calls.sort_by(|a, b| (a.created_at, &a.call_id).cmp(&(b.created_at, &b.call_id)));
        Ok(calls)
    }

    async fn expire(&self, now_ms: u64, limit: usize) -> Result<Vec<Call>, StoreError> {
        let mut g = self.inner.lock();
        let due: Vec<String> = g
            .deadlines
            .iter()
            .take_while(|(d, _)| *d <= now_ms)
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect();
        let mut out = Vec::with_capacity(due.len());
        for id in due {
            let (to, reason) = match g.calls[&id].call.status {
                CallStatus::Ringing => (CallStatus::Missed, None),
                _ => (CallStatus::Ended, Some(EndReason::Timeout)),
            };
            let t = Transition {
                to,
                actor: Actor::System,
                reason,
                now_ms,
                deadline_ms: None,
            };
            if let TransitionOutcome::Applied(call) = g.transition(&id, &t) {
                out.push(call);
            }
        }
        Ok(out)
    }

    async fn purge_finished(&self, before_ms: u64, limit: usize) -> Result<usize, StoreError> {
        Ok(self.inner.lock().purge(before_ms, limit))
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let pending_departures = self.departures.lock().len() as u64;
        let g = self.inner.lock();
        let len = |s: CallStatus| g.by_status.get(&s).map_or(0, |v| v.len() as u64);
        Ok(StoreCounts {
            ringing: len(CallStatus::Ringing),
            active: len(CallStatus::Accepted),
            records: g.calls.len() as u64,
            users_with_open_calls: g.open_by_user.len() as u64,
            pending_departures,
        })
    }

    async fn schedule_departure(&self, user: &str, due_ms: u64) -> Result<(), StoreError> {
        self.departures.lock().set(user, due_ms);
        Ok(())
    }

    async fn claim_departures(
        &self,
        now_ms: u64,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Departure>, StoreError> {
        Ok(self.departures.lock().claim(now_ms, lease_ms, limit))
    }

    async fn settle_departure(&self, departure: &Departure) -> Result<bool, StoreError> {
        Ok(self.departures.lock().settle(departure))
    }
}
