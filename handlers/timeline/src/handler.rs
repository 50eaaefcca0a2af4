//! The [`Timeline`] handler: `timeline:subscribe` / `timeline:unsubscribe` and the
//! disconnect cleanup.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use plugboard::{BoxError, Handler, HandlerError, InitContext, Io, Reply, Socket, async_trait};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    EntityKey, MemoryTimelineStore, SubscribeAuthorizer, SubscribeOutcome, TimelineConfig,
    TimelineStore,
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
    pub(crate) store: Arc<dyn TimelineStore>,
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
    /// A handler on the in-memory store, without authorization hook; settings come from
    /// `[handlers.timeline]`.
    pub fn new() -> Self {
        Self::with_store(Arc::new(MemoryTimelineStore::new()))
    }

    /// A handler on a given store.
    pub fn with_store(store: Arc<dyn TimelineStore>) -> Self {
        Self {
            config: OnceLock::new(),
            store,
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
        let subscribers = match self.store.subscribe(socket.id(), &entity, limit).await {
            Ok(SubscribeOutcome::Added { subscribers })
            | Ok(SubscribeOutcome::AlreadySubscribed { subscribers }) => subscribers,
            Ok(SubscribeOutcome::LimitReached { limit }) => {
                return Err(HandlerError::forbidden(format!(
                    "a socket may follow at most {limit} timelines; unsubscribe first"
                ))
                .with_detail("limit", limit));
            }
            Err(e) => return Err(crate::TimelineError::from(e).into()),
        };
        let room = entity.room();
        socket.join(room.clone());
        tracing::debug!(handler = "timeline", event = "timeline:subscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, subscribers, "subscribed");
        Ok(json!({ "ok": true, "room": room, "subscribers": subscribers }))
    }

    async fn on_unsubscribe(self: Arc<Self>, socket: Socket, req: EntityRequest) -> Reply {
        let entity = EntityKey::parse(self.cfg(), &req.entity_type, &req.entity_id)?;
        let subscribers = self
            .store
            .unsubscribe(socket.id(), &entity)
            .await
            .map_err(crate::TimelineError::from)?;
        socket.leave(entity.room());
        tracing::debug!(handler = "timeline", event = "timeline:unsubscribe", socket = %socket.id(), user = socket.user_id(), entity = %entity, subscribers, "unsubscribed");
        Ok(json!({ "ok": true, "subscribers": subscribers }))
    }

    async fn on_disconnect(self: Arc<Self>, socket: Socket) {
        match self.store.drop_socket(socket.id()).await {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::debug!(handler = "timeline", event = "disconnect", socket = %socket.id(), user = socket.user_id(), entities = dropped.len(), "subscriptions dropped");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(handler = "timeline", event = "disconnect", socket = %socket.id(), user = socket.user_id(), error = %e, "could not drop subscriptions");
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
        cx.on_disconnect(move |socket, _reason| this.clone().on_disconnect(socket));
        let route = crate::http::publish_route(self.clone(), cx.api_key());
        cx.route(crate::http::PUBLISH_PATH, route)?;
        Ok(())
    }

    async fn stats(&self) -> Value {
        serde_json::to_value(Timeline::stats(self)).unwrap_or_default()
    }
}

plugboard::register_handler!(Timeline::new);
