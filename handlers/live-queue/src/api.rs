//! The host API of [`LiveQueue`]: look-ups, admin reset and stats.

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde_json::json;

use crate::handler::{Counters, HANDLER};
use crate::store::{StatusCounts, StoreResult};
use crate::{BusyState, LiveQueue, Status};

/// A snapshot of the handler (`GET /stats` under `live-queue`). The sizes are the
/// store's (the whole cluster's on Redis); the counters and `graceTimers` are this node's.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LiveQueueStats {
    /// Places in the queue.
    pub queue_length: u64,
    /// Known users by status.
    pub by_status: StatusCounts,
    /// Matches that exist now.
    pub matches: u64,
    /// Pending rejoin-grace timers.
    pub grace_timers: u64,
    /// Matches made by the queue since start.
    pub matches_made: u64,
    /// Simultaneous requests merged into one call.
    pub glare_merges: u64,
    /// Refused state changes (busy, call in progress).
    pub cas_conflicts: u64,
    /// Zombie busy states reset by the sweeper.
    pub zombies_cleared: u64,
    /// Older sockets replaced by a newer one of the same user (`kick_old`).
    pub duplicate_connections_kicked: u64,
}

impl LiveQueue {
    /// The user's busy state.
    pub async fn status(&self, user: &str) -> StoreResult<BusyState> {
        self.store().state(user).await
    }

    /// True while the user holds a queue place.
    pub async fn is_in_queue(&self, user: &str) -> StoreResult<bool> {
        Ok(self.store().state(user).await?.status == Status::Queueing
            && self.store().position(user).await?.is_some())
    }

    /// How many places the queue holds.
    pub async fn queue_len(&self) -> StoreResult<usize> {
        self.store().queue_len().await
    }

    /// Admin: makes the user available whatever it holds. Its queue place is dropped and
    /// its match ends for both parties (`call-ended` with reason `ended_by_admin`).
    /// Returns the state before, or `None` if the user was already available.
    pub async fn force_available(&self, user: &str) -> StoreResult<Option<BusyState>> {
        let Some(released) = self.store().release(user, None).await? else {
            return Ok(None);
        };
        self.timers.cancel(user);
        tracing::info!(
            handler = HANDLER,
            user,
            status = released.previous.status.as_str(),
            "forced available"
        );
        match &released.ended {
            Some(ended) => self.announce_ended(ended, "ended_by_admin").await,
            None => self.announce_out_of_queue(user).await,
        }
        Ok(Some(released.previous))
    }

    /// Tells every socket of `user` that it holds no queue place any more.
    pub(crate) async fn announce_out_of_queue(&self, user: &str) {
        let mut data = json!({ "inQueue": false, "status": "available" });
        match self.store().epoch().await {
            Ok(epoch) => data["serverEpoch"] = json!(epoch),
            Err(e) => {
                tracing::warn!(handler = HANDLER, user, error = %e, "queue-status sent without serverEpoch")
            }
        }
        self.emit_users(&[user], "live-call:queue-status", &data)
            .await;
    }

    /// Counters of this node and sizes read from the store now (the whole cluster's on
    /// Redis).
    pub async fn stats_now(&self) -> StoreResult<LiveQueueStats> {
        let c: &Counters = &self.counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let store = self.store();
        Ok(LiveQueueStats {
            queue_length: store.queue_len().await? as u64,
            by_status: store.counts().await?,
            matches: store.match_count().await? as u64,
            grace_timers: self.timers.len() as u64,
            matches_made: get(&c.matches_made),
            glare_merges: get(&c.glare_merges),
            cas_conflicts: get(&c.cas_conflicts),
            zombies_cleared: get(&c.zombies_cleared),
            duplicate_connections_kicked: get(&c.duplicate_connections_kicked),
        })
    }
}
