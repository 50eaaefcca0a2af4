//! [`DisconnectReason`]: why a socket went away, including the reason only a cluster knows.

use socketioxide::socket::DisconnectReason as SioReason;

/// Why a socket went away. The first eight mirror socketioxide's reasons; [`NodeDown`]
/// is plugboard's own: the node that held the socket stopped heartbeating, and another
/// node cleaned up after it.
///
/// [`NodeDown`]: DisconnectReason::NodeDown
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the connection gracefully.
    TransportClose,
    /// The client sent several polling requests at once.
    MultipleHttpPollingError,
    /// The client sent a packet that could not be parsed.
    PacketParsingError,
    /// The connection was lost (network change, closed tab).
    TransportError,
    /// The client did not answer pings in time.
    HeartbeatTimeout,
    /// The client called `socket.disconnect()`.
    ClientNSDisconnect,
    /// The server disconnected the socket (kick, slow client, `kick_old`).
    ServerNSDisconnect,
    /// This server is shutting down.
    ClosingServer,
    /// The cluster node holding the socket died (cleaned up by another node).
    NodeDown,
}

impl DisconnectReason {
    /// A short snake_case name for logs and wire payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport_close",
            Self::MultipleHttpPollingError => "multiple_http_polling_error",
            Self::PacketParsingError => "packet_parsing_error",
            Self::TransportError => "transport_error",
            Self::HeartbeatTimeout => "heartbeat_timeout",
            Self::ClientNSDisconnect => "client_disconnect",
            Self::ServerNSDisconnect => "server_disconnect",
            Self::ClosingServer => "closing_server",
            Self::NodeDown => "node_down",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<SioReason> for DisconnectReason {
    fn from(r: SioReason) -> Self {
        match r {
            SioReason::TransportClose => Self::TransportClose,
            SioReason::MultipleHttpPollingError => Self::MultipleHttpPollingError,
            SioReason::PacketParsingError => Self::PacketParsingError,
            SioReason::TransportError => Self::TransportError,
            SioReason::HeartbeatTimeout => Self::HeartbeatTimeout,
            SioReason::ClientNSDisconnect => Self::ClientNSDisconnect,
            SioReason::ServerNSDisconnect => Self::ServerNSDisconnect,
            SioReason::ClosingServer => Self::ClosingServer,
        }
    }
}
