//! The [`Handler`] trait: what a handler module implements.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::{BoxError, InitContext};

/// A real-time handler module (ticket collision, timeline, ...).
///
/// One required hook, [`initialize`](Handler::initialize), where the handler declares the
/// socket events it listens to, the HTTP routes it adds and the background tasks it starts,
/// all through the [`InitContext`]. The host calls handlers in registration order and
/// shuts them down in reverse.
///
/// ```
/// use std::sync::Arc;
/// use plugboard::{async_trait, BoxError, Handler, InitContext, Socket, Reply};
/// use serde_json::{json, Value};
///
/// #[derive(Default)]
/// struct Echo;
///
/// #[async_trait]
/// impl Handler for Echo {
///     fn name(&self) -> &'static str { "echo" }
///     async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
///         cx.on("echo", |_socket: Socket, payload: Value| async move {
///             Ok(json!({ "ok": true, "echo": payload })) as Reply
///         })?;
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Handler: Any + Send + Sync {
    /// Unique name, e.g. `ticket-collision`. Also the config section (`[handlers.ticket_collision]`).
    fn name(&self) -> &'static str;

    /// Declares events, routes and tasks. An error aborts start-up; the handlers
    /// initialized before this one are shut down in reverse order.
    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError>;

    /// Releases resources. Background tasks declared with [`InitContext::spawn`] are
    /// already stopped when this runs.
    async fn shutdown(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// A JSON snapshot for `GET /stats`. Async, so a handler on a networked store reads
    /// fresh numbers instead of keeping a cached copy.
    async fn stats(&self) -> Value {
        Value::Object(Default::default())
    }
}

/// An entry for automatic registration with [`inventory`]; see [`register_handler!`](crate::register_handler).
#[derive(Debug)]
pub struct HandlerRegistration {
    /// Builds the handler with its defaults; settings come from its config section.
    pub make: fn() -> Arc<dyn Handler>,
}

inventory::collect!(HandlerRegistration);

/// Registers a handler type for automatic registration by hosts that call
/// [`HostBuilder::auto_handlers`](crate::HostBuilder::auto_handlers).
///
/// `register_handler!(MyHandler::default);` in the handler crate is all it takes. Caveat:
/// a crate that nothing in the final binary references is not linked, and its
/// registration is then invisible; a host that only lists the crate in Cargo.toml writes
/// `use the_crate as _;` once.
#[macro_export]
macro_rules! register_handler {
    ($make:expr) => {
        $crate::inventory::submit! {
            $crate::HandlerRegistration {
                make: || ::std::sync::Arc::new(($make)()) as ::std::sync::Arc<dyn $crate::Handler>,
            }
        }
    };
}

/// The handlers registered through [`register_handler!`], sorted by name.
pub(crate) fn inventory_handlers() -> Vec<Arc<dyn Handler>> {
    let mut all: Vec<_> = inventory::iter::<HandlerRegistration>
        .into_iter()
        .map(|r| (r.make)())
        .collect();
    all.sort_by_key(|h| h.name());
    all
}
