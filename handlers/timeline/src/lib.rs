//! # plugboard-timeline
//!
//! Entity-scoped real-time timeline updates (seed 004). Clients follow an entity with
//! `timeline:subscribe` `{ entityType, entityId }` (room `timeline:{entityType}:{entityId}`)
//! and leave with `timeline:unsubscribe`; the host broadcasts to the entity's followers:
//!
//! - from Rust, through [`Timeline`]'s host API (`host.handler::<Timeline>()`):
//!   [`broadcast_new_item`](Timeline::broadcast_new_item),
//!   [`broadcast_item_updated`](Timeline::broadcast_item_updated),
//!   [`broadcast_item_deleted`](Timeline::broadcast_item_deleted),
//!   [`request_refresh`](Timeline::request_refresh),
//!   [`broadcast_bulk_update`](Timeline::broadcast_bulk_update), each returning how many
//!   sockets it reached;
//! - from other languages, through `POST /api/timeline/{entityType}/{entityId}` with a
//!   bearer API key.
//!
//! A broadcast to an entity nobody follows does no socket work and counts as skipped.
//!
//! Subscriptions live in a [`TimelineStore`]: [`MemoryTimelineStore`] on one node, or
//! [`RedisTimelineStore`] when the host runs with `store = "redis"`, where subscriber
//! counts are those of the whole cluster and a broadcast from any node (Rust or HTTP)
//! reaches the entity's followers on every node.
//! Entity types come from an allow-list (`[handlers.timeline] entity_types`); an optional
//! [`SubscribeAuthorizer`] decides who may follow what. The wire contract is in
//! `docs/protocol.md` (section *timeline*).
//!
//! ```no_run
//! # async fn run(host: plugboard::Host) -> Result<(), Box<dyn std::error::Error>> {
//! use plugboard_timeline::Timeline;
//! let timeline = host.require::<Timeline>()?;
//! let reached = timeline
//!     .broadcast_new_item("client", "507f1f77", &serde_json::json!({ "id": "a1", "kind": "note" }))
//!     .await?;
//! # let _ = reached; Ok(()) }
//! ```

mod api;
mod authorize;
mod config;
mod entity;
mod error;
mod handler;
mod http;
mod redis;
mod store;

pub use api::{EntityStats, TimelineStats};
pub use authorize::SubscribeAuthorizer;
pub use config::{DEFAULT_ENTITY_TYPES, TimelineConfig};
pub use entity::EntityKey;
pub use error::{StoreError, TimelineError};
pub use handler::{EntityRequest, Timeline};
pub use redis::RedisTimelineStore;
pub use store::{MemoryTimelineStore, StoreStats, SubscribeOutcome, TimelineStore};
