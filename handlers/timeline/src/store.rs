//! Subscription state behind [`TimelineStore`], and the in-process [`MemoryTimelineStore`].
//!
//! The state is two indexes: socket -> entities it follows, and entity -> subscriber count.
//! Every check-and-set (subscribe, unsubscribe, dropping a socket) is one trait method, so a
//! networked store can make each one atomic (a Redis script) without the handler reading
//! and then writing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use plugboard::SocketId;

use crate::{EntityKey, StoreError};

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
/// `Arc<dyn TimelineStore>`.
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

    /// Removes every subscription of `socket` and returns the entities it followed.
    async fn drop_socket(&self, socket: SocketId) -> Result<Vec<EntityKey>, StoreError>;

    /// Subscribers of an entity (0 when none).
    async fn subscriber_count(&self, entity: &EntityKey) -> Result<u64, StoreError>;

    /// Totals and the `top_n` most-followed entities. Must not block: a networked store
    /// answers from state it keeps locally (this backs the synchronous `/stats`).
    fn stats(&self, top_n: usize) -> StoreStats;
}

/// The in-process [`TimelineStore`]: two sharded maps, each update O(1).
#[derive(Debug, Default)]
pub struct MemoryTimelineStore {
    sockets: DashMap<SocketId, HashSet<EntityKey>>,
    entities: DashMap<EntityKey, u64>,
}

impl MemoryTimelineStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn decrement(&self, entity: &EntityKey) -> u64 {
        match self.entities.entry(entity.clone()) {
            Entry::Occupied(mut e) => {
                if *e.get() <= 1 {
                    e.remove();
                    0
                } else {
                    *e.get_mut() -= 1;
                    *e.get()
                }
            }
            Entry::Vacant(_) => 0,
        }
    }
}

#[async_trait]
impl TimelineStore for MemoryTimelineStore {
    async fn subscribe(
        &self,
        socket: SocketId,
        entity: &EntityKey,
        limit: usize,
    ) -> Result<SubscribeOutcome, StoreError> {
        // The socket's entry stays locked until the entity count is updated, so a
        // concurrent drop of this socket cannot interleave.
        let mut followed = self.sockets.entry(socket).or_default();
        if followed.contains(entity) {
            let subscribers = self.entities.get(entity).map_or(0, |c| *c);
            return Ok(SubscribeOutcome::AlreadySubscribed { subscribers });
        }
        if limit > 0 && followed.len() >= limit {
            // Not empty (limit > 0), so no empty entry is left behind.
            return Ok(SubscribeOutcome::LimitReached { limit });
        }
        followed.insert(entity.clone());
        let mut count = self.entities.entry(entity.clone()).or_insert(0);
        *count += 1;
        Ok(SubscribeOutcome::Added {
            subscribers: *count,
        })
    }

    async fn unsubscribe(&self, socket: SocketId, entity: &EntityKey) -> Result<u64, StoreError> {
        if let Entry::Occupied(mut e) = self.sockets.entry(socket)
            && e.get_mut().remove(entity)
        {
            let left = self.decrement(entity);
            if e.get().is_empty() {
                e.remove();
            }
            return Ok(left);
        }
        // Not subscribed: nothing changes.
        Ok(self.entities.get(entity).map_or(0, |c| *c))
    }

    async fn drop_socket(&self, socket: SocketId) -> Result<Vec<EntityKey>, StoreError> {
        let Some((_, followed)) = self.sockets.remove(&socket) else {
            return Ok(Vec::new());
        };
        let followed: Vec<EntityKey> = followed.into_iter().collect();
        for entity in &followed {
            self.decrement(entity);
        }
        Ok(followed)
    }

    async fn subscriber_count(&self, entity: &EntityKey) -> Result<u64, StoreError> {
        Ok(self.entities.get(entity).map_or(0, |c| *c))
    }

    fn stats(&self, top_n: usize) -> StoreStats {
        // A bounded min-heap: O(entities · log top_n), only when stats are asked for.
        let mut heap: BinaryHeap<Reverse<(u64, Reverse<EntityKey>)>> = BinaryHeap::new();
        for e in self.entities.iter() {
            if top_n == 0 {
                break;
            }
            heap.push(Reverse((*e.value(), Reverse(e.key().clone()))));
            if heap.len() > top_n {
                heap.pop();
            }
        }
        let mut top: Vec<(EntityKey, u64)> = heap
            .into_iter()
            .map(|Reverse((n, Reverse(k)))| (k, n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        StoreStats {
            total_sockets: self.sockets.len() as u64,
            total_entities: self.entities.len() as u64,
            top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str, id: &str) -> EntityKey {
        EntityKey {
            entity_type: t.into(),
            entity_id: id.into(),
        }
    }

    #[tokio::test]
    async fn counts_follow_subscribe_unsubscribe_and_drop_and_return_to_empty() {
        let s = MemoryTimelineStore::new();
        let (a, b) = (SocketId::new(), SocketId::new());
        let (c1, c2) = (key("client", "1"), key("client", "2"));
        assert_eq!(
            s.subscribe(a, &c1, 0).await.unwrap(),
            SubscribeOutcome::Added { subscribers: 1 }
        );
        assert_eq!(
            s.subscribe(a, &c1, 0).await.unwrap(),
            SubscribeOutcome::AlreadySubscribed { subscribers: 1 }
        );
        assert_eq!(
            s.subscribe(b, &c1, 0).await.unwrap(),
            SubscribeOutcome::Added { subscribers: 2 }
        );
        s.subscribe(b, &c2, 0).await.unwrap();
        let st = s.stats(10);
        assert_eq!((st.total_sockets, st.total_entities), (2, 2));
        assert_eq!(st.top, vec![(c1.clone(), 2), (c2.clone(), 1)]);
        assert_eq!(s.unsubscribe(a, &c2).await.unwrap(), 1, "not subscribed");
        assert_eq!(s.unsubscribe(a, &c1).await.unwrap(), 1);
        assert_eq!(s.stats(10).total_sockets, 1);
        let mut dropped = s.drop_socket(b).await.unwrap();
        dropped.sort();
        assert_eq!(dropped, vec![c1.clone(), c2.clone()]);
        assert_eq!(s.stats(10), StoreStats::default());
        assert_eq!(s.subscriber_count(&c1).await.unwrap(), 0);
        assert!(s.drop_socket(b).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_per_socket_limit_refuses_without_changing_anything() {
        let s = MemoryTimelineStore::new();
        let a = SocketId::new();
        s.subscribe(a, &key("task", "1"), 2).await.unwrap();
        s.subscribe(a, &key("task", "2"), 2).await.unwrap();
        assert_eq!(
            s.subscribe(a, &key("task", "3"), 2).await.unwrap(),
            SubscribeOutcome::LimitReached { limit: 2 }
        );
        // Re-subscribing to a followed entity is still harmless at the limit.
        assert_eq!(
            s.subscribe(a, &key("task", "1"), 2).await.unwrap(),
            SubscribeOutcome::AlreadySubscribed { subscribers: 1 }
        );
        assert_eq!(s.stats(10).total_entities, 2);
    }

    #[tokio::test]
    async fn stats_list_is_capped_at_top_n_most_followed_first() {
        let s = MemoryTimelineStore::new();
        for i in 0..5u32 {
            for _ in 0..=i {
                s.subscribe(SocketId::new(), &key("lead", &i.to_string()), 0)
                    .await
                    .unwrap();
            }
        }
        let st = s.stats(2);
        assert_eq!(st.total_entities, 5);
        assert_eq!(st.total_sockets, 15);
        assert_eq!(st.top, vec![(key("lead", "4"), 5), (key("lead", "3"), 4)]);
        assert!(s.stats(0).top.is_empty());
    }
}
