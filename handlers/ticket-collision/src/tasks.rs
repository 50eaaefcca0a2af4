//! Background tasks: typing expiry and the stale-viewer sweep. Both read the store's
//! ordered indexes (due deadlines, oldest activity), never a scan of all tickets, and
//! re-check each candidate atomically in the store before acting.
//!
//! On a cluster both run on every node. They may all see the same candidate, but the
//! store's re-check (`expire_typing`, `remove_if_stale`) succeeds for exactly one of
//! them, under the ticket's order lock, and only that node tells the room.

use std::sync::Arc;
use std::time::Duration;

use plugboard::CancellationToken;

use crate::TicketCollision;
use crate::events::now_ms;
use crate::notify::LeftReason;
use crate::store::StoreError;

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
    /// `viewers:updated` to the room. Stops at the first store failure (the next tick
    /// tries again).
    pub(crate) async fn expire_typing(&self, now: u64) -> usize {
        let mut expired = 0;
        loop {
            let due = match self.store().map(|s| s.due_typing(now, BATCH)) {
                Ok(read) => read.await,
                Err(e) => Err(e),
            };
            let due = match due {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(handler = "ticket-collision", task = "typing-expiry", error = %e, "store read failed");
                    return expired;
                }
            };
            let n = due.len();
            for (ticket, agent) in due {
                match self.expire_one(&ticket, &agent, now).await {
                    Ok(true) => expired += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(handler = "ticket-collision", task = "typing-expiry", user = agent, ticket, error = %e, "expiry failed");
                        return expired;
                    }
                }
            }
            if n < BATCH {
                return expired;
            }
        }
    }

    /// Ends one typing status if it is still due (one node wins), and tells the room.
    async fn expire_one(&self, ticket: &str, agent: &str, now: u64) -> Result<bool, StoreError> {
        let _order = self.lock(ticket).await?;
        let Some(out) = self.store()?.expire_typing(ticket, agent, now).await? else {
            return Ok(false);
        };
        if let Some(io) = self.io.get() {
            self.to_others(io, "agent:stopped_typing", ticket, &out.viewer)
                .await;
            self.viewers_updated(io, ticket, &out.viewers).await;
        }
        tracing::debug!(
            handler = "ticket-collision",
            task = "typing-expiry",
            user = agent,
            ticket,
            "typing expired"
        );
        Ok(true)
    }

    /// Removes every viewer with no activity since before `cutoff`: `agent:left` with
    /// reason `timeout` to the room (the agent's sockets included), then its sockets leave
    /// the room and the rest hear `viewers:updated`. Stops at the first store failure
    /// (the next sweep tries again).
    pub(crate) async fn sweep_stale(&self, cutoff: u64) -> usize {
        let mut removed = 0;
        loop {
            let stale = match self.store().map(|s| s.stale(cutoff, BATCH)) {
                Ok(read) => read.await,
                Err(e) => Err(e),
            };
            let stale = match stale {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(handler = "ticket-collision", task = "stale-sweeper", error = %e, "store read failed");
                    return removed;
                }
            };
            let n = stale.len();
            for (ticket, agent) in stale {
                match self.sweep_one(&ticket, &agent, cutoff).await {
                    Ok(true) => removed += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(handler = "ticket-collision", task = "stale-sweeper", user = agent, ticket, error = %e, "sweep failed");
                        return removed;
                    }
                }
            }
            if n < BATCH {
                return removed;
            }
        }
    }

    /// Removes one viewer if it is still idle (one node wins), and tells the room.
    async fn sweep_one(&self, ticket: &str, agent: &str, cutoff: u64) -> Result<bool, StoreError> {
        let _order = self.lock(ticket).await?;
        let Some(out) = self.store()?.remove_if_stale(ticket, agent, cutoff).await? else {
            return Ok(false);
        };
        self.announce_removal(ticket, &out, LeftReason::Timeout)
            .await;
        tracing::info!(
            handler = "ticket-collision",
            task = "stale-sweeper",
            user = agent,
            ticket,
            "stale viewer removed"
        );
        Ok(true)
    }

    /// Tells the room that the server removed an agent and takes its sockets out.
    pub(crate) async fn announce_removal(
        &self,
        ticket: &str,
        out: &crate::Removal,
        why: LeftReason,
    ) {
        let Some(io) = self.io.get() else { return };
        self.agent_left(io, ticket, &out.removed.viewer.agent_id, why)
            .await;
        self.leave_room(io, ticket, &out.removed.sockets).await;
        self.viewers_updated(io, ticket, &out.viewers).await;
    }
}
