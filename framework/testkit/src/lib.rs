//! Test support for plugboard and its handlers.
//!
//! [`TestServer`] starts a [`HostBuilder`](plugboard::HostBuilder) on a loopback port;
//! [`Client`] speaks Engine.IO v4 / Socket.IO v5 over a real websocket, enough for
//! handler tests in Rust (events, acks, connect errors). Compatibility with the real
//! JavaScript client is proven separately by the Node tests under `e2e/`.

mod client;
mod redis_server;
mod server;
mod stores;

pub use client::{Client, ConnectError};
/// Writes what a crashed cluster node leaves in Redis (see `plugboard::testing`).
pub use plugboard::testing::crashed_node;
pub use redis_server::RedisServer;
pub use server::TestServer;
pub use stores::{Store, answers_ping, backend, config, current, redis_url, run_on};

/// Dev-mode handshake auth for a user.
pub fn dev_auth(user_id: &str, name: &str, roles: &[&str]) -> serde_json::Value {
    serde_json::json!({ "userId": user_id, "userName": name, "roles": roles })
}
