//! The host's shared state, reachable from every socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dashmap::DashMap;

use crate::dispatch::SocketState;
use crate::idempotency::IdempotencyStore;
use crate::identity::Authenticator;
use crate::metrics::Metrics;
use crate::route::{ConnectFn, DisconnectFn, Hook, Route};
use crate::{Config, Io, Sessions, Socket, SocketId};

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
}

/// The room every socket of a user joins, so handlers can reach a user on every tab.
pub fn user_room(user_id: &str) -> String {
    format!("user:{user_id}")
}
