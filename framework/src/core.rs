//! The host's shared state, reachable from every socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dashmap::DashMap;

use crate::cluster::node::Node;
use crate::dispatch::SocketState;
use crate::idempotency::IdempotencyStore;
use crate::identity::Authenticator;
use crate::metrics::Metrics;
use crate::route::{ConnectFn, DisconnectFn, Hook, Route};
use crate::socket::Handle;
use crate::{Backend, Config, DisconnectReason, Identity, Io, Sessions, Socket, SocketId};

/// The frozen event table and hooks, set once every handler has initialized.
pub(crate) struct Table {
    pub(crate) events: HashMap<String, Arc<Route>>,
    pub(crate) on_connect: Vec<Hook<ConnectFn>>,
    pub(crate) on_disconnect: Vec<Hook<DisconnectFn>>,
}

/// A connected socket the host still has to clean up.
pub(crate) struct Live {
    pub(crate) socket: Socket,
    pub(crate) state: Arc<SocketState>,
}

pub(crate) struct Core {
    pub(crate) config: Arc<Config>,
    pub(crate) io: Io,
    pub(crate) sessions: Sessions,
    pub(crate) backend: Backend,
    /// This node's cluster membership (`store = "redis"`).
    pub(crate) node: Option<Arc<Node>>,
    pub(crate) idempotency: Arc<dyn IdempotencyStore>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) auth: Authenticator,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) table: OnceLock<Table>,
    pub(crate) live: DashMap<SocketId, Live>,
    pub(crate) started: Instant,
}

impl Core {
    pub(crate) fn table(&self) -> &Table {
        self.table
            .get()
            .expect("the namespace is only opened after the table is frozen")
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Redis failures seen so far (0 on one node): a change during a cleanup means the
    /// cleanup must run again once Redis answers.
    pub(crate) fn store_failures(&self) -> u64 {
        self.node
            .as_ref()
            .map_or(0, |n| n.redis.health().failures())
    }

    /// Runs the disconnect cleanup of a socket that is not (or no longer) on this node:
    /// one of a dead node, or one that left while Redis was unreachable.
    pub(crate) async fn cleanup_gone(
        self: &Arc<Self>,
        id: SocketId,
        identity: Arc<Identity>,
        reason: DisconnectReason,
    ) {
        let socket = Socket {
            handle: Handle::Gone {
                id,
                io: self.io.io.clone(),
            },
            identity,
            shared: self.io.shared.clone(),
        };
        crate::lifecycle::disconnect_hooks(self, socket, reason).await;
    }
}

/// The room every socket of a user joins, so handlers can reach a user on every tab.
pub fn user_room(user_id: &str) -> String {
    format!("user:{user_id}")
}
