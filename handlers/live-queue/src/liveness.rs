//! Liveness: socket hooks, the rejoin grace (NET-03) and the zombie sweeper (STATE-02).
//!
//! A grace is measured from the busy state's `updated_at`, which the disconnect that
//! starts it refreshes in the store. A timer that fires before that (set by an earlier
//! grace, maybe on another node, for a user who came back and left again) waits for the
//! later grace instead of cutting it short.
//!
//! Grace timers are node-local ([`crate::GraceTimers`]) and die with their node. What a
//! lost timer would have cleaned up is still cleaned up:
//!
//! - the user's socket was on the dead node: the reaper of a live node runs this
//!   handler's disconnect hook for it with [`DisconnectReason::NodeDown`], and that node
//!   suspends the place and starts the grace again, on its own timers;
//! - the user's socket had already gone and only the timer was on the dead node: nothing
//!   refreshes that user's busy state any more and the user holds no socket anywhere in
//!   the cluster (`Sessions::is_connected` answers for every node), so once the state is
//!   `zombie_ttl_ms` old the sweeper of any live node releases it: the place is dropped
//!   and the match ends for the peer with `peer_disconnected`, exactly as the timer would
//!   have done, only later. The release is a compare-and-set on the version the sweep
//!   read, so one node acts and announces even though every node sweeps.

use std::sync::Arc;
use std::time::Duration;

use plugboard::{DisconnectReason, Socket};
use tokio::time::Instant;

use crate::handler::{Counters, HANDLER, RETRY, Runtime};
use crate::store::StoreResult;
use crate::{BusyState, LiveQueue, Status, now_ms};

/// How many stale states one sweep looks at.
const SWEEP_BATCH: usize = 10_000;

impl LiveQueue {
    pub(crate) async fn on_connect(&self, socket: Socket) {
        let user = socket.user_id();
        match self.store().state(user).await {
            Ok(st) if st.status.is_held() && self.timers.cancel(user) => {
                tracing::debug!(handler = HANDLER, socket = %socket.id(), user, "back within grace; match kept");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(handler = HANDLER, socket = %socket.id(), user, error = %e, "busy state unknown on connect; any rejoin grace keeps running")
            }
        }
    }

    /// The user's last socket (in the whole cluster) went away: its place is suspended
    /// and the rejoin grace starts on this node. With [`DisconnectReason::NodeDown`] this
    /// runs on the node that reaped the socket's dead node. When the store does not
    /// answer, the state is kept: the framework runs this cleanup again once it does.
    pub(crate) async fn on_disconnect(&self, socket: Socket, reason: DisconnectReason) {
        let Some(rt) = self.rt.get() else { return };
        let user = socket.user_id();
        let sockets = match rt.sessions.sockets_of(user).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(handler = HANDLER, socket = %socket.id(), user, %reason, error = %e, "sessions unknown; state kept");
                return;
            }
        };
        if !sockets.is_empty() {
            if reason == DisconnectReason::ServerNSDisconnect {
                Counters::bump(&self.counters.duplicate_connections_kicked);
                tracing::info!(handler = HANDLER, socket = %socket.id(), user, "older socket replaced; state kept");
            }
            return;
        }
        let store = self.store();
        let st = match store.state(user).await {
            Ok(st) => st,
            Err(e) => {
                tracing::warn!(handler = HANDLER, socket = %socket.id(), user, %reason, error = %e, "busy state unknown; state kept until the store answers");
                return;
            }
        };
        if st.status == Status::Available {
            return;
        }
        // The grace is measured from the state's `updated_at`, in the store: a timer left
        // on another node by an earlier grace then waits for this one instead of cutting
        // it short.
        let started = match store.touch(user).await {
            Ok(_) if st.status == Status::Queueing => store.suspend(user).await.map(|_| ()),
            other => other.map(|_| ()),
        };
        if let Err(e) = started {
            tracing::warn!(handler = HANDLER, socket = %socket.id(), user, %reason, error = %e, "rejoin grace not started; state kept until the store answers");
            return;
        }
        let grace = self.cfg().rejoin_grace();
        self.timers.schedule(user, Instant::now() + grace);
        tracing::debug!(handler = HANDLER, socket = %socket.id(), user, %reason, status = st.status.as_str(), "last socket gone; rejoin grace started");
    }

    /// The rejoin grace of `user` is over. If the store does not answer, it is tried
    /// again after [`RETRY`].
    pub(crate) async fn grace_expired(&self, user: &str) {
        let Some(rt) = self.rt.get() else { return };
        if let Err(e) = self.end_grace(rt, user).await {
            tracing::warn!(handler = HANDLER, user, error = %e, "rejoin grace could not end; will retry");
            self.timers.schedule(user, Instant::now() + RETRY);
        }
    }

    async fn end_grace(&self, rt: &Runtime, user: &str) -> StoreResult<()> {
        let store = self.store();
        let st = store.state(user).await?;
        let ends_at = st.updated_at.saturating_add(self.cfg().rejoin_grace_ms);
        let now = now_ms();
        if st.status != Status::Available && ends_at > now {
            // The grace started again since this timer was set (the user came back and
            // left again, perhaps on another node): this one waits for that grace's end.
            tracing::debug!(
                handler = HANDLER,
                user,
                "rejoin grace restarted elsewhere; waiting for it"
            );
            let left = Duration::from_millis(ends_at - now);
            self.timers.schedule(user, Instant::now() + left);
            return Ok(());
        }
        match st.status {
            Status::Queueing => {
                if store.expire_suspended(user).await? {
                    tracing::info!(
                        handler = HANDLER,
                        user,
                        "rejoin grace over; removed from the queue"
                    );
                    self.announce_out_of_queue(user).await;
                }
            }
            Status::Connecting | Status::InCall => {
                if rt.sessions.is_connected(user).await? {
                    return Ok(());
                }
                if let Some(r) = store.release(user, Some(st.version)).await?
                    && let Some(ended) = r.ended
                {
                    tracing::info!(handler = HANDLER, user, match_id = %ended.match_id, "rejoin grace over; match ended");
                    self.announce_ended(&ended, "peer_disconnected").await;
                }
            }
            Status::Available => {}
        }
        Ok(())
    }

    /// Resets states nobody refreshed for `zombie_ttl` whose user holds no socket in the
    /// cluster; forgets such `available` records. Stops at the first store error (the
    /// next sweep carries on).
    pub(crate) async fn sweep_zombies(self: &Arc<Self>) {
        let Some(rt) = self.rt.get() else { return };
        let cutoff = now_ms().saturating_sub(self.cfg().zombie_ttl_ms);
        let result = async {
            for (user, st) in self.store().stale(cutoff, SWEEP_BATCH).await? {
                self.sweep_one(rt, &user, &st).await?;
            }
            Ok::<_, plugboard::StoreError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(handler = HANDLER, error = %e, "zombie sweep stopped early; the next one carries on");
        }
    }

    async fn sweep_one(&self, rt: &Runtime, user: &str, st: &BusyState) -> StoreResult<()> {
        let store = self.store();
        if rt.sessions.is_connected(user).await? {
            store.touch(user).await?;
        } else if st.status == Status::Available {
            store.forget_available(user, st.version).await?;
        } else if let Some(r) = store.release(user, Some(st.version)).await? {
            Counters::bump(&self.counters.zombies_cleared);
            self.timers.cancel(user);
            tracing::warn!(
                handler = HANDLER,
                user,
                status = r.previous.status.as_str(),
                "zombie busy state reset to available"
            );
            if let Some(ended) = r.ended {
                self.announce_ended(&ended, "peer_disconnected").await;
            }
        }
        Ok(())
    }
}
