//! [`Io`]: broadcasting to rooms from anywhere (event handlers, host APIs, HTTP routes).

use std::sync::Arc;

use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::adapter::LocalAdapter;
use socketioxide::operators::BroadcastOperators;

use crate::config::SlowClientPolicy;
use crate::metrics::Metrics;
use crate::names::EventNames;

/// What every socket and broadcast handle shares.
pub(crate) struct Shared {
    pub(crate) names: EventNames,
    pub(crate) slow_client: SlowClientPolicy,
    pub(crate) metrics: Arc<Metrics>,
}

/// A handle to the Socket.IO server for broadcasting. Cheap to clone.
#[derive(Clone)]
pub struct Io {
    pub(crate) io: SocketIo<LocalAdapter>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Io")
    }
}

impl Io {
    /// A broadcast to every socket in `room`; `room` may be a socket id
    /// (`id.to_string()`) to reach one socket.
    pub fn to(&self, room: impl Into<String>) -> Broadcast {
        Broadcast::new(self.io.to(room.into()), self.shared.clone())
    }

    /// How many sockets of this node are in `room`.
    pub fn local_room_len(&self, room: impl Into<String>) -> usize {
        self.io.to(room.into()).sockets().len()
    }

    /// Disconnects one socket of this node (server side). Returns false if it is not here.
    pub fn disconnect_socket(&self, id: crate::SocketId) -> bool {
        match self.io.get_socket(id) {
            Some(s) => {
                crate::socket::disconnect_when_possible(s);
                true
            }
            None => false,
        }
    }

    /// How many sockets are connected to this node.
    pub fn local_connections(&self) -> usize {
        self.io.sockets().len()
    }
}

/// A pending broadcast; add rooms with [`Broadcast::to`], exclude with
/// [`Broadcast::except`], send with [`Broadcast::emit`].
pub struct Broadcast {
    op: BroadcastOperators<LocalAdapter>,
    shared: Arc<Shared>,
}

impl Broadcast {
    pub(crate) fn new(op: BroadcastOperators<LocalAdapter>, shared: Arc<Shared>) -> Self {
        Self { op, shared }
    }

    /// Also send to `room`.
    pub fn to(self, room: impl Into<String>) -> Self {
        Self {
            op: self.op.to(room.into()),
            shared: self.shared,
        }
    }

    /// Do not send to sockets in `room`. Every socket is in a room named by its id
    /// (`socket.id().to_string()`), so this also excludes single sockets.
    pub fn except(self, room: impl Into<String>) -> Self {
        Self {
            op: self.op.except(room.into()),
            shared: self.shared,
        }
    }

    /// Sends the event. Sockets whose buffer is full are counted as slow clients; the
    /// others still receive it.
    pub async fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) {
        let wire = self.shared.names.wire(event);
        if let Err(e) = self.op.emit(wire, data).await {
            self.shared.metrics.slow_client();
            tracing::warn!(event, error = %e, "broadcast not delivered to every socket");
        }
    }
}
