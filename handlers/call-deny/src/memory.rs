//! [`MemoryCallStore`]: the in-process [`CallStore`]. One mutex over the records and their
//! indexes makes each trait method one atomic step; every index is a hash map or an
//! ordered set, so no operation scans all calls.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::call::{Decision, apply, decide};
use crate::{
    Actor, Call, CallRef, CallStatus, CallStore, CreateOutcome, EndReason, NewCall, StoreCounts,
    StoreError, Transition, TransitionOutcome,
};

/// The in-process [`CallStore`].
#[derive(Debug, Default)]
pub struct MemoryCallStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    calls: HashMap<String, Entry>,
    by_request: HashMap<String, String>,
    /// (caller, target or "") -> the open call between them.
    open_by_pair: HashMap<(String, String), String>,
    /// user -> open calls where the user is caller or accepting agent.
    open_by_user: HashMap<String, HashSet<String>>,
    /// (created_at, call_id) per status, for listing.
    by_status: HashMap<CallStatus, BTreeSet<(u64, String)>>,
    /// (deadline, call_id) of ringing calls and of accepted calls with a max duration.
    deadlines: BTreeSet<(u64, String)>,
    /// (updated_at, call_id) of finished calls, for the retention purge.
    finished: BTreeSet<(u64, String)>,
}

#[derive(Debug)]
struct Entry {
    call: Call,
    deadline: Option<u64>,
}

impl MemoryCallStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn pair_key(call: &Call) -> (String, String) {
    (
        call.caller_id.clone(),
        call.target_id.clone().unwrap_or_default(),
    )
}

impl Inner {
    fn resolve(&self, r: &CallRef) -> Option<String> {
        let by_req = r.request_id.as_ref().map(|q| self.by_request.get(q));
        match (&r.call_id, by_req) {
            (Some(id), None) => self.calls.contains_key(id).then(|| id.clone()),
            (None, Some(found)) => found.cloned(),
            (Some(id), Some(Some(found))) if found == id => Some(id.clone()),
            _ => None,
        }
    }

    fn index_open(&mut self, call: &Call, user: &str) {
        self.open_by_user
            .entry(user.to_owned())
            .or_default()
            .insert(call.call_id.clone());
    }

    fn unindex_open(&mut self, call: &Call, user: &str) {
        if let Some(set) = self.open_by_user.get_mut(user) {
            set.remove(&call.call_id);
            if set.is_empty() {
                self.open_by_user.remove(user);
            }
        }
    }

    fn set_status_index(&mut self, call: &Call, old: Option<CallStatus>) {
        let key = (call.created_at, call.call_id.clone());
        if let Some(old) = old
            && let Some(set) = self.by_status.get_mut(&old)
        {
            set.remove(&key);
        }
        self.by_status.entry(call.status).or_default().insert(key);
    }

    /// Runs the rule and updates every index. The record is looked up by id.
    fn transition(&mut self, id: &str, t: &Transition) -> TransitionOutcome {
        let Some(entry) = self.calls.get_mut(id) else {
            return TransitionOutcome::NotFound;
        };
        match decide(&entry.call, t) {
            Decision::Duplicate => return TransitionOutcome::Duplicate(entry.call.clone()),
            Decision::Conflict => return TransitionOutcome::Conflict(entry.call.clone()),
            Decision::Forbidden => return TransitionOutcome::Forbidden(entry.call.clone()),
            Decision::Apply => {}
        }
        let old = entry.call.status;
        let old_deadline = entry.deadline.take();
        apply(&mut entry.call, t);
        if t.to == CallStatus::Accepted {
            entry.deadline = t.deadline_ms;
        }
        let call = entry.call.clone();
        let new_deadline = entry.deadline;
        if let Some(d) = old_deadline {
            self.deadlines.remove(&(d, call.call_id.clone()));
        }
        if let Some(d) = new_deadline {
            self.deadlines.insert((d, call.call_id.clone()));
        }
        self.set_status_index(&call, Some(old));
        if call.status.is_open() {
            if let Some(agent) = call.agent_id.clone() {
                self.index_open(&call, &agent);
            }
        } else {
            self.unindex_open(&call, &call.caller_id.clone());
            if let Some(agent) = call.agent_id.clone() {
                self.unindex_open(&call, &agent);
            }
            let key = pair_key(&call);
            if self.open_by_pair.get(&key) == Some(&call.call_id) {
                self.open_by_pair.remove(&key);
            }
            self.finished
                .insert((call.updated_at, call.call_id.clone()));
        }
        TransitionOutcome::Applied(call)
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
        let key = (
            new.caller_id.clone(),
            new.target_id.clone().unwrap_or_default(),
        );
        if let Some(id) = g.open_by_pair.get(&key) {
            return Ok(CreateOutcome::Existing(g.calls[id].call.clone()));
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
        let id = call.call_id.clone();
        g.by_request.insert(call.request_id.clone(), id.clone());
        g.open_by_pair.insert(key, id.clone());
        g.index_open(&call, &call.caller_id);
        g.set_status_index(&call, None);
        g.deadlines.insert((new.ring_deadline_ms, id.clone()));
        g.calls.insert(
            id,
            Entry {
                call: call.clone(),
                deadline: Some(new.ring_deadline_ms),
            },
        );
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
        let mut g = self.inner.lock();
        let old: Vec<(u64, String)> = g
            .finished
            .iter()
            .take_while(|(t, _)| *t < before_ms)
            .take(limit)
            .cloned()
            .collect();
        for key in &old {
            g.finished.remove(key);
            if let Some(e) = g.calls.remove(&key.1) {
                g.by_request.remove(&e.call.request_id);
                if let Some(set) = g.by_status.get_mut(&e.call.status) {
                    set.remove(&(e.call.created_at, e.call.call_id.clone()));
                }
            }
        }
        Ok(old.len())
    }

    fn counts(&self) -> StoreCounts {
        let g = self.inner.lock();
        let len = |s: CallStatus| g.by_status.get(&s).map_or(0, |v| v.len() as u64);
        StoreCounts {
            ringing: len(CallStatus::Ringing),
            active: len(CallStatus::Accepted),
            records: g.calls.len() as u64,
            users_with_open_calls: g.open_by_user.len() as u64,
        }
    }
}
