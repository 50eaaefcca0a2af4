//! Per-ticket serialization of "change the store, then tell the room".
//!
//! The store makes each change atomic, but two changes to one ticket made by different
//! sockets run in parallel, and their `viewers:updated` broadcasts could reach the room in
//! the other order, leaving clients with an old list. Holding a ticket's lock from the
//! store call until its broadcasts are queued keeps the room's events in the order of the
//! changes. Tickets hash onto a fixed set of locks, so memory stays constant.

use std::hash::{BuildHasher, RandomState};

use tokio::sync::{Mutex, MutexGuard};

/// A fixed set of async locks, picked by ticket id.
pub(crate) struct TicketLocks {
    locks: Box<[Mutex<()>]>,
    hasher: RandomState,
}

impl TicketLocks {
    /// `n` stripes (at least one).
    pub(crate) fn new(n: usize) -> Self {
        Self {
            locks: (0..n.max(1)).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }

    /// Waits for the lock of `ticket`.
    pub(crate) async fn lock(&self, ticket: &str) -> MutexGuard<'_, ()> {
        let i = (self.hasher.hash_one(ticket) % self.locks.len() as u64) as usize;
        self.locks[i].lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_ticket_is_locked_by_one_holder_at_a_time() {
        let locks = TicketLocks::new(8);
        let held = locks.lock("T1").await;
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), locks.lock("T1"));
        assert!(again.await.is_err());
        drop(held);
        let _ok = locks.lock("T1").await;
    }
}
