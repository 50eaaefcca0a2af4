//! The records and indexes of [`MemoryCallStore`](super::MemoryCallStore), changed only
//! under its mutex: each method here is one atomic step of the store.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::call::{Decision, apply, decide};
use crate::{Call, CallRef, CallStatus, NewCall, Transition, TransitionOutcome};

#[derive(Debug, Default)]
pub(super) struct Inner {
    pub(super) calls: HashMap<String, Entry>,
    pub(super) by_request: HashMap<String, String>,
    /// (caller, target or "") -> the open call between them.
    pub(super) open_by_pair: HashMap<(String, String), String>,
    /// user -> open calls where the user is caller or accepting agent.
    pub(super) open_by_user: HashMap<String, HashSet<String>>,
    /// (created_at, call_id) per status, for listing.
    pub(super) by_status: HashMap<CallStatus, BTreeSet<(u64, String)>>,
    /// (deadline, call_id) of ringing calls and of accepted calls with a max duration.
    pub(super) deadlines: BTreeSet<(u64, String)>,
    /// (updated_at, call_id) of finished calls, for the retention purge.
    pub(super) finished: BTreeSet<(u64, String)>,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) call: Call,
    pub(super) deadline: Option<u64>,
}

fn pair_key(call: &Call) -> (String, String) {
    (
        call.caller_id.clone(),
        call.target_id.clone().unwrap_or_default(),
    )
}

impl Inner {
    pub(super) fn resolve(&self, r: &CallRef) -> Option<String> {
        let by_req = r.request_id.as_ref().map(|q| self.by_request.get(q));
        match (&r.call_id, by_req) {
            (Some(id), None) => self.calls.contains_key(id).then(|| id.clone()),
            (None, Some(found)) => found.cloned(),
            (Some(id), Some(Some(found))) if found == id => Some(id.clone()),
            _ => None,
        }
    }

    /// The open call of the pair `new` would open, if any.
    pub(super) fn open_call_of_pair(&self, new: &NewCall) -> Option<&Call> {
        let key = (
            new.caller_id.clone(),
            new.target_id.clone().unwrap_or_default(),
        );
        self.open_by_pair.get(&key).map(|id| &self.calls[id].call)
    }

    /// Stores a new ringing call with every index.
    pub(super) fn insert(&mut self, call: Call, ring_deadline_ms: u64) {
        let id = call.call_id.clone();
        self.by_request.insert(call.request_id.clone(), id.clone());
        self.open_by_pair.insert(pair_key(&call), id.clone());
        self.index_open(&call, &call.caller_id);
        self.set_status_index(&call, None);
        self.deadlines.insert((ring_deadline_ms, id.clone()));
        let deadline = Some(ring_deadline_ms);
        self.calls.insert(id, Entry { call, deadline });
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
    pub(super) fn transition(&mut self, id: &str, t: &Transition) -> TransitionOutcome {
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

    /// Forgets up to `limit` finished calls last changed before `before_ms`.
    pub(super) fn purge(&mut self, before_ms: u64, limit: usize) -> usize {
        let old: Vec<(u64, String)> = self
            .finished
            .iter()
            .take_while(|(t, _)| *t < before_ms)
            .take(limit)
            .cloned()
            .collect();
        for key in &old {
            self.finished.remove(key);
            if let Some(e) = self.calls.remove(&key.1) {
                self.by_request.remove(&e.call.request_id);
                if let Some(set) = self.by_status.get_mut(&e.call.status) {
                    set.remove(&(e.call.created_at, e.call.call_id.clone()));
                }
            }
        }
        old.len()
    }
}
