//! [`Host`]: the running server. Typed handler getters, the axum router, serving and the
//! graceful shutdown sequence.

use std::any::{TypeId, type_name};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

use crate::builder::AnyArc;
use crate::context::HandlerTasks;
use crate::core::Core;
use crate::dispatch::{Job, push};
use crate::{Handler, HostError, Io, Sessions};

struct Inner {
    core: Arc<Core>,
    handlers: Vec<(Arc<dyn Handler>, HandlerTasks)>,
    framework_tasks: HandlerTasks,
    by_type: std::collections::HashMap<TypeId, AnyArc>,
    closed: Mutex<bool>,
    stopped: Mutex<bool>,
}

/// A started plugboard host. Clone it freely; every clone is the same server.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
    router: Router,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.inner.handlers.iter().map(|(h, _)| h.name()).collect();
        f.debug_struct("Host").field("handlers", &names).finish()
    }
}

impl Host {
    pub(crate) fn new(
        core: Arc<Core>,
        handlers: Vec<(Arc<dyn Handler>, HandlerTasks)>,
        framework_tasks: HandlerTasks,
        by_type: std::collections::HashMap<TypeId, AnyArc>,
        handler_routes: Router,
        layer: crate::adapter::AnyLayer,
    ) -> Self {
        let inner = Arc::new(Inner {
            core,
            handlers,
            framework_tasks,
            by_type,
            closed: Mutex::new(false),
            stopped: Mutex::new(false),
        });
        let for_stats = Arc::downgrade(&inner);
        let stats: crate::http::StatsFn = Arc::new(move || {
            let inner = for_stats.upgrade();
            Box::pin(async move {
                match inner {
                    Some(inner) => stats_of(&inner).await,
                    None => Value::Null,
                }
            })
        });
        let router = crate::http::router(&inner.core, handler_routes, layer, stats);
        Self { inner, router }
    }

    /// The handler of type `H`, if registered and enabled.
    pub fn handler<H: Handler>(&self) -> Option<Arc<H>> {
        self.inner
            .by_type
            .get(&TypeId::of::<H>())
            .cloned()
            .and_then(|any| any.downcast::<H>().ok())
    }

    /// The handler of type `H`, or an error naming the type and how to register it.
    pub fn require<H: Handler>(&self) -> Result<Arc<H>, HostError> {
        self.handler::<H>().ok_or_else(|| {
            let type_name = type_name::<H>();
            let short = type_name.rsplit("::").next().unwrap_or(type_name);
            HostError::MissingHandler { type_name, short }
        })
    }

    /// The axum router: Socket.IO at `/socket.io/`, `/healthz`, `/stats`, `/metrics` and
    /// every handler route. Merge it into an existing app or serve it with [`Host::serve`].
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The broadcast handle.
    pub fn io(&self) -> Io {
        self.inner.core.io.clone()
    }

    /// The sessions index.
    pub fn sessions(&self) -> Sessions {
        self.inner.core.sessions.clone()
    }

    /// The `/stats` document: `{ uptimeSeconds, connections, idempotentReplays, handlers: { name: stats } }`.
    pub async fn stats(&self) -> Value {
        stats_of(&self.inner).await
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics_text(&self) -> String {
        self.inner.core.metrics.encode()
    }

    /// Serves on `listener` until `signal` completes (or, on a cluster, until this node
    /// finds it was fenced), then runs the whole shutdown sequence. Returns once every
    /// handler has shut down. Accepted connections get `TCP_NODELAY` (an app serving
    /// [`router`](Host::router) itself should set it too).
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), HostError> {
        let host = self.clone();
        let fenced = self.inner.core.node.as_ref().map(|n| n.fenced.clone());
        let graceful = async move {
            match &fenced {
                Some(fenced) => tokio::select! {
                    _ = signal => {}
                    _ = fenced.cancelled() => {}
                },
                None => signal.await,
            }
            host.close_sockets().await;
        };
        // TCP_NODELAY: an ack written right after a broadcast would otherwise wait in
        // Nagle's buffer for the client's delayed ACK (measured: 44 ms at the p99 of
        // ticket:view on Redis, where the two writes are a Redis round trip apart).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set on a connection");
            }
        });
        // Routes are resolved once here; serving the Router itself would clone its whole
        // route table for every connection (axum's `Service<IncomingStream>` for `Router`
        // does `clone().with_state(())`): 17,500 instructions per connect with callgrind.
        let app = self.router.clone().with_state(()).into_make_service();
        axum::serve(listener, app)
            .with_graceful_shutdown(graceful)
            .await?;
        self.shutdown().await;
        match &self.inner.core.node {
            Some(node) if node.fenced.is_cancelled() => Err(HostError::Fenced),
            _ => Ok(()),
        }
    }

    /// Stops accepting sockets and events, runs every handler's disconnect cleanup for
    /// the sockets still connected (socketioxide's `close` does not), then closes them.
    /// Idempotent.
    pub async fn close_sockets(&self) {
        let mut closed = self.inner.closed.lock().await;
        if *closed {
            return;
        }
        *closed = true;
        let core = &self.inner.core;
        core.shutting_down.store(true, Ordering::Release);
        let deadline = self.deadline();
        let live: Vec<_> = core
            .live
            .iter()
            .map(|l| (l.socket.clone(), l.state.clone()))
            .collect();
        tracing::info!(
            sockets = live.len(),
            "shutdown: cleaning up connected sockets"
        );
        let mut waits = Vec::with_capacity(live.len());
        for (socket, state) in live {
            let (done, wait) = oneshot::channel();
            push(core, &state, Job::Cleanup { socket, done });
            waits.push(wait);
        }
        if tokio::time::timeout(deadline, futures_util::future::join_all(waits))
            .await
            .is_err()
        {
            tracing::warn!("shutdown: socket cleanup exceeded the deadline");
        }
        if crate::adapter::either!(&core.io.io, io => tokio::time::timeout(deadline, io.close()).await)
            .is_err()
        {
            tracing::warn!("shutdown: closing transports exceeded the deadline");
        }
    }

    /// The whole shutdown: [`close_sockets`](Host::close_sockets), then background tasks
    /// stop, then every handler's `shutdown` in reverse registration order, each bounded by
    /// `shutdown_timeout_ms`. Idempotent.
    pub async fn shutdown(&self) {
        self.close_sockets().await;
        let mut stopped = self.inner.stopped.lock().await;
        if *stopped {
            return;
        }
        *stopped = true;
        let deadline = self.deadline();
        if tokio::time::timeout(deadline, self.inner.framework_tasks.stop())
            .await
            .is_err()
        {
            tracing::warn!("shutdown: framework tasks did not stop in time");
        }
        if let Some(node) = &self.inner.core.node {
            node.leave().await;
        }
        for (h, tasks) in self.inner.handlers.iter().rev() {
            let name = h.name();
            if tokio::time::timeout(deadline, tasks.stop()).await.is_err() {
                tracing::warn!(
                    handler = name,
                    "shutdown: background tasks did not stop in time"
                );
            }
            match tokio::time::timeout(deadline, h.shutdown()).await {
                Ok(Ok(())) => tracing::info!(handler = name, "handler shut down"),
                Ok(Err(e)) => tracing::warn!(handler = name, error = %e, "handler shutdown failed"),
                Err(_) => tracing::warn!(handler = name, "handler shutdown exceeded the deadline"),
            }
        }
    }

    fn deadline(&self) -> Duration {
        Duration::from_millis(self.inner.core.config.shutdown_timeout_ms)
    }
}

async fn stats_of(inner: &Inner) -> Value {
    let all = futures_util::future::join_all(
        inner
            .handlers
            .iter()
            .map(|(h, _)| async move { (h.name().to_owned(), h.stats().await) }),
    )
    .await;
    let handlers: Map<String, Value> = all.into_iter().collect();
    let mut doc = json!({
        "uptimeSeconds": inner.core.started.elapsed().as_secs(),
        "connections": inner.core.metrics.connections(),
        "idempotentReplays": inner.core.metrics.replays(),
        "store": inner.core.config.store,
        "handlers": handlers,
    });
    if let Some(node) = &inner.core.node {
        doc["cluster"] = json!({
            "name": node.redis.cluster(),
            "node": node.redis.node_id(),
            "redis": if node.redis.is_up() { "up" } else { "down" },
        });
    }
    doc
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM. The signal handlers are installed when this
/// function is called, not when the future is first polled, so a signal that arrives
/// while the server is still starting is not lost (nor kills the process).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
                    _ = int.recv() => tracing::info!("Ctrl-C received, shutting down"),
                },
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                    tracing::info!("Ctrl-C received, shutting down");
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C received, shutting down");
    }
}
