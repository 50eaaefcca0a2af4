//! # plugboard
//!
//! Host real-time handler modules on a Socket.IO-compatible server. Existing
//! `socket.io-client` 4.x frontends connect unchanged; host services call a handler's API
//! by type; other crates add handlers by implementing [`Handler`].
//!
//! ## A guided tour
//!
//! 1. **A handler** implements [`Handler`]: a name and an async
//!    [`initialize`](Handler::initialize) that declares, through the [`InitContext`], the
//!    socket events it listens to ([`InitContext::on`]), connect and disconnect hooks, HTTP
//!    routes and background tasks. Its answers are a [`Reply`]: the ack body, or a
//!    [`HandlerError`] with an [`ErrorCode`] the client sees as
//!    `{ ok: false, error: { code, message } }` (or a `plugboard:error` event without ack).
//! 2. **A host** collects handlers with a [`HostBuilder`] ([`Plugboard::builder`]):
//!    `builder.handler(h)` returns the `Arc<H>` to keep; [`HostBuilder::auto_handlers`]
//!    adds those that linked crates registered with [`register_handler!`].
//!    [`HostBuilder::start`] initializes them in order and rolls back on failure.
//! 3. **The running [`Host`]** gives handlers by type ([`Host::handler`],
//!    [`Host::require`]), an axum [`Router`](axum::Router) to serve or merge, and
//!    [`Host::serve`] with the graceful shutdown sequence.
//!
//! The framework owns the one connect and disconnect handler of the namespace and fans
//! them out to every handler; it authenticates every socket into an [`Identity`]
//! (`jwt` or `dev` mode), keeps the [`Sessions`] index, replays answers of repeated
//! `messageId`s, rate-limits events, and runs one socket's events in arrival order.
//!
//! ```no_run
//! use plugboard::{Config, Plugboard, shutdown_signal};
//!
//! # async fn run() -> Result<(), plugboard::HostError> {
//! let mut builder = Plugboard::builder(Config::load(None)?)?;
//! builder.auto_handlers()?;
//! let host = builder.start().await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! host.serve(listener, shutdown_signal()).await
//! # }
//! ```

mod adapter;
mod apikey;
mod backend;
mod builder;
mod cluster;
pub mod config;
mod context;
mod core;
mod dispatch;
mod error;
mod handler;
mod host;
mod http;
mod idempotency;
mod identity;
mod io;
mod lifecycle;
mod metrics;
mod names;
mod payload;
mod reason;
mod route;
mod sessions;
mod sio;
mod socket;

pub use apikey::{ApiKey, json_error};
pub use backend::{Backend, StoreError};
pub use builder::HostBuilder;
#[doc(hidden)]
pub use cluster::testing;
pub use cluster::{OrderGuard, OrderLock, RedisIdempotencyStore, RedisSessionStore, RedisStore};
pub use config::Config;
pub use context::InitContext;
pub use core::user_room;
pub use error::{BoxError, ErrorCode, HandlerError, HostError};
pub use handler::{Handler, HandlerRegistration};
pub use host::{Host, shutdown_signal};
pub use idempotency::{IdempotencyStore, MemoryIdempotencyStore};
pub use identity::{AuthError, Identity};
pub use io::{Broadcast, Io};
pub use reason::DisconnectReason;
pub use route::Reply;
pub use sessions::{MemorySessionStore, SessionStore, Sessions};
pub use socket::{Socket, SocketId};

pub use async_trait::async_trait;
/// The `redis` crate, for handler crates writing a Redis store (they depend on plugboard only).
pub use redis;
pub use tokio_util::sync::CancellationToken;

#[doc(hidden)]
pub use inventory;

/// Entry point: `Plugboard::builder(config)`.
#[derive(Debug)]
pub struct Plugboard;

impl Plugboard {
    /// A [`HostBuilder`] for `config`.
    pub fn builder(config: Config) -> Result<HostBuilder, HostError> {
        HostBuilder::new(config)
    }
}
