//! The client events: `ticket:view`, `ticket:typing`, `ticket:stop_typing`,
//! `ticket:leave`, and the disconnect hook.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use plugboard::{DisconnectReason, HandlerError, Reply, Socket};
use serde::Deserialize;
use serde_json::json;

use crate::notify::{LeftReason, ticket_room, warning};
use crate::store::{StoreError, ViewRequest};
use crate::{TicketCollision, Viewer, ViewerStatus};

/// The longest accepted `ticketId` and `agentName`, in characters.
pub const MAX_ID_CHARS: usize = 256;

/// `ticket:view` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewPayload {
    /// The ticket to view.
    pub ticket_id: String,
    /// The name to show; the identity's name when absent or blank.
    #[serde(default)]
    pub agent_name: Option<String>,
}

/// `ticket:typing`, `ticket:stop_typing` and `ticket:leave` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketPayload {
    /// The ticket.
    pub ticket_id: String,
}

/// Refuses an empty or over-long `ticketId`.
pub(crate) fn check_ticket(id: &str) -> Result<(), HandlerError> {
    if id.is_empty() {
        return Err(
            HandlerError::invalid("ticketId must not be empty").with_detail("field", "ticketId")
        );
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(HandlerError::invalid(format!(
            "ticketId must be at most {MAX_ID_CHARS} characters"
        ))
        .with_detail("field", "ticketId"));
    }
    Ok(())
}

fn agent_name<'a>(given: Option<&'a str>, socket: &'a Socket) -> Result<&'a str, HandlerError> {
    match given.map(str::trim) {
        Some(n) if n.chars().count() > MAX_ID_CHARS => Err(HandlerError::invalid(format!(
            "agentName must be at most {MAX_ID_CHARS} characters"
        ))
        .with_detail("field", "agentName")),
        Some(n) if !n.is_empty() => Ok(n),
        _ => Ok(&socket.identity().name),
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooManyTickets { limit } => {
                HandlerError::forbidden(e.to_string()).with_detail("limit", limit)
            }
            StoreError::Unavailable(_) => HandlerError::unavailable(e.to_string()),
            StoreError::Backend(_) => HandlerError::internal(e.to_string()),
        }
    }
}

fn not_viewing(ticket: &str) -> HandlerError {
    HandlerError::not_found(format!(
        "this socket does not view ticket {ticket}; send ticket:view first"
    ))
}

fn others(viewers: &[Viewer], agent: &str) -> Vec<Viewer> {
    viewers
        .iter()
        .filter(|v| v.agent_id != agent)
        .cloned()
        .collect()
}

impl TicketCollision {
    pub(crate) async fn on_view(self: Arc<Self>, socket: Socket, p: ViewPayload) -> Reply {
        check_ticket(&p.ticket_id)?;
        let name = agent_name(p.agent_name.as_deref(), &socket)?;
        let ticket = p.ticket_id.as_str();
        if let Some(authz) = &self.authorizer
            && !authz.can_view(socket.identity(), ticket).await
        {
            tracing::info!(handler = "ticket-collision", event = "ticket:view", socket = %socket.id(), user = socket.user_id(), ticket, "view refused by can_view");
            return Err(HandlerError::forbidden(format!(
                "you may not view ticket {ticket}"
            )));
        }
        let Some(io) = self.io.get() else {
            return Err(HandlerError::unavailable(
                "ticket-collision is not initialized",
            ));
        };
        let agent = socket.user_id();
        let _order = self.lock(ticket).await?;
        let out = self
            .store()?
            .view(ViewRequest {
                ticket,
                agent,
                name,
                socket: socket.id(),
                now: now_ms(),
                max_tickets_per_socket: self.config().max_tickets_per_socket,
            })
            .await?;
        socket.join(ticket_room(ticket));
        if out.agent_joined
            && let Some(me) = out.viewers.iter().find(|v| v.agent_id == agent)
        {
            self.to_others(io, "agent:joined", ticket, me).await;
        }
        self.viewers_updated(io, ticket, &out.viewers).await;
        let others = others(&out.viewers, agent);
        if !others.is_empty() {
            socket.emit(
                "collision:warning",
                &warning(ticket, ViewerStatus::Viewing, &others),
            );
        }
        tracing::debug!(handler = "ticket-collision", event = "ticket:view", socket = %socket.id(), user = agent, ticket, viewers = out.viewers.len(), "viewing");
        Ok(json!({ "ok": true, "ticketId": ticket, "viewers": out.viewers }))
    }

    pub(crate) async fn on_typing(self: Arc<Self>, socket: Socket, p: TicketPayload) -> Reply {
        check_ticket(&p.ticket_id)?;
        let (ticket, io) = (p.ticket_id.as_str(), self.io.get());
        let cfg = self.config();
        let now = now_ms();
        let _order = self.lock(ticket).await?;
        let until = now.saturating_add(cfg.typing_timeout_ms);
        let Some(out) = self
            .store()?
            .typing(ticket, socket.id(), now, until)
            .await?
        else {
            return Err(not_viewing(ticket));
        };
        if out.started
            && let Some(io) = io
        {
            self.to_others(io, "agent:typing", ticket, &out.viewer)
                .await;
            self.viewers_updated(io, ticket, &out.viewers).await;
            self.typing_collision(io, ticket, &out.typers).await;
            tracing::debug!(handler = "ticket-collision", event = "ticket:typing", socket = %socket.id(), user = socket.user_id(), ticket, typers = out.typers.len(), "typing");
        }
        Ok(json!({ "ok": true, "ticketId": ticket, "status": ViewerStatus::Typing }))
    }

    pub(crate) async fn on_stop_typing(self: Arc<Self>, socket: Socket, p: TicketPayload) -> Reply {
        check_ticket(&p.ticket_id)?;
        let ticket = p.ticket_id.as_str();
        let _order = self.lock(ticket).await?;
        let Some(out) = self
            .store()?
            .stop_typing(ticket, socket.id(), now_ms())
            .await?
        else {
            return Err(not_viewing(ticket));
        };
        if out.stopped
            && let Some(io) = self.io.get()
        {
            self.to_others(io, "agent:stopped_typing", ticket, &out.viewer)
                .await;
            self.viewers_updated(io, ticket, &out.viewers).await;
        }
        Ok(json!({ "ok": true, "ticketId": ticket, "status": ViewerStatus::Viewing }))
    }

    pub(crate) async fn on_leave(self: Arc<Self>, socket: Socket, p: TicketPayload) -> Reply {
        check_ticket(&p.ticket_id)?;
        let ticket = p.ticket_id.as_str();
        self.leave_one(&socket, ticket, LeftReason::Left).await?;
        Ok(json!({ "ok": true, "ticketId": ticket }))
    }

    /// Removes the socket from every ticket it views; the rooms where it was the agent's
    /// last socket hear `agent:left` with reason `node_down` when the socket's node died
    /// (another node cleans up after it), `disconnected` for every other reason.
    ///
    /// On a store failure the state is kept: the framework runs the hook again once the
    /// store answers (and the stale sweep removes whatever is left after that).
    pub(crate) async fn on_disconnect(self: Arc<Self>, socket: Socket, reason: DisconnectReason) {
        let why = LeftReason::on_disconnect(reason);
        let tickets = match self.store() {
            Ok(store) => store.tickets_of(socket.id()).await,
            Err(e) => Err(e),
        };
        match tickets {
            Ok(tickets) => {
                for ticket in tickets {
                    if let Err(e) = self.leave_one(&socket, &ticket, why).await {
                        tracing::warn!(handler = "ticket-collision", event = "disconnect", socket = %socket.id(), user = socket.user_id(), ticket, %reason, error = %e, "cleanup failed");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(handler = "ticket-collision", event = "disconnect", socket = %socket.id(), user = socket.user_id(), %reason, error = %e, "cleanup failed");
            }
        }
    }

    /// Takes one socket off one ticket and out of its room (a no-op for a socket that is
    /// gone), and tells the room when the agent is gone from the ticket.
    async fn leave_one(
        &self,
        socket: &Socket,
        ticket: &str,
        why: LeftReason,
    ) -> Result<(), StoreError> {
        let _order = self.lock(ticket).await?;
        let left = self.store()?.leave(ticket, socket.id()).await?;
        socket.leave(ticket_room(ticket));
        let Some(out) = left else {
            return Ok(());
        };
        if out.agent_left
            && let Some(io) = self.io.get()
        {
            self.agent_left(io, ticket, &out.viewer.agent_id, why).await;
            self.viewers_updated(io, ticket, &out.viewers).await;
            tracing::debug!(handler = "ticket-collision", event = "ticket:leave", socket = %socket.id(), user = socket.user_id(), ticket, ?why, "agent left ticket");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_ids_must_be_non_empty_and_at_most_256_chars() {
        assert!(check_ticket("T-1").is_ok());
        assert!(check_ticket(&"é".repeat(256)).is_ok());
        for bad in [String::new(), "x".repeat(257)] {
            let e = check_ticket(&bad).unwrap_err();
            assert_eq!(e.to_ack()["error"]["code"], "invalid_payload");
        }
    }

    #[test]
    fn payloads_need_a_string_ticket_id() {
        use serde_json::from_value;
        assert!(from_value::<TicketPayload>(json!({})).is_err());
        assert!(from_value::<TicketPayload>(json!({ "ticketId": 5 })).is_err());
        assert!(from_value::<TicketPayload>(json!("T1")).is_err());
        assert!(from_value::<ViewPayload>(json!({ "ticketId": "T", "agentName": 3 })).is_err());
        let ok: ViewPayload =
            from_value(json!({ "ticketId": "T", "agentName": null, "messageId": "m" })).unwrap();
        assert_eq!((ok.ticket_id.as_str(), ok.agent_name), ("T", None));
    }
}
