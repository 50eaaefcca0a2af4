//! [`OrderLock`]: "change the state, then tell the room" as one step per key, on one node
//! and across a cluster.
//!
//! A store makes each change atomic, but two changes to one key made by different
//! sockets run in parallel, and their broadcasts could reach the room in the other order,
//! leaving clients with an old picture. Holding the key's lock from the store call until
//! the broadcasts are published keeps the room's events in the order of the changes. On
//! one node the lock is one of a fixed set of async mutexes (memory stays constant); on a
//! cluster the holder also takes a short Redis lease on the key, so two nodes take turns
//! too. A holder that dies loses its lease after `lease`.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use redis::Script;
use tokio::sync::{Mutex, MutexGuard};

use super::RedisStore;
use crate::{Backend, SocketId, StoreError};

/// How long a cluster lease lasts when its holder never releases it (it died).
const LEASE: Duration = Duration::from_secs(5);

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// A per-key lock that also holds across the nodes of a cluster.
pub struct OrderLock {
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
    cluster: Option<(RedisStore, String)>,
    release: Script,
}

impl std::fmt::Debug for OrderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderLock")
            .field("stripes", &self.stripes.len())
            .field("clustered", &self.cluster.is_some())
            .finish()
    }
}

/// Held while the key is locked; dropping it unlocks.
#[must_use = "the lock is released when the guard is dropped"]
pub struct OrderGuard<'a> {
    _local: MutexGuard<'a, ()>,
    lease: Option<(RedisStore, String, String)>,
    release: &'a Script,
}

impl std::fmt::Debug for OrderGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderGuard").finish_non_exhaustive()
    }
}

impl OrderLock {
    /// A lock set named `name` (unique per handler, e.g. `ticket-collision:ticket`) with
    /// `stripes` local mutexes, taking cluster leases when `backend` is Redis.
    pub fn new(backend: &Backend, name: &str, stripes: usize) -> Self {
        Self {
            stripes: (0..stripes.max(1)).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
            cluster: backend
                .redis()
                .map(|r| (r.clone(), r.key(&format!("lock:{name}:")))),
            release: Script::new(RELEASE),
        }
    }

    /// Waits for the lock of `key`. On a cluster, fails with `unavailable` when Redis is
    /// down or the lease stays taken longer than the Redis timeout.
    pub async fn lock(&self, key: &str) -> Result<OrderGuard<'_>, StoreError> {
        let i = (self.hasher.hash_one(key) % self.stripes.len() as u64) as usize;
        let local = self.stripes[i].lock().await;
        let lease = match &self.cluster {
            None => None,
            Some((redis, prefix)) => Some(acquire(redis, &format!("{prefix}{key}")).await?),
        };
        Ok(OrderGuard {
            _local: local,
            lease,
            release: &self.release,
        })
    }
}

async fn acquire(
    redis: &RedisStore,
    key: &str,
) -> Result<(RedisStore, String, String), StoreError> {
    let token = SocketId::new().to_string();
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let set: Option<String> = redis
            .query(
                redis::cmd("SET")
                    .arg(key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(LEASE.as_millis() as u64),
            )
            .await?;
        if set.is_some() {
            return Ok((redis.clone(), key.to_owned(), token));
        }
        if started.elapsed() > redis.inner.timeout {
            return Err(StoreError::Unavailable(format!(
                "lock {key} still held after {} ms",
                redis.inner.timeout.as_millis()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(16));
    }
}

impl Drop for OrderGuard<'_> {
    fn drop(&mut self) {
        let Some((redis, key, token)) = self.lease.take() else {
            return;
        };
        let script = self.release.clone();
        // Released in the background; a release that fails leaves the lease to expire.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = redis.invoke::<i64>(script.key(&key).arg(&token)).await;
            });
        }
    }
}
