//! Store tests' set-up: the running test's store (memory or Redis), view requests, and
//! the check that an emptied store left nothing behind.

#![allow(dead_code, missing_docs)]

use std::sync::Arc;

use plugboard::{RedisStore, SocketId};
use plugboard_ticket_collision::{
    TicketCollision, TicketCollisionConfig, ViewRequest, ViewerStats, ViewerStore,
};

/// A store of the running test, with its Redis when it is the Redis one.
pub struct Store {
    pub store: Arc<dyn ViewerStore>,
    pub redis: Option<RedisStore>,
}

impl std::ops::Deref for Store {
    type Target = dyn ViewerStore;
    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

/// The store `TicketCollision::new()` would pick on this test's backend.
pub async fn store() -> Store {
    let backend = plugboard_testkit::backend().await;
    Store {
        store: TicketCollision::store_for(&backend, &TicketCollisionConfig::default()),
        redis: backend.redis().cloned(),
    }
}

pub fn req<'a>(ticket: &'a str, agent: &'a str, socket: SocketId, now: u64) -> ViewRequest<'a> {
    ViewRequest {
        ticket,
        agent,
        name: agent,
        socket,
        now,
        max_tickets_per_socket: 3,
    }
}

/// Every key of the handler in this test's cluster (none on memory).
pub async fn keys(s: &Store) -> Vec<String> {
    let Some(redis) = &s.redis else {
        return Vec::new();
    };
    let mut keys: Vec<String> = redis
        .query(plugboard::redis::cmd("KEYS").arg(format!("{}*", redis.key("tc:"))))
        .await
        .unwrap();
    keys.sort();
    keys
}

/// No viewer, no index entry, and on Redis no key is left.
pub async fn assert_empty(s: &Store) {
    assert_eq!(s.stats(10).await.unwrap(), ViewerStats::default());
    assert!(s.stale(u64::MAX, 10).await.unwrap().is_empty());
    assert!(s.due_typing(u64::MAX, 10).await.unwrap().is_empty());
    assert_eq!(keys(s).await, Vec::<String>::new());
}
