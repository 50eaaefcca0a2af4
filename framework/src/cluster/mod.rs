//! Cluster mode (`store = "redis"`): many plugboard nodes on one Redis.
//!
//! - [`RedisStore`]: namespaced keys and bounded calls, for handler stores.
//! - `driver`: socketioxide-redis' pub/sub driver on a reconnecting connection manager,
//!   so broadcasts reach every node and survive a Redis restart.
//! - [`RedisSessionStore`] and [`RedisIdempotencyStore`]: the framework's own state.
//! - `node`: heartbeat, dead-node reaper, reconciliation after an outage.
//! - [`OrderLock`]: per-key ordering of "change, then broadcast" across nodes.

pub(crate) mod driver;
pub(crate) mod health;
mod idempotency;
mod lock;
pub(crate) mod node;
mod reaper;
mod sessions;
mod store;
#[doc(hidden)]
pub mod testing;

pub use idempotency::RedisIdempotencyStore;
pub use lock::{OrderGuard, OrderLock};
pub use sessions::RedisSessionStore;
pub use store::RedisStore;

/// Milliseconds since the Unix epoch, by this node's clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
