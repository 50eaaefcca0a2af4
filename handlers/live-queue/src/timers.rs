//! [`GraceTimers`]: per-user rejoin-grace deadlines, served by one background task.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One deadline per user; scheduling again replaces it, cancelling removes it.
#[derive(Debug, Default)]
pub struct GraceTimers {
    by_deadline: Mutex<BTreeMap<(Instant, u64), String>>,
    by_user: DashMap<String, (Instant, u64)>,
    seq: AtomicU64,
    wake: Notify,
}

impl GraceTimers {
    /// Sets (or replaces) the user's deadline.
    pub fn schedule(&self, user: &str, at: Instant) {
        let key = (at, self.seq.fetch_add(1, Ordering::Relaxed));
        let mut q = self.by_deadline.lock();
        if let Some(old) = self.by_user.insert(user.to_owned(), key) {
            q.remove(&old);
        }
        q.insert(key, user.to_owned());
        drop(q);
        self.wake.notify_one();
    }

    /// Removes the user's deadline; true if there was one.
    pub fn cancel(&self, user: &str) -> bool {
        let mut q = self.by_deadline.lock();
        match self.by_user.remove(user) {
            Some((_, key)) => {
                q.remove(&key);
                true
            }
            None => false,
        }
    }

    /// How many deadlines are pending.
    pub fn len(&self) -> usize {
        self.by_user.len()
    }

    /// True when no deadline is pending.
    pub fn is_empty(&self) -> bool {
        self.by_user.is_empty()
    }

    /// Removes and returns the users whose deadline has passed.
    fn take_due(&self, now: Instant) -> Vec<String> {
        let mut q = self.by_deadline.lock();
        let mut due = Vec::new();
        while let Some(entry) = q.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = *entry.key();
            let user = entry.remove();
            self.by_user.remove_if(&user, |_, k| *k == key);
            due.push(user);
        }
        due
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.lock().keys().next().map(|k| k.0)
    }

    /// Waits for the next batch of expired users; `None` once `stop` is cancelled.
    pub async fn next_due(&self, stop: &plugboard::CancellationToken) -> Option<Vec<String>> {
        loop {
            let due = self.take_due(Instant::now());
            if !due.is_empty() {
                return Some(due);
            }
            let notified = self.wake.notified();
            let sleep = async {
                match self.next_deadline() {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = notified => {}
                _ = sleep => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn rescheduling_replaces_and_cancel_removes() {
        let t = GraceTimers::default();
        let stop = plugboard::CancellationToken::new();
        let now = Instant::now();
        t.schedule("a", now + Duration::from_secs(60));
        t.schedule("a", now + Duration::from_millis(20));
        t.schedule("b", now + Duration::from_millis(10));
        assert!(t.cancel("b"));
        assert_eq!(t.next_due(&stop).await, Some(vec!["a".to_owned()]));
        assert!(t.is_empty());
        stop.cancel();
        assert_eq!(t.next_due(&stop).await, None);
    }
}
