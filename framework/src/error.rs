//! Errors: [`HostError`] for building and running a host, [`HandlerError`] for what a
//! handler answers a client on the wire.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

/// A boxed error returned by handler lifecycle hooks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors while configuring, starting or stopping a plugboard host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Two handlers were registered under the same name.
    #[error("a handler named `{name}` is already registered; handler names must be unique")]
    DuplicateHandler {
        /// The name both handlers claim.
        name: &'static str,
    },
    /// Two handlers declared a listener for the same socket event.
    #[error(
        "event `{event}` is claimed by both `{first}` and `{second}`; each event has one handler"
    )]
    DuplicateEvent {
        /// The socket event name.
        event: String,
        /// The handler that claimed it first.
        first: &'static str,
        /// The handler that tried to claim it again.
        second: &'static str,
    },
    /// Two handlers declared the same HTTP route.
    #[error("HTTP route `{path}` is declared by both `{first}` and `{second}`")]
    DuplicateRoute {
        /// The route path.
        path: String,
        /// The handler that declared it first.
        first: &'static str,
        /// The handler that tried to declare it again.
        second: &'static str,
    },
    /// A handler's `initialize` failed; the handlers before it were shut down.
    #[error("handler `{name}` failed to initialize: {source}")]
    InitializeFailed {
        /// The handler's name.
        name: &'static str,
        /// What the handler reported.
        #[source]
        source: BoxError,
    },
    /// A handler's configuration section could not be read.
    #[error("invalid configuration for handler `{name}`: {message}")]
    HandlerConfig {
        /// The handler's name.
        name: &'static str,
        /// What is wrong with the section.
        message: String,
    },
    /// A handler looked up by type is not registered.
    #[error(
        "handler `{type_name}` is not registered (or is disabled in config); register it with \
         `builder.handler({short}::new(..))` or enable it under `[handlers.<name>]`"
    )]
    MissingHandler {
        /// The full Rust type name that was asked for.
        type_name: &'static str,
        /// The last path segment of the type name.
        short: &'static str,
    },
    /// The configuration could not be loaded.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The server could not bind or serve.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The cluster's Redis could not be reached at start.
    #[error("cluster mode: {0}")]
    Store(crate::StoreError),
    /// This node was declared dead by the cluster while it was cut off from Redis, and
    /// stopped serving so its clients reconnect elsewhere. Restart it.
    #[error(
        "this node was declared dead by the cluster (no heartbeat within cluster.node_timeout_ms) and stopped serving; restart it"
    )]
    Fenced,
}

/// The error codes a client may see in `{ ok: false, error: { code, message } }` or in a
/// `plugboard:error` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The payload is missing a field, has a wrong type or is too large.
    InvalidPayload,
    /// The thing the event names does not exist.
    NotFound,
    /// The identity may not do this.
    Forbidden,
    /// The state changed under the request (e.g. a call already accepted).
    Conflict,
    /// The user is busy (in another call or match).
    Busy,
    /// The socket sends events faster than allowed.
    RateLimited,
    /// A backing store is unreachable; try again later.
    Unavailable,
    /// An unexpected server error.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid_payload",
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::Busy => "busy",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// All codes, for metrics.
    pub const ALL: [ErrorCode; 8] = [
        Self::InvalidPayload,
        Self::NotFound,
        Self::Forbidden,
        Self::Conflict,
        Self::Busy,
        Self::RateLimited,
        Self::Unavailable,
        Self::Internal,
    ];
}

/// A handler's refusal of a client event. It reaches the client as the ack
/// `{ ok: false, error: { code, message, ..details } }` or, without an ack, as the event
/// `plugboard:error` `{ event, code, message }`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct HandlerError {
    /// The machine-readable code.
    pub code: ErrorCode,
    /// A human-readable explanation naming what was wrong.
    pub message: Cow<'static, str>,
    /// Extra fields merged into the error object (e.g. the current `status` on a conflict).
    pub details: Option<Map<String, Value>>,
    /// When the client sent no ack: the event (and payload) to send instead of
    /// `plugboard:error`, for frontends that listen to an error event of their own.
    pub no_ack_event: Option<(Cow<'static, str>, Value)>,
}

impl HandlerError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            no_ack_event: None,
        }
    }
    /// `invalid_payload`.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidPayload, message)
    }
    /// `not_found`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    /// `forbidden`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// `conflict`.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// `busy`.
    pub fn busy(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Busy, message)
    }
    /// `unavailable`.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    /// `internal`.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// Adds a field to the error object, e.g. `.with_detail("status", "accepted")`.
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }

    /// Without an ack, send `event` with `payload` to the socket instead of
    /// `plugboard:error` (e.g. live-queue's `staged-call-error` `{ error, code }`). With an
    /// ack, the ack still gets `{ ok: false, error }`.
    pub fn or_emit(mut self, event: impl Into<Cow<'static, str>>, payload: Value) -> Self {
        self.no_ack_event = Some((event.into(), payload));
        self
    }

    /// The `error` object: `{ code, message, ..details }`.
    pub fn to_json(&self) -> Value {
        let mut obj = self.details.clone().unwrap_or_default();
        obj.insert("code".into(), Value::from(self.code.as_str()));
        obj.insert("message".into(), Value::from(self.message.as_ref()));
        Value::Object(obj)
    }

    /// The whole ack body: `{ ok: false, error: { .. } }`.
    pub fn to_ack(&self) -> Value {
        serde_json::json!({ "ok": false, "error": self.to_json() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ack_carries_code_message_and_details() {
        let e = HandlerError::conflict("call already accepted").with_detail("status", "accepted");
        assert_eq!(
            e.to_ack(),
            serde_json::json!({"ok": false, "error": {"code": "conflict", "message": "call already accepted", "status": "accepted"}})
        );
    }

    #[test]
    fn missing_handler_error_names_type_and_fix() {
        let e = HostError::MissingHandler {
            type_name: "crate::Timeline",
            short: "Timeline",
        };
        let text = e.to_string();
        assert!(
            text.contains("crate::Timeline") && text.contains("builder.handler(Timeline::new(..))")
        );
    }
}
