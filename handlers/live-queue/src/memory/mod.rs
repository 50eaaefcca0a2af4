//! [`MemoryLiveStore`]: the in-process implementation of the three store traits.
//!
//! Fine-grained locks, never held across an await: one mutex per user record, one per
//! match record, one for the queue index. Lock order is always match -> users (sorted by
//! id) -> queue, so two operations can never wait on each other.

mod matches;
mod queue;
mod queue_index;
mod records;

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard};

use crate::store::{BusyStateStore, PairConflict, Side, StatusCounts, StoreResult};
use crate::{BusyState, Status, allowed, now_ms};
use queue_index::QueueIndex;
use records::MatchRec;

struct UserRec {
    state: BusyState,
    /// Removed from the map; whoever locked it late must fetch the new record.
    dead: bool,
}

type Cell = Arc<Mutex<UserRec>>;

/// The in-memory live-queue state (one node; the queue is lost on restart, which the
/// `epoch` tells clients).
pub struct MemoryLiveStore {
    users: DashMap<String, Cell>,
    queue: Mutex<QueueIndex>,
    matches: DashMap<String, Arc<Mutex<MatchRec>>>,
    epoch: String,
}

impl std::fmt::Debug for MemoryLiveStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLiveStore")
            .field("users", &self.users.len())
            .field("matches", &self.matches.len())
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl Default for MemoryLiveStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryLiveStore {
    /// An empty store with a new random epoch.
    pub fn new() -> Self {
        Self {
            users: DashMap::new(),
            queue: Mutex::new(QueueIndex::default()),
            matches: DashMap::new(),
            epoch: format!("{:016x}", rand::random::<u64>()),
        }
    }

    fn cell(&self, user: &str) -> Cell {
        if let Some(c) = self.users.get(user) {
            return c.clone();
        }
        self.users
            .entry(user.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(UserRec {
                    state: BusyState::fresh(),
                    dead: false,
                }))
            })
            .clone()
    }

    /// A copy of the user's state.
    fn read(&self, user: &str) -> BusyState {
        match self.users.get(user).map(|c| c.clone()) {
            Some(c) => c.lock().state.clone(),
            None => BusyState::fresh(),
        }
    }

    /// Runs `f` on one user's state under its lock.
    fn with_user<R>(&self, user: &str, f: impl FnOnce(&mut BusyState) -> R) -> R {
        loop {
            let cell = self.cell(user);
            let mut g = cell.lock();
            if g.dead {
                continue;
            }
            return f(&mut g.state);
        }
    }

    /// Runs `f` on two distinct users' states under both locks (taken in id order).
    fn with_pair<R>(
        &self,
        a: &str,
        b: &str,
        f: impl FnOnce(&mut BusyState, &mut BusyState) -> R,
    ) -> R {
        debug_assert_ne!(a, b);
        loop {
            let (ca, cb) = (self.cell(a), self.cell(b));
            let (mut ga, mut gb): (MutexGuard<'_, UserRec>, MutexGuard<'_, UserRec>) = if a < b {
                let ga = ca.lock();
                (ga, cb.lock())
            } else {
                let gb = cb.lock();
                (ca.lock(), gb)
            };
            if ga.dead || gb.dead {
                continue;
            }
            return f(&mut ga.state, &mut gb.state);
        }
    }

    /// Applies a checked transition and keeps the queue index in step with it (a user
    /// leaving `queueing` leaves the queue; one entering it gets a place).
    fn apply(&self, user: &str, st: &mut BusyState, to: Status, holder: Option<&str>) -> u64 {
        let from = st.status;
        let version = set(st, to, holder);
        if (from == Status::Queueing) != (to == Status::Queueing) {
            sync_queue(&mut self.queue.lock(), user, from, to);
        }
        version
    }
}

/// Writes a checked transition (no queue change); returns the version.
fn set(st: &mut BusyState, to: Status, holder: Option<&str>) -> u64 {
    st.updated_at = now_ms();
    if st.status == to && st.holder.as_deref() == holder {
        return st.version;
    }
    st.status = to;
    st.holder = if to.is_held() {
        holder.map(str::to_owned)
    } else {
        None
    };
    st.version += 1;
    st.version
}

/// [`set`] with the queue lock already held.
fn apply_locked(
    q: &mut QueueIndex,
    user: &str,
    st: &mut BusyState,
    to: Status,
    holder: Option<&str>,
) -> u64 {
    let from = st.status;
    let version = set(st, to, holder);
    sync_queue(q, user, from, to);
    version
}

fn sync_queue(q: &mut QueueIndex, user: &str, from: Status, to: Status) {
    if from == Status::Queueing && to != Status::Queueing {
        q.remove(user);
    } else if to == Status::Queueing && from != Status::Queueing {
        q.insert(user, user, None);
    }
}

fn check(st: &BusyState, expected: Option<u64>, to: Status, holder: Option<&str>) -> bool {
    expected.is_none_or(|v| v == st.version) && allowed(st.status, st.holder.as_deref(), to, holder)
}

#[async_trait]
impl BusyStateStore for MemoryLiveStore {
    async fn state(&self, user: &str) -> StoreResult<BusyState> {
        Ok(self.read(user))
    }

    async fn try_transition(
        &self,
        user: &str,
        expected: Option<u64>,
        to: Status,
        holder: Option<&str>,
    ) -> StoreResult<Result<u64, BusyState>> {
        Ok(self.with_user(user, |st| {
            if !check(st, expected, to, holder) {
                return Err(st.clone());
            }
            Ok(self.apply(user, st, to, holder))
        }))
    }

    async fn try_transition_pair(
        &self,
        a: Side<'_>,
        b: Side<'_>,
        to: Status,
        holder: Option<&str>,
    ) -> StoreResult<Result<(u64, u64), PairConflict>> {
        if a.user == b.user {
            let state = self.read(b.user);
            return Ok(Err(PairConflict { side: 1, state }));
        }
        Ok(self.with_pair(a.user, b.user, |sa, sb| {
            if !check(sa, a.expected, to, holder) {
                return Err(PairConflict {
                    side: 0,
                    state: sa.clone(),
                });
            }
            if !check(sb, b.expected, to, holder) {
                return Err(PairConflict {
                    side: 1,
                    state: sb.clone(),
                });
            }
            Ok((
                self.apply(a.user, sa, to, holder),
                self.apply(b.user, sb, to, holder),
            ))
        }))
    }

    async fn touch(&self, user: &str) -> StoreResult<bool> {
        let Some(cell) = self.users.get(user).map(|c| c.clone()) else {
            return Ok(false);
        };
        let mut g = cell.lock();
        if g.dead {
            return Ok(false);
        }
        g.state.updated_at = now_ms();
        Ok(true)
    }

    async fn stale(&self, before_ms: u64, limit: usize) -> StoreResult<Vec<(String, BusyState)>> {
        let cells: Vec<(String, Cell)> = self
            .users
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        Ok(cells
            .into_iter()
            .filter_map(|(user, cell)| {
                let st = cell.lock().state.clone();
                (st.updated_at < before_ms).then_some((user, st))
            })
            .take(limit)
            .collect())
    }

    async fn forget_available(&self, user: &str, version: u64) -> StoreResult<bool> {
        Ok(self
            .users
            .remove_if(user, |_, cell| {
                let mut g = cell.lock();
                let gone = g.state.status == Status::Available && g.state.version == version;
                g.dead |= gone;
                gone
            })
            .is_some())
    }

    async fn counts(&self) -> StoreResult<StatusCounts> {
        let mut c = StatusCounts::default();
        let cells: Vec<Cell> = self.users.iter().map(|e| e.value().clone()).collect();
        for cell in cells {
            match cell.lock().state.status {
                Status::Available => c.available += 1,
                Status::Queueing => c.queueing += 1,
                Status::Connecting => c.connecting += 1,
                Status::InCall => c.in_call += 1,
            }
        }
        Ok(c)
    }
}
