//! The one connect handler, fallback message handler and disconnect handler plugboard
//! registers with socketioxide. They are implemented directly (not as async closures) so
//! that registration is synchronous.
//!
//! socketioxide sends the CONNECT answer before it calls the connect handler, and on a
//! multi-thread runtime a client's first event can arrive in between; an event that finds
//! no handler is dropped. So the fallback handler is registered in the middleware, before
//! the answer goes out, and queues events on a held queue; the connect handler releases it
//! behind the connect job.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use socketioxide::extract::{AckSender, Data, Event, SocketRef};
use socketioxide::handler::{
    ConnectHandler, DisconnectHandler, FromConnectParts, FromMessageParts, MessageHandler,
    Value as SioValue,
};
use socketioxide::socket::DisconnectReason as SioReason;

use crate::HandlerError;
use crate::adapter::Flavor;
use crate::core::{Core, Live, user_room};
use crate::dispatch::{Job, SocketState, admit, push, refuse_now, release, wrap};
use crate::identity::AuthError;
use crate::payload::Payload;
use crate::route::Route;

type SioSocket<A> = socketioxide::socket::Socket<A>;

#[doc(hidden)]
pub struct ConnectMarker;
#[doc(hidden)]
pub struct MessageMarker;
#[doc(hidden)]
pub struct DisconnectMarker;

type MiddlewareResult = Result<(), Box<dyn Display + Send>>;

#[derive(Clone)]
pub(crate) struct Connector {
    pub(crate) core: Arc<Core>,
}

impl<A: Flavor> ConnectHandler<A, ConnectMarker> for Connector {
    fn call(&self, s: Arc<SioSocket<A>>, _auth: Option<SioValue>) {
        let core = &self.core;
        let Some(state) = s.extensions.get::<Arc<SocketState>>() else {
            // Unreachable: the middleware either stored the state or refused the socket.
            tracing::error!(socket = %s.id, "socket without state; disconnecting");
            let _ = SocketRef::from(s).disconnect();
            return;
        };
        let identity = state.identity.clone();
        s.on_disconnect(Disconnector {
            core: core.clone(),
            state: state.clone(),
        });
        let socket = wrap(
            core,
            A::socket(SocketRef::from(s.clone())),
            identity.clone(),
        );
        // As in Node Socket.IO, every socket is in a room named by its own id, so
        // `to(id)` / `except(id)` address one socket (on any node once clustered).
        socket.join(s.id.to_string());
        socket.join(user_room(&identity.user_id));
        core.live.insert(
            s.id,
            Live {
                socket: socket.clone(),
                state: state.clone(),
            },
        );
        core.metrics.connected();
        tracing::debug!(socket = %s.id, user = %identity.user_id, "socket connected");
        release(core, &state, Job::Connect(socket.clone()));
        if !s.connected() {
            // The transport closed before the disconnect handler was in place, so no
            // disconnect will come: clean up now (a real one, if it came, is a no-op then).
            push(
                core,
                &state,
                Job::Disconnect {
                    socket,
                    reason: crate::DisconnectReason::TransportClose,
                    defer: Box::new(|| ()),
                },
            );
        }
    }

    fn call_middleware<'a>(
        &'a self,
        s: Arc<SioSocket<A>>,
        auth: &'a Option<SioValue>,
    ) -> Pin<Box<dyn Future<Output = MiddlewareResult> + Send + 'a>> {
        Box::pin(async move {
            if self.core.is_shutting_down() {
                return Err(Box::new(AuthError::ShuttingDown) as Box<dyn Display + Send>);
            }
            let auth = Data::<Value>::from_connect_parts(&s, auth)
                .map(|d| d.0)
                .unwrap_or(Value::Null);
            match self.core.auth.authenticate(&auth) {
                Ok(identity) => {
                    let state = Arc::new(SocketState::new(
                        Arc::new(identity),
                        &self.core.config.limits,
                    ));
                    s.on_fallback(Dispatcher {
                        core: self.core.clone(),
                        state: state.clone(),
                    });
                    s.extensions.insert(state);
                    Ok(())
                }
                Err(e) => {
                    tracing::info!(socket = %s.id, error = %e, "handshake refused");
                    Err(Box::new(e) as Box<dyn Display + Send>)
                }
            }
        })
    }
}

pub(crate) struct Dispatcher {
    core: Arc<Core>,
    state: Arc<SocketState>,
}

impl<A: Flavor> MessageHandler<A, MessageMarker> for Dispatcher {
    fn call(&self, s: Arc<SioSocket<A>>, mut v: SioValue, ack_id: Option<i64>) {
        let core = &self.core;
        if core.is_shutting_down() {
            return;
        }
        // Found here or named for the refusal.
        let route: Result<Arc<Route>, String> = match quick_event_name(&v) {
            Some(name) => core
                .table()
                .events
                .get(name)
                .cloned()
                .ok_or_else(|| name.to_owned()),
            None => match Event::from_message_parts(&s, &mut v, &ack_id) {
                Ok(Event(name)) => core.table().events.get(&name).cloned().ok_or(name),
                Err(_) => return,
            },
        };
        let ack = ack_id.map(|_| {
            A::ack(
                AckSender::from_message_parts(&s, &mut v, &ack_id).unwrap_or_else(|e| match e {}),
            )
        });
        let socket = wrap(
            core,
            A::socket(SocketRef::from(s.clone())),
            self.state.identity.clone(),
        );
        let route = match route {
            Ok(route) => route,
            Err(name) => {
                tracing::debug!(socket = %s.id, event = %name, "unknown event");
                if ack.is_some() {
                    let e = HandlerError::not_found(format!("unknown event `{name}`"));
                    refuse_now(core, &socket, &name, ack, e);
                }
                return;
            }
        };
        if let Err(e) = admit(&self.state) {
            tracing::debug!(socket = %s.id, user = %self.state.identity.user_id, event = %route.event, "rate limited");
            refuse_now(core, &socket, &route.event, ack, e);
            return;
        }
        let payload = Payload::new(v);
        push(
            core,
            &self.state,
            Job::Event {
                route,
                socket,
                payload,
                ack,
            },
        );
    }
}

/// The event name of an event's data (`["name", ...]`) when it is a plain JSON string
/// without escapes, read without a JSON parser; `None` otherwise (the caller then uses
/// socketioxide's parser). socketioxide has already parsed the data to find that no handler
/// of its own matched, so the data is valid JSON here; reading the name a second time with
/// the parser cost about 2,200 instructions per event (measured with callgrind).
fn quick_event_name(v: &SioValue) -> Option<&str> {
    let data: &str = v.as_str()?;
    let rest = data.strip_prefix('[')?.trim_start().strip_prefix('"')?;
    let end = rest.find(['"', '\\'])?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

pub(crate) struct Disconnector {
    core: Arc<Core>,
    state: Arc<SocketState>,
}

impl<A: Flavor> DisconnectHandler<A, DisconnectMarker> for Disconnector {
    fn call_with_defer(
        &self,
        s: Arc<SioSocket<A>>,
        reason: SioReason,
        defer: fn(Arc<SioSocket<A>>),
    ) {
        let socket = wrap(
            &self.core,
            A::socket(SocketRef::from(s.clone())),
            self.state.identity.clone(),
        );
        push(
            &self.core,
            &self.state,
            Job::Disconnect {
                socket,
                reason: reason.into(),
                defer: Box::new(move || defer(s)),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(s: &str) -> SioValue {
        SioValue::Str(s.to_owned().into(), None)
    }

    #[test]
    fn plain_event_names_are_read_without_the_parser() {
        assert_eq!(
            quick_event_name(&data(r#"["health-ping",{"id":1}]"#)),
            Some("health-ping")
        );
        assert_eq!(quick_event_name(&data(r#"[ "a:b" ]"#)), Some("a:b"));
        assert_eq!(quick_event_name(&data(r#"["ümlaut"]"#)), Some("ümlaut"));
    }

    #[test]
    fn names_with_escapes_or_other_shapes_go_to_the_parser() {
        assert_eq!(quick_event_name(&data(r#"["a\"b",1]"#)), None);
        assert_eq!(quick_event_name(&data(r#"["a\u0041"]"#)), None);
        assert_eq!(quick_event_name(&data(r#"[1,2]"#)), None);
        assert_eq!(quick_event_name(&data(r#"{"a":1}"#)), None);
        assert_eq!(quick_event_name(&data(r#"["unterminated"#)), None);
    }
}
