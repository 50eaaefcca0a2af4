//! [`RedisIdempotencyStore`]: remembered `messageId` answers shared by every node, so a
//! client that retries through another node still gets the first answer. Each answer is
//! one key with the window as its TTL: Redis forgets them, nothing to sweep.

use async_trait::async_trait;
use serde_json::Value;

use super::RedisStore;
use crate::IdempotencyStore;

/// The `messageId` answer cache on Redis.
#[derive(Debug, Clone)]
pub struct RedisIdempotencyStore {
    redis: RedisStore,
    window_ms: u64,
}

impl RedisIdempotencyStore {
    /// A cache remembering answers for `window_ms`.
    pub fn new(redis: RedisStore, window_ms: u64) -> Self {
        Self {
            redis,
            window_ms: window_ms.max(1),
        }
    }

    fn key(&self, user: &str, event: &str, message_id: &str) -> String {
        // Lengths first, so no choice of ids can make two triples collide.
        self.redis.key(&format!(
            "idem:{}:{user}:{}:{event}:{message_id}",
            user.len(),
            event.len()
        ))
    }
}

#[async_trait]
impl IdempotencyStore for RedisIdempotencyStore {
    async fn get(&self, user: &str, event: &str, message_id: &str) -> Option<Value> {
        let key = self.key(user, event, message_id);
        match self
            .redis
            .query::<Option<String>>(redis::cmd("GET").arg(&key))
            .await
        {
            Ok(found) => found.and_then(|s| serde_json::from_str(&s).ok()),
            Err(e) => {
                // Without the cache the event runs; the handlers' own atomic checks keep a
                // repeat from doing the work twice.
                tracing::debug!(user, event, error = %e, "messageId cache unreachable");
                None
            }
        }
    }

    async fn put(&self, user: &str, event: &str, message_id: &str, answer: Value) {
        let key = self.key(user, event, message_id);
        let cmd = redis::cmd("SET")
            .arg(&key)
            .arg(answer.to_string())
            .arg("PX")
            .arg(self.window_ms)
            .clone();
        if let Err(e) = self.redis.query::<()>(&cmd).await {
            tracing::debug!(user, event, error = %e, "messageId answer not remembered");
        }
    }

    async fn sweep(&self) -> usize {
        0
    }
}
