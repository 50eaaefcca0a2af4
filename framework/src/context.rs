//! [`InitContext`]: what a handler may declare while it initializes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::MethodRouter;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::Core;
use crate::route::{ConnectFn, DisconnectFn, Hook, Route, typed};
use crate::{Config, DisconnectReason, HostError, Io, Reply, Sessions, Socket};

/// Everything every handler declared, with owners, so clashes are refused at start-up.
#[derive(Default)]
pub(crate) struct Declarations {
    pub(crate) events: HashMap<String, Arc<Route>>,
    pub(crate) routes: HashMap<String, &'static str>,
    pub(crate) router: Router,
    pub(crate) on_connect: Vec<Hook<ConnectFn>>,
    pub(crate) on_disconnect: Vec<Hook<DisconnectFn>>,
}

/// One handler's running background tasks.
pub(crate) struct HandlerTasks {
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

impl HandlerTasks {
    pub(crate) fn new(parent: &CancellationToken) -> Self {
        Self {
            token: parent.child_token(),
            tracker: TaskTracker::new(),
        }
    }

    /// Cancels the tasks and waits for them to end.
    pub(crate) async fn stop(&self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Passed to [`Handler::initialize`](crate::Handler::initialize): declare events, hooks,
/// HTTP routes and background tasks here; read your config section and get the
/// [`Io`] and [`Sessions`] handles to keep.
pub struct InitContext<'a> {
    pub(crate) name: &'static str,
    pub(crate) core: &'a Arc<Core>,
    pub(crate) decl: &'a mut Declarations,
    pub(crate) tasks: &'a HandlerTasks,
}

impl std::fmt::Debug for InitContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitContext")
            .field("handler", &self.name)
            .finish_non_exhaustive()
    }
}

impl InitContext<'_> {
    /// The name of the handler being initialized.
    pub fn handler_name(&self) -> &'static str {
        self.name
    }

    /// The handler's own config section (`[handlers.<name>]`, `-` written `_`), without
    /// `enabled`. Absent keys take the type's `#[serde(default)]` values.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, HostError> {
        let mut section = match self.core.config.handler_section(self.name) {
            Value::Null => Value::Object(Default::default()),
            v => v,
        };
        if let Some(obj) = section.as_object_mut() {
            obj.remove("enabled");
        }
        serde_json::from_value(section).map_err(|e| HostError::HandlerConfig {
            name: self.name,
            message: e.to_string(),
        })
    }

    /// The whole server configuration.
    pub fn app_config(&self) -> &Config {
        &self.core.config
    }

    /// A broadcast handle to keep for host APIs and timers.
    pub fn io(&self) -> Io {
        self.core.io.clone()
    }

    /// The user -> sockets index (of the whole cluster on Redis).
    pub fn sessions(&self) -> Sessions {
        self.core.sessions.clone()
    }

    /// Where state lives: build the handler's store on it (memory, or the cluster's Redis).
    pub fn backend(&self) -> &crate::Backend {
        &self.core.backend
    }

    /// Listens to a client event. The payload is deserialized into `T` (`serde_json::Value`
    /// takes anything); a payload that does not fit is answered with `invalid_payload`
    /// without calling `f`. Events of one socket run one after another in arrival order.
    ///
    /// Fails when another handler already claimed `event`.
    pub fn on<T, F, Fut>(&mut self, event: &str, f: F) -> Result<(), HostError>
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let wire = self.core.io.shared.names.wire(event).to_owned();
        if let Some(first) = self.decl.events.get(&wire) {
            return Err(HostError::DuplicateEvent {
                event: wire,
                first: first.handler,
                second: self.name,
            });
        }
        let route = Route {
            handler: self.name,
            event: Arc::from(event),
            call: typed(f),
            metrics: self.core.metrics.route(self.name, event),
        };
        self.decl.events.insert(wire, Arc::new(route));
        Ok(())
    }

    /// Runs `f` for every new socket, before any of its events.
    pub fn on_connect<F, Fut>(&mut self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.decl.on_connect.push(Hook {
            handler: self.name,
            call: Box::new(move |s| Box::pin(f(s))),
        });
    }

    /// Runs `f` when a socket goes away (client left, transport lost, kicked, or server
    /// shutdown), after its pending events. Every handler's hook runs, in registration
    /// order; the socket is already out of the sessions index.
    pub fn on_disconnect<F, Fut>(&mut self, f: F)
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.decl.on_disconnect.push(Hook {
            handler: self.name,
            call: Box::new(move |s, r| Box::pin(f(s, r))),
        });
    }

    /// Adds an HTTP route (axum path syntax, e.g. `/api/timeline/{entity_type}/{entity_id}`).
    /// Fails when another handler declared the same path.
    pub fn route(&mut self, path: &str, method_router: MethodRouter) -> Result<(), HostError> {
        if let Some(first) = self.decl.routes.get(path) {
            return Err(HostError::DuplicateRoute {
                path: path.into(),
                first,
                second: self.name,
            });
        }
        self.decl.routes.insert(path.into(), self.name);
        let router = std::mem::take(&mut self.decl.router);
        self.decl.router = router.route(path, method_router);
        Ok(())
    }

    /// Starts a background task (sweeper, timer). It gets a token that is cancelled at
    /// shutdown, and the host waits for it to end before calling the handler's `shutdown`.
    pub fn spawn<F, Fut>(&mut self, task: &'static str, f: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = self.name;
        let fut = f(self.tasks.token.clone());
        self.tasks.tracker.spawn(async move {
            fut.await;
            tracing::debug!(handler, task, "background task ended");
        });
    }

    /// The bearer key for HTTP publish APIs, when one is configured.
    pub fn api_key(&self) -> Option<crate::ApiKey> {
        crate::ApiKey::from_config(&self.core.config.http)
    }
}
