//! `messageId` replay: a repeated event (same user, event and `messageId`) within the
//! window gets the first answer again, and the handler does not run twice.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;
use serde_json::Value;

/// Storage of remembered answers. Memory now; the cluster backend adds Redis.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// The remembered answer of `(user, event, message_id)`, if still within the window.
    async fn get(&self, user: &str, event: &str, message_id: &str) -> Option<Value>;
    /// Remembers an answer.
    async fn put(&self, user: &str, event: &str, message_id: &str, answer: Value);
    /// Forgets expired answers; returns how many entries remain.
    async fn sweep(&self) -> usize;
}

#[derive(Default)]
struct UserCache {
    answers: HashMap<String, (Instant, Value)>,
    order: VecDeque<(Instant, String)>,
}

/// The in-process answer cache, bounded per user.
pub struct MemoryIdempotencyStore {
    window: Duration,
    max_per_user: usize,
    users: DashMap<String, UserCache>,
}

impl std::fmt::Debug for MemoryIdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryIdempotencyStore")
            .field("users", &self.users.len())
            .finish()
    }
}

impl MemoryIdempotencyStore {
    /// A cache remembering answers for `window`, at most `max_per_user` per user.
    pub fn new(window: Duration, max_per_user: usize) -> Self {
        Self {
            window,
            max_per_user: max_per_user.max(1),
            users: DashMap::new(),
        }
    }

    fn key(event: &str, message_id: &str) -> String {
        format!("{event}\u{0}{message_id}")
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn get(&self, user: &str, event: &str, message_id: &str) -> Option<Value> {
        let cache = self.users.get(user)?;
        let (at, answer) = cache.answers.get(&Self::key(event, message_id))?;
        (at.elapsed() < self.window).then(|| answer.clone())
    }

    async fn put(&self, user: &str, event: &str, message_id: &str, answer: Value) {
        let key = Self::key(event, message_id);
        let now = Instant::now();
        let mut cache = self.users.entry(user.to_owned()).or_default();
        cache.order.push_back((now, key.clone()));
        cache.answers.insert(key, (now, answer));
        while cache.answers.len() > self.max_per_user {
            match cache.order.pop_front() {
                Some((_, old)) => {
                    cache.answers.remove(&old);
                }
                None => break,
            }
        }
    }

    async fn sweep(&self) -> usize {
        let window = self.window;
        self.users.retain(|_, cache| {
            while let Some((at, _)) = cache.order.front() {
                if at.elapsed() < window {
                    break;
                }
                if let Some((_, key)) = cache.order.pop_front()
                    && cache
                        .answers
                        .get(&key)
                        .is_some_and(|(t, _)| t.elapsed() >= window)
                {
                    cache.answers.remove(&key);
                }
            }
            !cache.answers.is_empty()
        });
        self.users.iter().map(|c| c.answers.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn repeat_within_window_gets_first_answer() {
        let s = MemoryIdempotencyStore::new(Duration::from_secs(60), 10);
        s.put("u", "ev", "m1", json!({"ok": true, "n": 1})).await;
        assert_eq!(
            s.get("u", "ev", "m1").await,
            Some(json!({"ok": true, "n": 1}))
        );
        assert_eq!(s.get("u", "other", "m1").await, None);
        assert_eq!(s.get("v", "ev", "m1").await, None);
    }

    #[tokio::test]
    async fn expired_answers_are_swept_and_users_dropped() {
        let s = MemoryIdempotencyStore::new(Duration::from_millis(10), 10);
        s.put("u", "ev", "m1", json!(1)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(s.get("u", "ev", "m1").await, None);
        assert_eq!(s.sweep().await, 0);
        assert!(s.users.is_empty());
    }

    #[tokio::test]
    async fn cache_per_user_is_bounded() {
        let s = MemoryIdempotencyStore::new(Duration::from_secs(60), 2);
        for i in 0..5 {
            s.put("u", "ev", &i.to_string(), json!(i)).await;
        }
        assert_eq!(s.get("u", "ev", "0").await, None);
        assert_eq!(s.get("u", "ev", "4").await, Some(json!(4)));
    }
}
