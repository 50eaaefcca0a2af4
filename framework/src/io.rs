//! [`Io`]: broadcasting to rooms from anywhere (event handlers, host APIs, HTTP routes).
//! On a cluster every broadcast reaches the sockets of every node.

use std::sync::Arc;

use serde::Serialize;

use crate::adapter::{AnyIo, AnyOperators, Either, either};
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
    pub(crate) io: AnyIo,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Io")
    }
}

impl Io {
    /// A broadcast to every socket in `room`, on every node; `room` may be a socket id
    /// (`id.to_string()`) to reach one socket wherever it is connected.
    pub fn to(&self, room: impl Into<String>) -> Broadcast {
        let op = match &self.io {
            Either::Local(io) => Either::Local(io.to(room.into())),
            Either::Redis(io) => Either::Redis(io.to(room.into())),
        };
        Broadcast::new(op, self.shared.clone())
    }

    /// How many sockets of this node are in `room`.
    pub fn local_room_len(&self, room: impl Into<String>) -> usize {
        either!(&self.io, io => io.to(room.into()).local().sockets().len())
    }

    /// Disconnects one socket of this node (server side). Returns false if it is not here.
    pub fn disconnect_socket(&self, id: crate::SocketId) -> bool {
        either!(&self.io, io => io
            .get_socket(id)
            .map(crate::socket::disconnect_when_possible)
            .is_some())
    }

    /// How many sockets are connected to this node.
    pub fn local_connections(&self) -> usize {
        either!(&self.io, io => io.sockets().len())
    }

    /// True when broadcasts reach other nodes (store = "redis").
    pub fn is_clustered(&self) -> bool {
        matches!(self.io, Either::Redis(_))
    }
}

/// A pending broadcast; add rooms with [`Broadcast::to`], exclude with
/// [`Broadcast::except`], then [`emit`](Broadcast::emit) an event, or make the sockets
/// [`join`](Broadcast::join) or [`leave`](Broadcast::leave) a room, or
/// [`disconnect`](Broadcast::disconnect) them, on whichever node they are.
pub struct Broadcast {
    op: AnyOperators,
    shared: Arc<Shared>,
}

impl Broadcast {
    pub(crate) fn new(op: AnyOperators, shared: Arc<Shared>) -> Self {
        Self { op, shared }
    }

    /// Also send to `room`.
    pub fn to(self, room: impl Into<String>) -> Self {
        let op = match self.op {
            Either::Local(op) => Either::Local(op.to(room.into())),
            Either::Redis(op) => Either::Redis(op.to(room.into())),
        };
        Self { op, ..self }
    }

    /// Do not send to sockets in `room`. Every socket is in a room named by its id
    /// (`socket.id().to_string()`), so this also excludes single sockets.
    pub fn except(self, room: impl Into<String>) -> Self {
        let op = match self.op {
            Either::Local(op) => Either::Local(op.except(room.into())),
            Either::Redis(op) => Either::Redis(op.except(room.into())),
        };
        Self { op, ..self }
    }

    /// Sends the event. Sockets whose buffer is full are counted as slow clients; the
    /// others still receive it. On a cluster whose Redis is unreachable, only this node's
    /// sockets receive it (delivery across nodes is at most once).
    pub async fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) {
        let wire = self.shared.names.wire(event);
        let result = either!(self.op, op => op.emit(wire, data).await);
        if let Err(e) = result {
            self.shared.metrics.slow_client();
            tracing::warn!(event, error = %e, "broadcast not delivered to every socket");
        }
    }

    /// Makes the selected sockets join `room`, on every node.
    pub async fn join(self, room: impl Into<String>) {
        let room = room.into();
        let result = match self.op {
            Either::Local(op) => op.join(room.clone()).await.map_err(|e| e.to_string()),
            Either::Redis(op) => op.join(room.clone()).await.map_err(|e| e.to_string()),
        };
        if let Err(error) = result {
            tracing::warn!(room, error, "join across nodes failed");
        }
    }

    /// Makes the selected sockets leave `room`, on every node.
    pub async fn leave(self, room: impl Into<String>) {
        let room = room.into();
        let result = match self.op {
            Either::Local(op) => op.leave(room.clone()).await.map_err(|e| e.to_string()),
            Either::Redis(op) => op.leave(room.clone()).await.map_err(|e| e.to_string()),
        };
        if let Err(error) = result {
            tracing::warn!(room, error, "leave across nodes failed");
        }
    }

    /// Disconnects the selected sockets (server side), on every node.
    pub async fn disconnect(self) {
        let result = either!(self.op, op => op.disconnect().await);
        if let Err(e) = result {
            tracing::warn!(error = %e, "disconnect across nodes failed");
        }
    }
}
