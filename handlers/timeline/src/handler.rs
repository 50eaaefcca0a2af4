//! The [`Timeline`] handler: `timeline:subscribe` / `timeline:unsubscribe` and the
//! disconnect cleanup.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plugboard::{
    Backend, BoxError, CancellationToken, DisconnectReason, Handler, HandlerError, InitContext, Io,
    Reply, Socket, async_trait,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    EntityKey, MemoryTimelineStore, RedisTimelineStore, SubscribeAuthorizer, SubscribeOutcome,
    TimelineConfig, TimelineStore,
};

/// `timeline:subscribe` and `timeline:unsubscribe` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRequest {
    /// One of the configured entity types.
    pub entity_type: String,
    /// The entity id (1..=128 chars by default).
    pub entity_id: String,
}

/// Entity-scoped real-time timeline updates (seed 004). Clients follow entities; the host
/// (through the methods in [`api`](crate::Timeline::broadcast_new_item) or the HTTP publish
/// route) broadcasts to each entity's followers.
pub struct Timeline {
    pub(crate) config: OnceLock<TimelineConfig>,
    /// The store in use, chosen at initialize (or at first use before it).
    store: OnceLock<Arc<dyn TimelineStore>>,
    /// The store given to [`with_store`](Self::with_store), if any.
    explicit: Option<Arc<dyn TimelineStore>>,
    pub(crate) authorizer: Option<Arc<dyn SubscribeAuthorizer>>,
    pub(crate) io: OnceLock<Io>,
    pub(crate) broadcasts: AtomicU64,
    pub(crate) skipped: AtomicU64,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("config", &self.config.get())
            .field("authorizer", &self.authorizer.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A handler without authorization hook whose store follows the host's backend: the
    /// in-memory store, or [`RedisTimelineStore`] when `store = "redis"` (subscriber counts
    /// of the whole cluster). Settings come from `[handlers.timeline]`.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A handler on a given store, whatever the host's backend.
    pub fn with_store(store: Arc<dyn TimelineStore>) -> Self {
        Self::build(Some(store))
    }

    fn build(explicit: Option<Arc<dyn TimelineStore>>) -> Self {
        Self {
            config: OnceLock::new(),
            store: OnceLock::new(),
            explicit,
            authorizer: None,
            io: OnceLock::new(),
            broadcasts: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// Adds the `can_subscribe` hook; a refused subscription answers `forbidden`.
    pub fn with_authorizer(mut self, authorizer: impl SubscribeAuthorizer) -> Self {
        self.authorizer = Some(Arc::new(authorizer));
        self
    }

    pub(crate) fn cfg(&self) -> &TimelineConfig {
        self.config.get_or_init(TimelineConfig::default)
    }

    /// The store in use. Before initialize: the explicit store, else a memory store.
    pub(crate) fn store(&self) -> &Arc<dyn TimelineStore> {
        self.store.get_or_init(|| {
            self.explicit
                .clone()
                .unwrap_or_else(|| Arc::new(MemoryTimelineStore::new()))
        })
    }

    /// Chooses the store for `backend` (the explicit one wins) and keeps it.
    fn choose_store(&self, backend: &Backend, presence_ttl: Duration) -> Result<(), BoxError> {
        let chosen: Arc<dyn TimelineStore> = match (&self.explicit, backend) {
            (Some(store), _) => store.clone(),
            (None, Backend::Redis(redis)) => {
                Arc::new(RedisTimelineStore::new(redis.clone(), presence_ttl))
            }
            (None, _) => Arc::new(MemoryTimelineStore::new()),
        };
        if let Err(chosen) = self.store.set(chosen)
            && !Arc::ptr_eq(&chosen, self.store())
        {
            return Err(
                "the timeline handler was used before it was initialized; its store is already chosen"
                    .into(),
            );
        }
        Ok(())
    }

    async fn on_subscribe(self: Arc<Self>, socket: Socket, req: EntityRequest) -> Reply {
        let entity = EntityKey::parse(self.cfg(), &req.entity_type, &req.entity_id)?;
        if let Some(auth) = &self.authorizer
            && !auth
                .can_subscribe(socket.identity(), &entity.entity_type, &entity.entity_id)
                .await
        {
            tracing::info!(handler = "timeline", event = "timeline:subscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, "subscription refused by authorizer");
            return Err(HandlerError::forbidden(format!(
                "not allowed to follow the timeline of {entity}"
            )));
        }
        let limit = self.cfg().max_subscriptions_per_socket;
        let subscribers = match self.store().subscribe(socket.id(), &entity, limit).await {
            Ok(SubscribeOutcome::Added { subscribers })
            | Ok(SubscribeOutcome::AlreadySubscribed { subscribers }) => subscribers,
            Ok(SubscribeOutcome::LimitReached { limit }) => {
                return Err(HandlerError::forbidden(format!(
                    "a socket may follow at most {limit} timelines; unsubscribe first"
                ))
                .with_detail("limit", limit));
            }
            Err(e) => {
                tracing::warn!(handler = "timeline", event = "timeline:subscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, error = %e, "subscription store failed");
                return Err(e.into());
            }
        };
        let room = entity.room();
        socket.join(room.clone());
        tracing::debug!(handler = "timeline", event = "timeline:subscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, subscribers, "subscribed");
        Ok(json!({ "ok": true, "room": room, "subscribers": subscribers }))
    }

    async fn on_unsubscribe(self: Arc<Self>, socket: Socket, req: EntityRequest) -> Reply {
        let entity = EntityKey::parse(self.cfg(), &req.entity_type, &req.entity_id)?;
        let subscribers = match self.store().unsubscribe(socket.id(), &entity).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(handler = "timeline", event = "timeline:unsubscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, error = %e, "subscription store failed");
                return Err(e.into());
            }
        };
        socket.leave(entity.room());
        tracing::debug!(handler = "timeline", event = "timeline:unsubscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, subscribers, "unsubscribed");
        Ok(json!({ "ok": true, "subscribers": subscribers }))
    }

    /// Drops the socket's subscriptions. Also runs, on another node, for every socket of
    /// a dead node (reason `node_down`); rooms need no notice. On a store failure the
    /// framework runs it again once Redis answers.
    async fn on_disconnect(self: Arc<Self>, socket: Socket, reason: DisconnectReason) {
        match self.store().drop_socket(socket.id()).await {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::debug!(handler = "timeline", event = "disconnect", socket = %socket.id(), user = socket.user_id(), %reason, entities = dropped.len(), "subscriptions dropped");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(handler = "timeline", event = "disconnect", socket = %socket.id(), user = socket.user_id(), %reason, error = %e, "could not drop subscriptions");
            }
        }
    }

    /// Runs the store's upkeep every `every` until `stop`.
    async fn upkeep(store: Arc<dyn TimelineStore>, every: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    if let Err(e) = store.upkeep().await {
                        tracing::debug!(handler = "timeline", event = "upkeep", error = %e, "store upkeep failed; retried next tick");
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Handler for Timeline {
    fn name(&self) -> &'static str {
        "timeline"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        let cfg: TimelineConfig = cx.config()?;
        cfg.validate()?;
        if self.config.set(cfg).is_err() {
            return Err("the timeline handler is already initialized".into());
        }
        let presence_ttl = Duration::from_millis(cx.app_config().cluster.presence_ttl_ms);
        self.choose_store(cx.backend(), presence_ttl)?;
        let store = self.store().clone();
        if let Some(every) = store.upkeep_interval() {
            cx.spawn("timeline-upkeep", move |stop| {
                Self::upkeep(store, every, stop)
            });
        }
        let _ = self.io.set(cx.io());
        let this = self.clone();
        cx.on("timeline:subscribe", move |socket, req: EntityRequest| {
            this.clone().on_subscribe(socket, req)
        })?;
        let this = self.clone();
        cx.on("timeline:unsubscribe", move |socket, req: EntityRequest| {
            this.clone().on_unsubscribe(socket, req)
        })?;
        let this = self.clone();
        cx.on_disconnect(move |socket, reason| this.clone().on_disconnect(socket, reason));
        let route = crate::http::publish_route(self.clone(), cx.api_key());
        cx.route(crate::http::PUBLISH_PATH, route)?;
        Ok(())
    }

    async fn stats(&self) -> Value {
        match Timeline::stats(self).await {
            Ok(stats) => serde_json::to_value(stats).unwrap_or_default(),
            Err(e) => json!({ "error": e.to_string() }),
        }
    }
}

plugboard::register_handler!(Timeline::new);
