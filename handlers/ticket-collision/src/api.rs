//! The host API: what Rust services call on `host.handler::<TicketCollision>()`.

use crate::notify::LeftReason;
use crate::store::StoreError;
use crate::{TicketCollision, Viewer, ViewerStats};

impl TicketCollision {
    /// The agents on a ticket, oldest viewer first.
    pub async fn viewers(&self, ticket_id: &str) -> Result<Vec<Viewer>, StoreError> {
        self.store()?.viewers(ticket_id).await
    }

    /// True when two or more agents view the ticket.
    pub async fn is_collision(&self, ticket_id: &str) -> Result<bool, StoreError> {
        Ok(self.store()?.viewers(ticket_id).await?.len() >= 2)
    }

    /// Removes an agent from a ticket (e.g. the ticket was reassigned): the room, the
    /// agent's own tabs included, hears `agent:left` `{ reason: "left" }`, the agent's
    /// sockets leave the room, and the others get `viewers:updated`. Returns false when
    /// the agent was not on the ticket.
    pub async fn kick(&self, ticket_id: &str, agent_id: &str) -> Result<bool, StoreError> {
        let _order = self.lock(ticket_id).await?;
        let Some(out) = self.store()?.remove_agent(ticket_id, agent_id).await? else {
            return Ok(false);
        };
        self.announce_removal(ticket_id, &out, LeftReason::Left)
            .await;
        tracing::info!(
            handler = "ticket-collision",
            user = agent_id,
            ticket = ticket_id,
            "agent removed by host"
        );
        Ok(true)
    }

    /// `{ activeTickets, totalViewers, typingCount, tickets, trackedSockets }`, the
    /// tickets list capped at `stats_top` (most viewers first).
    pub async fn stats(&self) -> Result<ViewerStats, StoreError> {
        self.store()?.stats(self.config().stats_top).await
    }

    /// Ends every typing status due at `now_ms` (ms since epoch) right away, as the
    /// expiry task does on its next tick; returns how many ended.
    pub async fn expire_typing_now(&self, now_ms: u64) -> usize {
        self.expire_typing(now_ms).await
    }

    /// Removes every viewer idle since before `cutoff_ms` right away, as the sweeper
    /// does; returns how many were removed.
    pub async fn sweep_now(&self, cutoff_ms: u64) -> usize {
        self.sweep_stale(cutoff_ms).await
    }
}
