//! Event routes: what runs when a client event arrives, and the per-handler hooks.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::metrics::RouteMetrics;
use crate::payload::Payload;
use crate::{DisconnectReason, HandlerError, Socket};

/// What an event handler answers: the ack body on success (sent only when the client asked
/// for an ack), or an error that reaches the client as `{ ok: false, error }` or
/// `plugboard:error`.
pub type Reply = Result<Value, HandlerError>;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type EventFn = dyn Fn(Socket, Payload) -> BoxFuture<Reply> + Send + Sync;
pub(crate) type ConnectFn = dyn Fn(Socket) -> BoxFuture<()> + Send + Sync;
pub(crate) type DisconnectFn = dyn Fn(Socket, DisconnectReason) -> BoxFuture<()> + Send + Sync;

/// One client event and the handler that owns it.
pub(crate) struct Route {
    pub(crate) handler: &'static str,
    pub(crate) event: Arc<str>,
    pub(crate) call: Box<EventFn>,
    pub(crate) metrics: RouteMetrics,
}

/// A connect or disconnect hook with the handler that declared it.
pub(crate) struct Hook<F: ?Sized> {
    pub(crate) handler: &'static str,
    pub(crate) call: Box<F>,
}

/// Wraps a typed handler function: the payload is deserialized into `T` (once, from the
/// wire data), and a payload that does not fit answers `invalid_payload` naming the field.
pub(crate) fn typed<T, F, Fut>(f: F) -> Box<EventFn>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Socket, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let f = Arc::new(f);
    Box::new(move |socket, payload| {
        let f = f.clone();
        Box::pin(async move {
            let value = payload.decode::<T>()?;
            f(socket, value).await
        })
    })
}
