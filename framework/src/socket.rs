//! [`Socket`]: one connected client as handlers see it. The adapter type of the
//! underlying socketioxide socket never appears here, so handler code is the same on one
//! node and on a Redis cluster.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError};

use crate::Identity;
use crate::adapter::{AnyIo, AnySocketRef, Either, either};
use crate::config::SlowClientPolicy;
use crate::io::{Broadcast, Shared};

/// A socket id, unique across the nodes of a cluster.
pub type SocketId = Sid;

/// What a [`Socket`] points at.
#[derive(Clone)]
pub(crate) enum Handle {
    /// A socket of this node.
    Here(AnySocketRef),
    /// A socket of a cluster node that died, handed to disconnect hooks (reason
    /// [`NodeDown`](crate::DisconnectReason::NodeDown)) by the node cleaning up after it.
    Gone { id: Sid, io: AnyIo },
}

/// One connected client: its identity, its rooms, and a way to talk to it.
///
/// In a disconnect hook the socket is already disconnected: emits are not delivered and
/// it is in no room. With reason [`NodeDown`](crate::DisconnectReason::NodeDown) it is a
/// socket of another node that died; its id and identity are all that is left of it.
#[derive(Clone)]
pub struct Socket {
    pub(crate) handle: Handle,
    pub(crate) identity: Arc<Identity>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("user", &self.identity.user_id)
            .finish()
    }
}

impl Socket {
    /// The socket id.
    pub fn id(&self) -> SocketId {
        match &self.handle {
            Handle::Here(s) => either!(s, s => s.id),
            Handle::Gone { id, .. } => *id,
        }
    }

    /// The identity established at handshake.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Shorthand for `identity().user_id`.
    pub fn user_id(&self) -> &str {
        &self.identity.user_id
    }

    /// The shared identity handle (cheap to clone into state).
    pub fn identity_arc(&self) -> Arc<Identity> {
        self.identity.clone()
    }

    /// True while the client is connected.
    pub fn connected(&self) -> bool {
        match &self.handle {
            Handle::Here(s) => either!(s, s => s.connected()),
            Handle::Gone { .. } => false,
        }
    }

    /// Sends an event to this client. Returns false when it was not sent (socket gone or
    /// its buffer full, in which case the slow-client policy applies).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> bool {
        let Handle::Here(s) = &self.handle else {
            return false;
        };
        let wire = self.shared.names.wire(event);
        match either!(s, s => s.emit(wire, data)) {
            Ok(()) => true,
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                self.on_buffer_full(event);
                false
            }
            Err(e) => {
                tracing::debug!(socket = %self.id(), event, error = %e, "emit not delivered");
                false
            }
        }
    }

    pub(crate) fn on_buffer_full(&self, event: &str) {
        self.shared.metrics.slow_client();
        match self.shared.slow_client {
            SlowClientPolicy::Drop => {
                tracing::warn!(socket = %self.id(), user = %self.identity.user_id, event, "send buffer full, message dropped");
            }
            SlowClientPolicy::Disconnect => {
                tracing::warn!(socket = %self.id(), user = %self.identity.user_id, event, "send buffer full, disconnecting slow client");
                self.disconnect();
            }
        }
    }

    /// Adds the socket to a room.
    pub fn join(&self, room: impl Into<String>) {
        if let Handle::Here(s) = &self.handle
            && self.connected()
        {
            either!(s, s => s.join(room.into()));
        }
    }

    /// Removes the socket from a room.
    pub fn leave(&self, room: impl Into<String>) {
        if let Handle::Here(s) = &self.handle {
            either!(s, s => s.leave(room.into()));
        }
    }

    /// The rooms this socket is in.
    pub fn rooms(&self) -> Vec<String> {
        let Handle::Here(s) = &self.handle else {
            return Vec::new();
        };
        let rooms = either!(s, s => s.rooms());
        rooms.into_iter().map(|r| r.into_owned()).collect()
    }

    /// A broadcast to a room (on every node of a cluster), excluding this socket.
    pub fn to(&self, room: impl Into<String>) -> Broadcast {
        let op = match &self.handle {
            Handle::Here(s) => match s {
                Either::Local(s) => Either::Local(s.to(room.into())),
                Either::Redis(s) => Either::Redis(s.to(room.into())),
            },
            Handle::Gone { id, io } => match io {
                Either::Local(io) => Either::Local(io.to(room.into()).except(id.to_string())),
                Either::Redis(io) => Either::Redis(io.to(room.into()).except(id.to_string())),
            },
        };
        Broadcast::new(op, self.shared.clone())
    }

    /// Disconnects the socket from the server side (the client does not reconnect by itself).
    pub fn disconnect(&self) {
        if let Handle::Here(s) = &self.handle {
            either!(s, s => disconnect_when_possible(s.clone()));
        }
    }
}

/// `disconnect` fails while the send buffer is full (the DISCONNECT packet has no room);
/// retry a few times as the buffer drains, after that Engine.IO's heartbeat closes it.
pub(crate) fn disconnect_when_possible<A: socketioxide::adapter::Adapter>(s: SocketRef<A>) {
    if s.clone().disconnect().is_ok() {
        return;
    }
    tokio::spawn(async move {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !s.connected() || s.clone().disconnect().is_ok() {
                return;
            }
        }
    });
}
