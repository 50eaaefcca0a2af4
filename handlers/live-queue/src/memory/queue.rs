//! [`QueueStore`] for [`MemoryLiveStore`].

use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;

use super::queue_index::compatible;
use super::records::MatchRec;
use super::{MemoryLiveStore, apply_locked, check};
use crate::store::{Joined, MatchMade, Preferences, QueueStore, StoreResult};
use crate::{BusyState, Status};

/// How often `try_match` retries when its candidate changed under it.
const MATCH_ATTEMPTS: usize = 8;

#[async_trait]
impl QueueStore for MemoryLiveStore {
    async fn join(
        &self,
        user: &str,
        name: &str,
        prefs: &Preferences,
    ) -> StoreResult<Result<Joined, BusyState>> {
        Ok(self.with_user(user, |st| {
            let mut q = self.queue.lock();
            match st.status {
                Status::Queueing => {
                    st.updated_at = crate::now_ms();
                    if q.place(user).is_none() {
                        q.insert(user, name, prefs.language.clone());
                    }
                    q.resume(user);
                    let position = q.position(user).unwrap_or(1);
                    Ok(Joined {
                        position,
                        new: false,
                    })
                }
                Status::Available => {
                    q.remove(user);
                    q.insert(user, name, prefs.language.clone());
                    apply_locked(&mut q, user, st, Status::Queueing, None);
                    let position = q.position(user).unwrap_or(1);
                    Ok(Joined {
                        position,
                        new: true,
                    })
                }
                _ => Err(st.clone()),
            }
        }))
    }

    async fn leave(&self, user: &str) -> StoreResult<Result<bool, BusyState>> {
        Ok(self.with_user(user, |st| match st.status {
            Status::Queueing => {
                let mut q = self.queue.lock();
                apply_locked(&mut q, user, st, Status::Available, None);
                Ok(true)
            }
            Status::Available => Ok(false),
            _ => Err(st.clone()),
        }))
    }

    async fn position(&self, user: &str) -> StoreResult<Option<usize>> {
        Ok(self.queue.lock().position(user))
    }

    async fn suspend(&self, user: &str) -> StoreResult<bool> {
        Ok(self.queue.lock().suspend(user))
    }

    async fn resume(&self, user: &str) -> StoreResult<bool> {
        Ok(self.queue.lock().resume(user))
    }

    async fn expire_suspended(&self, user: &str) -> StoreResult<bool> {
        Ok(self.with_user(user, |st| {
            let mut q = self.queue.lock();
            let suspended = q.place(user).is_some_and(|p| p.suspended);
            if st.status != Status::Queueing || !suspended {
                return false;
            }
            apply_locked(&mut q, user, st, Status::Available, None);
            true
        }))
    }

    async fn try_match(&self, user: &str, match_id: &str) -> StoreResult<Option<MatchMade>> {
        Ok(self.match_once(user, match_id))
    }

    async fn queue_len(&self) -> StoreResult<usize> {
        Ok(self.queue.lock().len())
    }

    async fn epoch(&self) -> StoreResult<String> {
        Ok(self.epoch.clone())
    }
}

impl MemoryLiveStore {
    /// [`QueueStore::try_match`], retried while its candidate changes under it.
    fn match_once(&self, user: &str, match_id: &str) -> Option<MatchMade> {
        for _ in 0..MATCH_ATTEMPTS {
            let peer = self.queue.lock().partner(user)?;
            // The match record exists (locked) before anyone is held by it.
            let rec = Arc::new(Mutex::new(MatchRec::new(match_id, [user, &peer])));
            let mut guard = rec.lock();
            self.matches.insert(match_id.to_owned(), rec.clone());
            let made = self.with_pair(user, &peer, |su, sp| {
                let mut q = self.queue.lock();
                let (pu, pp) = (q.place(user)?.clone(), q.place(&peer)?.clone());
                let ok = !pu.suspended
                    && !pp.suspended
                    && compatible(&pu, &pp)
                    && check(su, None, Status::Connecting, Some(match_id))
                    && check(sp, None, Status::Connecting, Some(match_id))
                    && su.status == Status::Queueing
                    && sp.status == Status::Queueing;
                if !ok {
                    return None;
                }
                apply_locked(&mut q, user, su, Status::Connecting, Some(match_id));
                apply_locked(&mut q, &peer, sp, Status::Connecting, Some(match_id));
                let me = (user.to_owned(), pu.name.clone());
                let them = (peer.clone(), pp.name.clone());
                let users = if pp.seq < pu.seq {
                    [them, me]
                } else {
                    [me, them]
                };
                Some(MatchMade {
                    match_id: match_id.to_owned(),
                    users,
                })
            });
            match made {
                Some(m) => {
                    guard.parties = [m.users[0].0.clone(), m.users[1].0.clone()];
                    return Some(m);
                }
                None => {
                    guard.ended = true;
                    drop(guard);
                    self.matches.remove(match_id);
                }
            }
        }
        None
    }
}
