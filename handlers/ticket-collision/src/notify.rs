//! What the rooms hear: the server -> client events and their payloads.

use plugboard::{Broadcast, DisconnectReason, Io, SocketId, user_room};
use serde_json::json;

use crate::{TicketCollision, Viewer, ViewerSockets, ViewerStatus};

/// One broadcast to the given sockets, on whichever node each is (every socket is in
/// the room named by its id); `None` for no socket.
fn to_sockets(io: &Io, sockets: &[SocketId]) -> Option<Broadcast> {
    let (first, rest) = sockets.split_first()?;
    Some(
        rest.iter()
            .fold(io.to(first.to_string()), |b, s| b.to(s.to_string())),
    )
}

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
    /// The node holding the agent's last socket on the ticket died; another node
    /// cleaned up after it.
    NodeDown,
}

impl LeftReason {
    /// The `agent:left` reason for a socket that went away: `node_down` when its node
    /// died and another node cleans up after it, `disconnected` for every other reason
    /// (client gone, transport lost, kicked, this node shutting down).
    pub(crate) fn on_disconnect(reason: DisconnectReason) -> Self {
        match reason {
            DisconnectReason::NodeDown => Self::NodeDown,
            _ => Self::Disconnected,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Disconnected => "disconnected",
            Self::Timeout => "timeout",
            Self::NodeDown => "node_down",
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
    /// ticket, on whichever node they are), naming the other typers. Nothing while fewer
    /// than two agents type.
    pub(crate) async fn typing_collision(&self, io: &Io, ticket: &str, typers: &[ViewerSockets]) {
        if typers.len() < 2 {
            return;
        }
        for t in typers {
            let Some(to) = to_sockets(io, &t.sockets) else {
                continue;
            };
            let others: Vec<Viewer> = typers
                .iter()
                .filter(|o| o.viewer.agent_id != t.viewer.agent_id)
                .map(|o| o.viewer.clone())
                .collect();
            to.emit(
                "collision:warning",
                &warning(ticket, ViewerStatus::Typing, &others),
            )
            .await;
        }
    }

    /// Makes sockets removed from a ticket by the server (kick, timeout) leave its room,
    /// on whichever node they are.
    pub(crate) async fn leave_room(&self, io: &Io, ticket: &str, sockets: &[SocketId]) {
        if let Some(to) = to_sockets(io, sockets) {
            to.leave(ticket_room(ticket)).await;
        }
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
    fn only_a_dead_node_makes_agents_leave_with_node_down() {
        use DisconnectReason::*;
        assert_eq!(LeftReason::on_disconnect(NodeDown).as_str(), "node_down");
        for r in [
            TransportClose,
            MultipleHttpPollingError,
            PacketParsingError,
            TransportError,
            HeartbeatTimeout,
            ClientNSDisconnect,
            ServerNSDisconnect,
            ClosingServer,
        ] {
            assert_eq!(LeftReason::on_disconnect(r).as_str(), "disconnected", "{r}");
        }
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
