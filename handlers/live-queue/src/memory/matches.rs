//! [`MatchStore`] for [`MemoryLiveStore`]: match records and their staged call.

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::mapref::entry::Entry;
use parking_lot::Mutex;

use super::records::{CallRec, MatchRec};
use super::{MemoryLiveStore, check};
use crate::store::{CallError, Ended, MatchStore, Released, Requested, Started, StoreResult};
use crate::{BusyState, Status};

impl MemoryLiveStore {
    fn match_cell(&self, id: &str) -> Option<Arc<Mutex<MatchRec>>> {
        self.matches.get(id).map(|c| c.clone())
    }

    /// Ends a locked match: every party still held by it becomes available.
    fn end_locked(&self, rec: &mut MatchRec) -> Ended {
        let [a, b] = rec.parties.clone();
        let id = rec.id.clone();
        self.with_pair(&a, &b, |sa, sb| {
            for (user, st) in [(&a, sa), (&b, sb)] {
                if st.holder.as_deref() == Some(id.as_str()) {
                    self.apply(user, st, Status::Available, Some(&id));
                }
            }
        });
        rec.ended = true;
        rec.call = None;
        self.matches.remove(&id);
        Ended {
            match_id: id,
            parties: [a, b],
        }
    }
}

#[async_trait]
impl MatchStore for MemoryLiveStore {
    async fn parties(&self, match_id: &str) -> StoreResult<Option<[String; 2]>> {
        Ok(self.match_cell(match_id).and_then(|cell| {
            let rec = cell.lock();
            (!rec.ended).then(|| rec.parties.clone())
        }))
    }

    async fn request_call(
        &self,
        match_id: &str,
        caller: &str,
        callee: &str,
        stage: &str,
    ) -> StoreResult<Result<Requested, CallError>> {
        Ok(self.request(match_id, caller, callee, stage))
    }

    async fn accept_call(
        &self,
        match_id: &str,
        user: &str,
    ) -> StoreResult<Result<Started, CallError>> {
        Ok(self.accept(match_id, user))
    }

    async fn end(&self, match_id: &str, user: &str) -> StoreResult<Result<Ended, CallError>> {
        Ok(self.end_by(match_id, user))
    }

    async fn release(&self, user: &str, expected: Option<u64>) -> StoreResult<Option<Released>> {
        Ok(self.release_now(user, expected))
    }

    async fn match_count(&self) -> StoreResult<usize> {
        Ok(self.matches.len())
    }
}

impl MemoryLiveStore {
    fn request(
        &self,
        match_id: &str,
        caller: &str,
        callee: &str,
        stage: &str,
    ) -> Result<Requested, CallError> {
        if caller == callee {
            return Err(CallError::Forbidden);
        }
        loop {
            let (cell, created) = match self.matches.entry(match_id.to_owned()) {
                Entry::Occupied(o) => (o.get().clone(), false),
                Entry::Vacant(v) => {
                    let cell = Arc::new(Mutex::new(MatchRec::new(match_id, [caller, callee])));
                    v.insert(cell.clone());
                    (cell, true)
                }
            };
            let mut rec = cell.lock();
            if rec.ended {
                continue;
            }
            if !rec.has(caller) || rec.other(caller) != callee {
                return Err(CallError::Forbidden);
            }
            let id = match_id;
            let result = match rec.call.clone() {
                Some(c) if c.active => Err(CallError::InProgress),
                Some(c) if c.caller == callee && c.callee == caller => {
                    self.with_pair(caller, callee, |sa, sb| {
                        if !check(sa, None, Status::InCall, Some(id)) {
                            return Err(CallError::CallerBusy(sa.clone()));
                        }
                        if !check(sb, None, Status::InCall, Some(id)) {
                            return Err(CallError::CalleeBusy(sb.clone()));
                        }
                        self.apply(caller, sa, Status::InCall, Some(id));
                        self.apply(callee, sb, Status::InCall, Some(id));
                        Ok(())
                    })?;
                    if let Some(call) = rec.call.as_mut() {
                        call.active = true;
                    }
                    Ok(Requested::Merged {
                        stage: c.stage,
                        participants: [callee.to_owned(), caller.to_owned()],
                    })
                }
                Some(_) => Err(CallError::InProgress),
                None => self
                    .with_pair(caller, callee, |sa, sb| {
                        if !check(sa, None, Status::Connecting, Some(id)) {
                            return Err(CallError::CallerBusy(sa.clone()));
                        }
                        if !check(sb, None, Status::Connecting, Some(id)) {
                            return Err(CallError::CalleeBusy(sb.clone()));
                        }
                        self.apply(caller, sa, Status::Connecting, Some(id));
                        self.apply(callee, sb, Status::Connecting, Some(id));
                        Ok(())
                    })
                    .map(|()| {
                        rec.call = Some(CallRec {
                            caller: caller.to_owned(),
                            callee: callee.to_owned(),
                            stage: stage.to_owned(),
                            active: false,
                        });
                        Requested::Ringing
                    }),
            };
            if result.is_err() && created && rec.call.is_none() {
                rec.ended = true;
                drop(rec);
                self.matches.remove(match_id);
            }
            return result;
        }
    }

    fn accept(&self, match_id: &str, user: &str) -> Result<Started, CallError> {
        let cell = self.match_cell(match_id).ok_or(CallError::NotFound)?;
        let mut rec = cell.lock();
        if rec.ended {
            return Err(CallError::NotFound);
        }
        if !rec.has(user) {
            return Err(CallError::Forbidden);
        }
        let call = rec.call.clone().ok_or(CallError::NotFound)?;
        if call.active {
            return Err(CallError::InProgress);
        }
        if call.callee != user {
            return Err(CallError::NotFound);
        }
        self.with_pair(&call.caller, &call.callee, |sa, sb| {
            if !check(sa, None, Status::InCall, Some(match_id)) {
                return Err(CallError::CalleeBusy(sa.clone()));
            }
            if !check(sb, None, Status::InCall, Some(match_id)) {
                return Err(CallError::CallerBusy(sb.clone()));
            }
            self.apply(&call.caller, sa, Status::InCall, Some(match_id));
            self.apply(&call.callee, sb, Status::InCall, Some(match_id));
            Ok(())
        })?;
        if let Some(c) = rec.call.as_mut() {
            c.active = true;
        }
        Ok(Started {
            stage: call.stage,
            participants: [call.caller, call.callee],
        })
    }

    fn end_by(&self, match_id: &str, user: &str) -> Result<Ended, CallError> {
        let cell = self.match_cell(match_id).ok_or(CallError::NotFound)?;
        let mut rec = cell.lock();
        if rec.ended {
            return Err(CallError::NotFound);
        }
        if !rec.has(user) {
            return Err(CallError::Forbidden);
        }
        Ok(self.end_locked(&mut rec))
    }

    fn release_now(&self, user: &str, expected: Option<u64>) -> Option<Released> {
        loop {
            let seen: BusyState = self.read(user);
            if expected.is_some_and(|v| v != seen.version) || seen.status == Status::Available {
                return None;
            }
            let Some(holder) = seen.holder.clone().filter(|_| seen.status.is_held()) else {
                // Queueing: leave the queue.
                let done = self.with_user(user, |st| {
                    if st.version != seen.version {
                        return false;
                    }
                    self.apply(user, st, Status::Available, None);
                    true
                });
                if done {
                    return Some(Released {
                        previous: seen,
                        ended: None,
                    });
                }
                continue;
            };
            let cell = self.match_cell(&holder);
            let mut rec = cell.as_ref().map(|c| c.lock());
            let live = rec.as_ref().is_some_and(|r| !r.ended && r.has(user));
            // Re-check under the match lock that nothing moved since `seen`.
            if self.read(user).version != seen.version {
                continue;
            }
            if live && let Some(r) = rec.as_deref_mut() {
                let ended = self.end_locked(r);
                return Some(Released {
                    previous: seen,
                    ended: Some(ended),
                });
            }
            drop(rec);
            let done = self.with_user(user, |st| {
                if st.version != seen.version {
                    return false;
                }
                self.apply(user, st, Status::Available, None);
                true
            });
            if done {
                return Some(Released {
                    previous: seen,
                    ended: None,
                });
            }
        }
    }
}
