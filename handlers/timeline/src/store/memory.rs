//! [`MemoryTimelineStore`]: subscriptions in two sharded maps of this process.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use plugboard::SocketId;

use super::{StoreStats, SubscribeOutcome, TimelineStore};
use crate::{EntityKey, StoreError};

/// The in-process [`TimelineStore`]: two sharded maps, each update O(1). One node only.
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

    async fn stats(&self, top_n: usize) -> Result<StoreStats, StoreError> {
        // A bounded min-heap: O(entities · log top_n), only when stats are asked for.
        let mut heap: BinaryHeap<Reverse<(u64, Reverse<EntityKey>)>> = BinaryHeap::new();
        if top_n > 0 {
            for e in self.entities.iter() {
                heap.push(Reverse((*e.value(), Reverse(e.key().clone()))));
                if heap.len() > top_n {
                    heap.pop();
                }
            }
        }
        let mut top: Vec<(EntityKey, u64)> = heap
            .into_iter()
            .map(|Reverse((n, Reverse(k)))| (k, n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(StoreStats {
            total_sockets: self.sockets.len() as u64,
            total_entities: self.entities.len() as u64,
            top,
        })
    }
}
