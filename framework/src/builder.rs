//! [`HostBuilder`]: register handlers, then [`start`](HostBuilder::start) them.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use socketioxide::SocketIo;
use socketioxide_redis::{RedisAdapterConfig, RedisAdapterCtr};
use tokio_util::sync::CancellationToken;

use crate::adapter::{AnyIo, Either, RedisAdapter};
use crate::cluster::health::Health;
use crate::cluster::node::Node;
use crate::config::StoreKind;
use crate::context::{Declarations, HandlerTasks};
use crate::core::{Core, Table};
use crate::handler::inventory_handlers;
use crate::idempotency::{IdempotencyStore, MemoryIdempotencyStore};
use crate::identity::Authenticator;
use crate::io::Shared;
use crate::metrics::Metrics;
use crate::names::EventNames;
use crate::sessions::MemorySessionStore;
use crate::sio::Connector;
use crate::{
    Backend, Config, Handler, Host, HostError, InitContext, Io, RedisIdempotencyStore, RedisStore,
    Sessions, SocketId,
};

pub(crate) type AnyArc = Arc<dyn Any + Send + Sync>;

/// Collects handlers, then starts them. `Plugboard::builder(config)` is the usual way in.
pub struct HostBuilder {
    core: Arc<Core>,
    layer: crate::adapter::AnyLayer,
    handlers: Vec<Arc<dyn Handler>>,
    by_type: HashMap<TypeId, AnyArc>,
}

impl std::fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.handlers.iter().map(|h| h.name()).collect();
        f.debug_struct("HostBuilder")
            .field("handlers", &names)
            .finish()
    }
}

impl HostBuilder {
    /// A builder for `config`. Fails on an invalid auth or cluster setup. With
    /// `store = "redis"` nothing connects yet: [`start`](Self::start) does.
    pub fn new(config: Config) -> Result<Self, HostError> {
        let auth = Authenticator::new(&config.auth)?;
        let e = &config.engine;
        let builder = SocketIo::builder()
            .ping_interval(Duration::from_millis(e.ping_interval_ms))
            .ping_timeout(Duration::from_millis(e.ping_timeout_ms))
            .connect_timeout(Duration::from_millis(e.connect_timeout_ms))
            .max_payload(e.max_payload_bytes)
            .ws_max_message_size(usize::try_from(e.max_payload_bytes).unwrap_or(usize::MAX))
            .ws_max_frame_size(usize::try_from(e.max_payload_bytes).unwrap_or(usize::MAX))
            .max_buffer_size(e.max_buffer_size);
        let metrics = Arc::new(Metrics::new());
        let shared = Arc::new(Shared {
            names: EventNames::new(config.event_names.clone()),
            slow_client: e.slow_client,
            metrics: metrics.clone(),
        });
        let (layer, io, backend, node) = match config.store {
            StoreKind::Memory => {
                let (layer, io) = builder.build_layer();
                (
                    Either::Local(layer),
                    Either::Local(io) as AnyIo,
                    Backend::Memory,
                    None,
                )
            }
            StoreKind::Redis => {
                let c = &config.cluster;
                c.validate()?;
                let node_id = if c.node_id.is_empty() {
                    SocketId::new().to_string()
                } else {
                    c.node_id.clone()
                };
                let redis = RedisStore::new(
                    &config.redis_url,
                    &c.name,
                    node_id,
                    Duration::from_millis(c.redis_timeout_ms),
                    Arc::new(Health::default()),
                );
                let adapter = RedisAdapterCtr::new_with_driver(
                    redis.driver().clone(),
                    RedisAdapterConfig::new()
                        .with_prefix(redis.key("sio"))
                        .with_request_timeout(Duration::from_millis(c.redis_timeout_ms)),
                );
                let (layer, io) = builder.with_adapter::<RedisAdapter>(adapter).build_layer();
                let node = Arc::new(Node::new(redis.clone(), c));
                (
                    Either::Redis(layer),
                    Either::Redis(io),
                    Backend::Redis(redis),
                    Some(node),
                )
            }
        };
        let (sessions, idempotency): (Sessions, Arc<dyn IdempotencyStore>) = match &node {
            None => (
                Sessions::new(Arc::new(MemorySessionStore::default())),
                Arc::new(MemoryIdempotencyStore::new(
                    Duration::from_millis(config.idempotency.window_ms),
                    config.idempotency.max_per_user,
                )),
            ),
            Some(node) => (
                Sessions::new(Arc::new(node.sessions.clone())),
                Arc::new(RedisIdempotencyStore::new(
                    node.redis.clone(),
                    config.idempotency.window_ms,
                )),
            ),
        };
        let core = Core {
            config: Arc::new(config),
            io: Io { io, shared },
            sessions,
            backend,
            node,
            idempotency,
            metrics,
            auth,
            shutting_down: AtomicBool::new(false),
            table: Default::default(),
            live: DashMap::new(),
            started: Instant::now(),
        };
        Ok(Self {
            core: Arc::new(core),
            layer,
            handlers: Vec::new(),
            by_type: HashMap::new(),
        })
    }

    /// Registers a handler; returns it so the host can keep calling its API.
    /// A second handler with the same name is refused.
    pub fn handler<H: Handler>(&mut self, handler: H) -> Result<Arc<H>, HostError> {
        let handler = Arc::new(handler);
        self.push(
            handler.clone() as Arc<dyn Handler>,
            TypeId::of::<H>(),
            handler.clone(),
        )?;
        Ok(handler)
    }

    fn push(&mut self, h: Arc<dyn Handler>, type_id: TypeId, any: AnyArc) -> Result<(), HostError> {
        let name = h.name();
        if self.handlers.iter().any(|other| other.name() == name) {
            return Err(HostError::DuplicateHandler { name });
        }
        self.handlers.push(h);
        self.by_type.insert(type_id, any);
        Ok(())
    }

    /// Registers every handler that a linked crate submitted with
    /// [`register_handler!`](crate::register_handler), sorted by name, skipping names
    /// already registered explicitly. Returns how many it added.
    pub fn auto_handlers(&mut self) -> Result<usize, HostError> {
        let mut added = 0;
        for h in inventory_handlers() {
            if self.handlers.iter().any(|other| other.name() == h.name()) {
                tracing::debug!(
                    handler = h.name(),
                    "inventory handler already registered explicitly"
                );
                continue;
            }
            let any: AnyArc = h.clone();
            let type_id = (*any).type_id();
            self.push(h, type_id, any)?;
            added += 1;
        }
        Ok(added)
    }

    /// The configuration the host runs with.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Initializes the enabled handlers in registration order and opens the namespace.
    /// If one fails, those before it are shut down in reverse and the error names it.
    pub async fn start(mut self) -> Result<Host, HostError> {
        if self.core.auth.mode() == crate::config::AuthMode::Dev {
            tracing::warn!(
                "AUTH MODE IS `dev`: identities are taken from auth.userId/auth.userName as given. \
                 Never run this in production; set auth.mode = \"jwt\" and auth.jwt_secret."
            );
        }
        if let Some(node) = &self.core.node {
            node.redis.connect().await.map_err(HostError::Store)?;
            node.beat(&self.core).await.map_err(HostError::Store)?;
            tracing::info!(
                node = node.redis.node_id(),
                cluster = node.redis.cluster(),
                redis = %node.redis.safe_url(),
                "joined the cluster"
            );
        }
        let root = CancellationToken::new();
        let mut decl = Declarations::default();
        let mut started: Vec<(Arc<dyn Handler>, HandlerTasks)> = Vec::new();
        for h in std::mem::take(&mut self.handlers) {
            let name = h.name();
            if !self.core.config.handler_enabled(name) {
                tracing::info!(handler = name, "handler disabled in config");
                let any: AnyArc = h.clone();
                self.by_type.remove(&(*any).type_id());
                continue;
            }
            let tasks = HandlerTasks::new(&root);
            let result = {
                let mut cx = InitContext {
                    name,
                    core: &self.core,
                    decl: &mut decl,
                    tasks: &tasks,
                };
                h.clone().initialize(&mut cx).await
            };
            if let Err(source) = result {
                tracing::error!(handler = name, error = %source, "initialize failed; rolling back");
                tasks.stop().await;
                rollback(&self.core, started).await;
                return Err(HostError::InitializeFailed { name, source });
            }
            tracing::info!(handler = name, "handler initialized");
            started.push((h, tasks));
        }
        let framework_tasks = HandlerTasks::new(&root);
        spawn_idempotency_sweeper(&self.core, &framework_tasks);
        if let Some(node) = &self.core.node {
            let token = framework_tasks.token.clone();
            framework_tasks
                .tracker
                .spawn(node.clone().run_heartbeat(self.core.clone(), token.clone()));
            framework_tasks
                .tracker
                .spawn(node.clone().run_reaper(self.core.clone(), token));
        }
        let Declarations {
            events,
            router,
            on_connect,
            on_disconnect,
            ..
        } = decl;
        let _ = self.core.table.set(Table {
            events,
            on_connect,
            on_disconnect,
        });
        let connector = Connector {
            core: self.core.clone(),
        };
        match &self.core.io.io {
            Either::Local(io) => io.ns("/", connector),
            Either::Redis(io) => {
                if let Err(e) = io.ns("/", connector).await {
                    framework_tasks.stop().await;
                    rollback(&self.core, started).await;
                    return Err(HostError::Store(crate::StoreError::Unavailable(format!(
                        "cannot subscribe to the cluster's broadcasts: {e}"
                    ))));
                }
            }
        }
        Ok(Host::new(
            self.core,
            started,
            framework_tasks,
            self.by_type,
            router,
            self.layer,
        ))
    }
}

/// Undoes a failed start: the started handlers' tasks stop and they shut down in
/// reverse order; a cluster node leaves the cluster.
async fn rollback(core: &Core, started: Vec<(Arc<dyn Handler>, HandlerTasks)>) {
    for (h, tasks) in started.into_iter().rev() {
        tasks.stop().await;
        if let Err(e) = h.shutdown().await {
            tracing::warn!(handler = h.name(), error = %e, "shutdown during rollback failed");
        }
    }
    if let Some(node) = &core.node {
        node.leave().await;
    }
}

fn spawn_idempotency_sweeper(core: &Arc<Core>, tasks: &HandlerTasks) {
    let store = core.idempotency.clone();
    let token = tasks.token.clone();
    let every = Duration::from_millis((core.config.idempotency.window_ms / 4).clamp(1_000, 60_000));
    tasks.tracker.spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tick.tick() => { store.sweep().await; }
            }
        }
    });
}
