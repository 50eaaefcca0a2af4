//! Liveness: socket hooks, the rejoin grace (NET-03) and the zombie sweeper (STATE-02).

use plugboard::{DisconnectReason, Socket};
use serde_json::json;
use tokio::time::Instant;

use crate::handler::{Counters, HANDLER};
use crate::{LiveQueue, Status, now_ms};

impl LiveQueue {
    pub(crate) async fn on_connect(&self, socket: Socket) {
        let st = self.store.state(socket.user_id()).await;
        if st.status.is_held() && self.timers.cancel(socket.user_id()) {
            tracing::debug!(handler = HANDLER, socket = %socket.id(), user = socket.user_id(), "back within grace; match kept");
        }
    }

    pub(crate) async fn on_disconnect(&self, socket: Socket, reason: DisconnectReason) {
        let Some(rt) = self.rt.get() else { return };
        let user = socket.user_id();
        // Unknown (store unreachable) counts as still connected: nothing is torn down.
        let still_here = rt
            .sessions
            .sockets_of(user)
            .await
            .map_or(true, |s| !s.is_empty());
        if still_here {
            if reason == DisconnectReason::ServerNSDisconnect {
                Counters::bump(&self.counters.duplicate_connections_kicked);
                tracing::info!(handler = HANDLER, socket = %socket.id(), user, "older socket replaced; state kept");
            }
            return;
        }
        let st = self.store.state(user).await;
        if st.status == Status::Available {
            return;
        }
        if st.status == Status::Queueing {
            self.store.suspend(user).await;
        }
        let grace = self.cfg().rejoin_grace();
        self.timers.schedule(user, Instant::now() + grace);
        tracing::debug!(handler = HANDLER, socket = %socket.id(), user, status = st.status.as_str(), "last socket gone; rejoin grace started");
    }

    /// The rejoin grace of `user` is over.
    pub(crate) async fn grace_expired(&self, user: &str) {
        let Some(rt) = self.rt.get() else { return };
        let st = self.store.state(user).await;
        match st.status {
            Status::Queueing if self.store.expire_suspended(user).await => {
                tracing::info!(
                    handler = HANDLER,
                    user,
                    "rejoin grace over; removed from the queue"
                );
                let data = json!({ "inQueue": false, "status": "available", "serverEpoch": self.store.epoch().await });
                self.emit_users(&[user], "live-call:queue-status", &data)
                    .await;
            }
            Status::Connecting | Status::InCall
                if !rt.sessions.is_connected(user).await.unwrap_or(true) =>
            {
                if let Some(r) = self.store.release(user, Some(st.version)).await
                    && let Some(ended) = r.ended
                {
                    tracing::info!(handler = HANDLER, user, match_id = %ended.match_id, "rejoin grace over; match ended");
                    self.announce_ended(&ended, "peer_disconnected").await;
                }
            }
            _ => {}
        }
    }

    /// Resets states nobody refreshed for `zombie_ttl` whose user holds no socket.
    pub(crate) async fn sweep_zombies(&self) {
        let Some(rt) = self.rt.get() else { return };
        let cutoff = now_ms().saturating_sub(self.cfg().zombie_ttl_ms);
        for (user, st) in self.store.stale(cutoff, 10_000).await {
            if rt.sessions.is_connected(&user).await.unwrap_or(true) {
                self.store.touch(&user).await;
            } else if st.status == Status::Available {
                self.store.forget_available(&user, st.version).await;
            } else if let Some(r) = self.store.release(&user, Some(st.version)).await {
                Counters::bump(&self.counters.zombies_cleared);
                self.timers.cancel(&user);
                tracing::warn!(handler = HANDLER, user = %user, status = r.previous.status.as_str(), "zombie busy state reset to available");
                if let Some(ended) = r.ended {
                    self.announce_ended(&ended, "peer_disconnected").await;
                }
            }
        }
    }
}
