//! Background tasks: typing expiry and the stale-viewer sweep. Both read the store's
//! ordered indexes (due deadlines, oldest activity), never a scan of all tickets, and
//! re-check each candidate atomically in the store before acting.

use std::sync::Arc;
use std::time::Duration;

use plugboard::CancellationToken;

use crate::TicketCollision;
use crate::events::now_ms;
use crate::notify::LeftReason;

/// Candidates handled per store read.
const BATCH: usize = 500;

impl TicketCollision {
    pub(crate) async fn run_typing_expiry(
        self: Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => { self.expire_typing(now_ms()).await; }
            }
        }
    }

    pub(crate) async fn run_stale_sweeper(
        self: Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; nothing is stale at start
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    let cutoff = now_ms().saturating_sub(self.config().stale_after_ms);
                    self.sweep_stale(cutoff).await;
                }
            }
        }
    }

    /// Ends every typing status due at `now`: `agent:stopped_typing` to the other agents,
    /// `viewers:updated` to the room.
    pub(crate) async fn expire_typing(&self, now: u64) -> usize {
        let mut expired = 0;
        loop {
            let due = match self.store.due_typing(now, BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(handler = "ticket-collision", task = "typing-expiry", error = %e, "store read failed");
                    return expired;
                }
            };
            let n = due.len();
            for (ticket, agent) in due {
                let _order = self.locks.lock(&ticket).await;
                let Ok(Some(out)) = self.store.expire_typing(&ticket, &agent, now).await else {
                    continue;
                };
                expired += 1;
                if let Some(io) = self.io.get() {
                    self.to_others(io, "agent:stopped_typing", &ticket, &out.viewer)
                        .await;
                    self.viewers_updated(io, &ticket, &out.viewers).await;
                }
                tracing::debug!(
                    handler = "ticket-collision",
                    task = "typing-expiry",
                    user = agent,
                    ticket,
                    "typing expired"
                );
            }
            if n < BATCH {
                return expired;
            }
        }
    }

    /// Removes every viewer with no activity since before `cutoff`: `agent:left` with
    /// reason `timeout` to the room (the agent's sockets included), then its sockets leave
    /// the room and the rest hear `viewers:updated`.
    pub(crate) async fn sweep_stale(&self, cutoff: u64) -> usize {
        let mut removed = 0;
        loop {
            let stale = match self.store.stale(cutoff, BATCH).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(handler = "ticket-collision", task = "stale-sweeper", error = %e, "store read failed");
                    return removed;
                }
            };
            let n = stale.len();
            for (ticket, agent) in stale {
                let _order = self.locks.lock(&ticket).await;
                let Ok(Some(out)) = self.store.remove_if_stale(&ticket, &agent, cutoff).await
                else {
                    continue;
                };
                removed += 1;
                self.announce_removal(&ticket, &out, LeftReason::Timeout)
                    .await;
                tracing::info!(
                    handler = "ticket-collision",
                    task = "stale-sweeper",
                    user = agent,
                    ticket,
                    "stale viewer removed"
                );
            }
            if n < BATCH {
                break;
            }
        }
        removed
    }

    /// Tells the room that the server removed an agent and takes its sockets out.
    pub(crate) async fn announce_removal(
        &self,
        ticket: &str,
        out: &crate::Removal,
        why: LeftReason,
    ) {
        if let Some(io) = self.io.get() {
            self.agent_left(io, ticket, &out.removed.viewer.agent_id, why)
                .await;
            self.leave_room(ticket, &out.removed.sockets);
            self.viewers_updated(io, ticket, &out.viewers).await;
        } else {
            self.leave_room(ticket, &out.removed.sockets);
        }
    }
}
