//! What the rooms hear: the server -> client events and their payloads.

use plugboard::{Io, Socket, SocketId, user_room};
use serde_json::json;

use crate::{TicketCollision, Viewer, ViewerSockets, ViewerStatus};

/// The room of a ticket.
pub fn ticket_room(ticket_id: &str) -> String {
    format!("ticket:{ticket_id}")
}

/// Why an agent left a ticket (`agent:left` `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeftReason {
    /// `ticket:leave`, or the host removed the agent.
    Left,
    /// The agent's last socket on the ticket disconnected.
    Disconnected,
    /// No activity for `stale_after_ms`.
    Timeout,
}

impl LeftReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Disconnected => "disconnected",
            Self::Timeout => "timeout",
        }
    }
}

/// "Ann", "Ann and Bob", "Ann, Bob and Cid", "Ann, Bob and 2 others".
pub(crate) fn names(agents: &[Viewer]) -> String {
    let n: Vec<&str> = agents.iter().map(|v| v.agent_name.as_str()).collect();
    match n.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b} and {c}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} others", rest.len()),
    }
}

/// The human message of a `collision:warning`.
pub(crate) fn warning_message(kind: ViewerStatus, others: &[Viewer]) -> String {
    let verb = if others.len() == 1 { "is" } else { "are" };
    let what = match kind {
        ViewerStatus::Viewing => "viewing",
        ViewerStatus::Typing => "typing a reply on",
    };
    format!("{} {verb} also {what} this ticket", names(others))
}

/// `collision:warning` payload.
pub(crate) fn warning(ticket: &str, kind: ViewerStatus, others: &[Viewer]) -> serde_json::Value {
    json!({
        "ticketId": ticket,
        "type": kind,
        "agents": others,
        "message": warning_message(kind, others),
    })
}

impl TicketCollision {
    /// `viewers:updated` to the whole room.
    pub(crate) async fn viewers_updated(&self, io: &Io, ticket: &str, viewers: &[Viewer]) {
        io.to(ticket_room(ticket))
            .emit(
                "viewers:updated",
                &json!({ "ticketId": ticket, "viewers": viewers }),
            )
            .await;
    }

    /// `agent:joined`, `agent:typing`, `agent:stopped_typing` to the other agents in the
    /// room (none of the agent's own tabs).
    pub(crate) async fn to_others(&self, io: &Io, event: &str, ticket: &str, v: &Viewer) {
        io.to(ticket_room(ticket))
            .except(user_room(&v.agent_id))
            .emit(
                event,
                &json!({ "ticketId": ticket, "agentId": v.agent_id, "agentName": v.agent_name }),
            )
            .await;
    }

    /// `agent:left` to the room. After `ticket:leave` and disconnects the agent has no
    /// socket left in it; after a kick or timeout its sockets are still there and hear
    /// that they were removed.
    pub(crate) async fn agent_left(&self, io: &Io, ticket: &str, agent: &str, why: LeftReason) {
        io.to(ticket_room(ticket))
            .emit(
                "agent:left",
                &json!({ "ticketId": ticket, "agentId": agent, "reason": why.as_str() }),
            )
            .await;
    }

    /// `collision:warning` of type `typing` to every typing agent (its sockets on the
    /// ticket), naming the other typers. Nothing while fewer than two agents type.
    pub(crate) fn typing_collision(&self, ticket: &str, typers: &[ViewerSockets]) {
        if typers.len() < 2 {
            return;
        }
        for t in typers {
            let others: Vec<Viewer> = typers
                .iter()
                .filter(|o| o.viewer.agent_id != t.viewer.agent_id)
                .map(|o| o.viewer.clone())
                .collect();
            let payload = warning(ticket, ViewerStatus::Typing, &others);
            for s in &t.sockets {
                if let Some(socket) = self.socket(*s) {
                    socket.emit("collision:warning", &payload);
                }
            }
        }
    }

    /// Makes sockets removed from a ticket by the server (kick, timeout) leave its room.
    pub(crate) fn leave_room(&self, ticket: &str, sockets: &[SocketId]) {
        let room = ticket_room(ticket);
        for s in sockets {
            if let Some(socket) = self.socket(*s) {
                socket.leave(room.clone());
            }
        }
    }

    fn socket(&self, id: SocketId) -> Option<Socket> {
        self.sockets.get(&id).map(|s| s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str) -> Viewer {
        Viewer {
            agent_id: name.to_lowercase(),
            agent_name: name.into(),
            status: ViewerStatus::Viewing,
            since: 0,
        }
    }

    #[test]
    fn warning_messages_name_the_other_agents() {
        assert_eq!(
            warning_message(ViewerStatus::Viewing, &[v("Ann")]),
            "Ann is also viewing this ticket"
        );
        assert_eq!(
            warning_message(ViewerStatus::Typing, &[v("Ann"), v("Bob")]),
            "Ann and Bob are also typing a reply on this ticket"
        );
        let many = [v("A"), v("B"), v("C"), v("D")];
        assert_eq!(names(&many), "A, B and 2 others");
        assert_eq!(names(&many[..3]), "A, B and C");
    }

    #[test]
    fn warning_payload_carries_type_and_agents() {
        let w = warning("T1", ViewerStatus::Typing, &[v("Ann")]);
        assert_eq!(w["type"], "typing");
        assert_eq!(w["agents"][0]["agentName"], "Ann");
        assert_eq!(w["agents"][0]["status"], "viewing");
        assert_eq!(w["ticketId"], "T1");
    }
}
