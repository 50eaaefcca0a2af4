//! The values the store hands back: viewers, the outcome of each change, statistics.

use plugboard::SocketId;
use serde::Serialize;

/// What a viewer is doing on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewerStatus {
    /// The ticket is open.
    Viewing,
    /// The agent is typing a reply.
    Typing,
}

/// One agent on a ticket, as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Viewer {
    /// The agent's user id (from the handshake identity).
    pub agent_id: String,
    /// The display name.
    pub agent_name: String,
    /// Viewing or typing.
    pub status: ViewerStatus,
    /// When the agent started viewing the ticket, ms since epoch.
    pub since: u64,
}

/// A viewer with the sockets through which it views the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerSockets {
    /// The viewer.
    pub viewer: Viewer,
    /// Its sockets on this ticket (several tabs), oldest first.
    pub sockets: Vec<SocketId>,
}

/// What `ticket:view` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOutcome {
    /// The agent was not viewing the ticket before (no other tab of it does).
    pub agent_joined: bool,
    /// The socket was not viewing the ticket before.
    pub socket_added: bool,
    /// Every viewer after the change, oldest first.
    pub viewers: Vec<Viewer>,
}

/// What `ticket:typing` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingOutcome {
    /// The agent went from viewing to typing (false: it was typing already, the
    /// deadline moved).
    pub started: bool,
    /// The typing agent.
    pub viewer: Viewer,
    /// Every viewer after the change.
    pub viewers: Vec<Viewer>,
    /// Every agent typing on the ticket now (this one included), with its sockets.
    pub typers: Vec<ViewerSockets>,
}

/// What a status change back to viewing (`ticket:stop_typing`, expiry) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopOutcome {
    /// The agent was typing and is viewing now.
    pub stopped: bool,
    /// The agent.
    pub viewer: Viewer,
    /// Every viewer after the change.
    pub viewers: Vec<Viewer>,
}

/// What removing one socket from a ticket changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveOutcome {
    /// It was the agent's last socket on the ticket: the agent is gone from it.
    pub agent_left: bool,
    /// The agent as it was.
    pub viewer: Viewer,
    /// Every viewer after the change (empty: the ticket has no state left).
    pub viewers: Vec<Viewer>,
}

/// What removing a whole agent from a ticket (kick, stale sweep) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The removed agent and the sockets it viewed the ticket through.
    pub removed: ViewerSockets,
    /// Every viewer after the change.
    pub viewers: Vec<Viewer>,
}

/// One ticket in the stats list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketStats {
    /// The ticket.
    pub ticket_id: String,
    /// Agents viewing it.
    pub viewer_count: usize,
    /// Agents typing on it.
    pub typing_count: usize,
}

/// Handler statistics: `{ activeTickets, totalViewers, typingCount, tickets, trackedSockets }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewerStats {
    /// Tickets with at least one viewer.
    pub active_tickets: usize,
    /// Viewers (agent and ticket pairs) over all tickets.
    pub total_viewers: usize,
    /// Typing viewers over all tickets.
    pub typing_count: usize,
    /// The tickets with the most viewers, at most `stats_top`, most viewers first.
    pub tickets: Vec<TicketStats>,
    /// Sockets viewing at least one ticket.
    pub tracked_sockets: usize,
}
