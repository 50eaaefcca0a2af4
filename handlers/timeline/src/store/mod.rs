//! Subscription state behind [`TimelineStore`]: the in-process [`MemoryTimelineStore`]
//! and, for a cluster, [`RedisTimelineStore`](crate::RedisTimelineStore).
//!
//! The state is two indexes: socket -> entities it follows, and entity -> subscriber count.
//! Every check-and-set (subscribe, unsubscribe, dropping a socket) is one trait method, so a
//! networked store makes each one atomic (one Redis script) without the handler reading
//! and then writing.

mod memory;

use std::time::Duration;

use async_trait::async_trait;
use plugboard::SocketId;

use crate::{EntityKey, StoreError};

pub use memory::MemoryTimelineStore;

/// What [`TimelineStore::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// The socket now follows the entity; `subscribers` counts it.
    Added {
        /// Subscribers of the entity after the change.
        subscribers: u64,
    },
    /// The socket already followed the entity; nothing changed.
    AlreadySubscribed {
        /// Subscribers of the entity.
        subscribers: u64,
    },
    /// The socket follows `limit` entities already; nothing changed.
    LimitReached {
        /// The per-socket limit.
        limit: usize,
    },
}

/// Counts for `stats()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Sockets following at least one entity.
    pub total_sockets: u64,
    /// Entities with at least one subscriber.
    pub total_entities: u64,
    /// The entities with the most subscribers, most first (ties by key), at most `top_n`.
    pub top: Vec<(EntityKey, u64)>,
}

/// Storage of timeline subscriptions. Object safe; the handler holds an
/// `Arc<dyn TimelineStore>`. On a networked store every method may fail with
/// [`StoreError::Unavailable`]; a failed change changed nothing.
#[async_trait]
pub trait TimelineStore: Send + Sync + 'static {
    /// Adds `socket` to the entity's subscribers unless it is there already or follows
    /// `limit` entities (0: no limit). One atomic step.
    async fn subscribe(
        &self,
        socket: SocketId,
        entity: &EntityKey,
        limit: usize,
    ) -> Result<SubscribeOutcome, StoreError>;

    /// Removes `socket` from the entity's subscribers (nothing when it was not there) and
    /// returns the subscribers left. An entity left without subscribers leaves no state.
    async fn unsubscribe(&self, socket: SocketId, entity: &EntityKey) -> Result<u64, StoreError>;

    /// Removes every subscription of `socket` and returns the entities it followed. Running
    /// it again for the same socket changes nothing.
    async fn drop_socket(&self, socket: SocketId) -> Result<Vec<EntityKey>, StoreError>;

    /// Subscribers of an entity (0 when none), on every node of a cluster.
    async fn subscriber_count(&self, entity: &EntityKey) -> Result<u64, StoreError>;

    /// Totals and the `top_n` most-followed entities (none when `top_n` is 0).
    async fn stats(&self, top_n: usize) -> Result<StoreStats, StoreError>;

    /// How often the handler runs [`upkeep`](Self::upkeep); `None` (the default): never.
    fn upkeep_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic housekeeping, run on every node (e.g. keeping this node's sockets' state
    /// alive and sweeping what no node cleaned up). Every step must be safe to run on
    /// several nodes at once.
    async fn upkeep(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
