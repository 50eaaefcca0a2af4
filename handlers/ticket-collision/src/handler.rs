//! The [`TicketCollision`] handler: state, construction and wiring into the host.

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use plugboard::{BoxError, Handler, Identity, InitContext, Io, Socket, SocketId, async_trait};
use serde_json::{Value, json};

use crate::authz::{Authorizer, FnAuthorizer};
use crate::locks::TicketLocks;
use crate::{
    MemoryViewerStore, TicketCollisionConfig, TicketPayload, ViewAuthorizer, ViewPayload,
    ViewerStore,
};

/// How many ticket locks serialize room broadcasts (see the `locks` module).
const LOCK_STRIPES: usize = 1024;

/// Tracks who views and types on each ticket and warns agents about collisions.
///
/// Register it with `builder.handler(TicketCollision::new())` (or let the standalone
/// server pick it up through `register_handler!`), then fetch it in host code with
/// `host.handler::<TicketCollision>()` for [`viewers`](Self::viewers),
/// [`is_collision`](Self::is_collision), [`kick`](Self::kick) and [`stats`](Self::stats).
pub struct TicketCollision {
    pub(crate) store: Arc<dyn ViewerStore>,
    pub(crate) authorizer: Option<Authorizer>,
    pub(crate) config: OnceLock<TicketCollisionConfig>,
    pub(crate) io: OnceLock<Io>,
    /// The node's sockets that view at least one ticket, to reach them one by one
    /// (typing warnings) and to take them out of a room (kick, timeout).
    pub(crate) sockets: DashMap<SocketId, Socket>,
    pub(crate) locks: TicketLocks,
}

impl std::fmt::Debug for TicketCollision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketCollision")
            .field("authorizer", &self.authorizer.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for TicketCollision {
    fn default() -> Self {
        Self::new()
    }
}

impl TicketCollision {
    /// A handler on the in-memory store; settings come from `[handlers.ticket_collision]`.
    pub fn new() -> Self {
        Self::with_store(Arc::new(MemoryViewerStore::new()))
    }

    /// A handler on a given store.
    pub fn with_store(store: Arc<dyn ViewerStore>) -> Self {
        Self {
            store,
            authorizer: None,
            config: OnceLock::new(),
            io: OnceLock::new(),
            sockets: DashMap::new(),
            locks: TicketLocks::new(LOCK_STRIPES),
        }
    }

    /// Checks every `ticket:view` with `f(identity, ticket_id)`; `false` answers `forbidden`.
    pub fn with_can_view<F>(self, f: F) -> Self
    where
        F: Fn(&Identity, &str) -> bool + Send + Sync + 'static,
    {
        self.with_authorizer(Arc::new(FnAuthorizer(f)))
    }

    /// Checks every `ticket:view` with an async [`ViewAuthorizer`].
    pub fn with_authorizer(mut self, authorizer: Arc<dyn ViewAuthorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// The settings in force (the defaults before `initialize`).
    pub fn config(&self) -> &TicketCollisionConfig {
        self.config.get_or_init(TicketCollisionConfig::default)
    }
}

#[async_trait]
impl Handler for TicketCollision {
    fn name(&self) -> &'static str {
        "ticket-collision"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        let cfg: TicketCollisionConfig = cx.config()?;
        cfg.validate()?;
        let (typing_every, sweep_every) = (
            cfg.typing_check_interval(),
            std::time::Duration::from_millis(cfg.sweep_interval_ms),
        );
        let _ = self.config.set(cfg);
        let _ = self.io.set(cx.io());

        let this = self.clone();
        cx.on("ticket:view", move |socket, p: ViewPayload| {
            this.clone().on_view(socket, p)
        })?;
        let this = self.clone();
        cx.on("ticket:typing", move |socket, p: TicketPayload| {
            this.clone().on_typing(socket, p)
        })?;
        let this = self.clone();
        cx.on("ticket:stop_typing", move |socket, p: TicketPayload| {
            this.clone().on_stop_typing(socket, p)
        })?;
        let this = self.clone();
        cx.on("ticket:leave", move |socket, p: TicketPayload| {
            this.clone().on_leave(socket, p)
        })?;
        let this = self.clone();
        cx.on_disconnect(move |socket, _reason| this.clone().on_disconnect(socket));

        let this = self.clone();
        cx.spawn("typing-expiry", move |stop| {
            this.run_typing_expiry(typing_every, stop)
        });
        let this = self.clone();
        cx.spawn("stale-sweeper", move |stop| {
            this.run_stale_sweeper(sweep_every, stop)
        });
        Ok(())
    }

    async fn stats(&self) -> Value {
        match self.store.stats(self.config().stats_top).await {
            Ok(stats) => serde_json::to_value(stats).unwrap_or_default(),
            Err(e) => json!({ "error": e.to_string() }),
        }
    }
}

plugboard::register_handler!(TicketCollision::new);
