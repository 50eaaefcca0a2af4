//! The [`TicketCollision`] handler: state, construction and wiring into the host.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plugboard::{
    Backend, BoxError, Handler, Identity, InitContext, Io, OrderGuard, OrderLock, async_trait,
};
use serde_json::{Value, json};

use crate::authz::{Authorizer, FnAuthorizer};
use crate::store::StoreError;
use crate::{
    MemoryViewerStore, RedisViewerStore, TicketCollisionConfig, TicketPayload, ViewAuthorizer,
    ViewPayload, ViewerStore,
};

/// How many local stripes the ticket order lock has (memory stays constant).
const LOCK_STRIPES: usize = 1024;

/// Tracks who views and types on each ticket and warns agents about collisions.
///
/// Register it with `builder.handler(TicketCollision::new())` (or let the standalone
/// server pick it up through `register_handler!`), then fetch it in host code with
/// `host.handler::<TicketCollision>()` for [`viewers`](Self::viewers),
/// [`is_collision`](Self::is_collision), [`kick`](Self::kick) and [`stats`](Self::stats).
pub struct TicketCollision {
    /// Set by `with_store`, else at `initialize` from the host's backend.
    pub(crate) store: OnceLock<Arc<dyn ViewerStore>>,
    pub(crate) authorizer: Option<Authorizer>,
    pub(crate) config: OnceLock<TicketCollisionConfig>,
    pub(crate) io: OnceLock<Io>,
    /// "Change the store, then tell the room" as one step per ticket, across nodes.
    pub(crate) locks: OnceLock<OrderLock>,
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
    /// A handler on the host's store: memory, or Redis when the host runs `store =
    /// "redis"` (picked at `initialize`). Settings come from `[handlers.ticket_collision]`.
    pub fn new() -> Self {
        Self {
            store: OnceLock::new(),
            authorizer: None,
            config: OnceLock::new(),
            io: OnceLock::new(),
            locks: OnceLock::new(),
        }
    }

    /// A handler on a given store, whatever the host's backend.
    pub fn with_store(store: Arc<dyn ViewerStore>) -> Self {
        let this = Self::new();
        let _ = this.store.set(store);
        this
    }

    /// The store `new()` picks on `backend`: [`MemoryViewerStore`], or a
    /// [`RedisViewerStore`] whose presence TTL is
    /// [`presence_ttl`](TicketCollisionConfig::presence_ttl).
    pub fn store_for(backend: &Backend, config: &TicketCollisionConfig) -> Arc<dyn ViewerStore> {
        match backend.redis() {
            Some(redis) => Arc::new(RedisViewerStore::new(redis.clone(), config.presence_ttl())),
            None => Arc::new(MemoryViewerStore::new()),
        }
    }

    /// The store; `unavailable` before `initialize` on a handler made with `new()`.
    pub(crate) fn store(&self) -> Result<&dyn ViewerStore, StoreError> {
        self.store
            .get()
            .map(|s| s.as_ref())
            .ok_or_else(not_initialized)
    }

    /// Waits for the order lock of `ticket` (a Redis lease on a cluster).
    pub(crate) async fn lock(&self, ticket: &str) -> Result<OrderGuard<'_>, StoreError> {
        let locks = self.locks.get().ok_or_else(not_initialized)?;
        Ok(locks.lock(ticket).await?)
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
            Duration::from_millis(cfg.sweep_interval_ms),
        );
        let _ = self
            .store
            .get_or_init(|| Self::store_for(cx.backend(), &cfg));
        let _ = self.locks.set(OrderLock::new(
            cx.backend(),
            "ticket-collision:ticket",
            LOCK_STRIPES,
        ));
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
        cx.on_disconnect(move |socket, reason| this.clone().on_disconnect(socket, reason));

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
        match TicketCollision::stats(self).await {
            Ok(stats) => serde_json::to_value(stats).unwrap_or_default(),
            Err(e) => json!({ "error": e.to_string() }),
        }
    }
}

fn not_initialized() -> StoreError {
    StoreError::Unavailable("ticket-collision is not initialized".into())
}

plugboard::register_handler!(TicketCollision::new);
