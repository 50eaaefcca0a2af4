//! [`RedisTimelineStore`]: timeline subscriptions in the cluster's Redis, so subscriber
//! counts are the same on every node.
//!
//! # Key layout (prefix `plugboard:{<cluster>}:`)
//!
//! | key | type | content | lifetime |
//! | --- | --- | --- | --- |
//! | `tl:entities` | ZSET | member: entity code `{type}\x1f{id}`; score: **minus** its subscriber count | a member leaves with its last subscriber; the key goes with the last member |
//! | `tl:sockets` | ZSET | member: id of a socket following at least one entity; score: its sweep deadline (Redis ms) | a member leaves with the socket's last subscription |
//! | `tl:sock:<sid>` | SET | entity codes the socket follows | deleted when empty or dropped; PEXPIRE `2 * ttl` |
//!
//! The negative score makes `ZRANGE tl:entities 0 n-1` list the most-followed entities
//! first with ties in code order, which is (type, id) order: the same top list as the
//! memory store. `totalSockets` is `ZCARD tl:sockets`, `totalEntities` `ZCARD tl:entities`.
//!
//! # Cleanup
//!
//! - Subscribe, unsubscribe and dropping a socket are one Lua script each
//!   ([`scripts`]), so the per-socket limit, the already-subscribed check and the counts
//!   are exact under any concurrency, across nodes. An entity without subscribers leaves
//!   no key.
//! - The normal cleanup is `drop_socket`: the socket's node calls it on disconnect, and
//!   when a node dies the framework's reaper on another node calls it (reason
//!   `node_down`) for each of its sockets within `cluster.node_timeout_ms`. A cleanup that
//!   met a Redis failure is run again by the framework once Redis answers.
//! - Backstop (`ttl` = `cluster.presence_ttl_ms`): every node refreshes, each `ttl / 4`,
//!   the deadline (now + `ttl`) and the key TTL of its own sockets that follow something,
//!   and sweeps, on every [`upkeep`](TimelineStore::upkeep), the sockets whose deadline
//!   passed (no live node refreshed them and nobody cleaned them up, e.g. the whole
//!   cluster was down longer than its presence TTL), counts included. The key TTL
//!   (`2 * ttl`) only bounds a socket key that even the sweep missed.

mod scripts;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashSet;
use plugboard::redis::Pipeline;
use plugboard::{RedisStore, SocketId};

use crate::{EntityKey, StoreError, StoreStats, SubscribeOutcome, TimelineStore};
use scripts::Scripts;

/// Sockets refreshed, or swept, per script call.
const BATCH: usize = 500;

/// The [`TimelineStore`] of a cluster: every node sees the same subscriptions and counts.
/// Built by [`Timeline::new`](crate::Timeline::new) when `store = "redis"`.
pub struct RedisTimelineStore {
    redis: RedisStore,
    ttl: Duration,
    entities_key: String,
    sockets_key: String,
    /// This node's sockets that subscribed through this store, refreshed by upkeep.
    local: DashSet<SocketId>,
    /// When upkeep last refreshed them; `None`: due.
    last_refresh: Mutex<Option<Instant>>,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisTimelineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTimelineStore")
            .field("redis", &self.redis)
            .field("ttl", &self.ttl)
            .field("local_sockets", &self.local.len())
            .finish_non_exhaustive()
    }
}

impl RedisTimelineStore {
    /// A store on `redis`; `presence_ttl` (`cluster.presence_ttl_ms`, at least 1 ms) is
    /// how long a socket's subscriptions outlive the last refresh by its node.
    pub fn new(redis: RedisStore, presence_ttl: Duration) -> Self {
        Self {
            entities_key: redis.key("tl:entities"),
            sockets_key: redis.key("tl:sockets"),
            redis,
            ttl: presence_ttl.max(Duration::from_millis(1)),
            local: DashSet::new(),
            last_refresh: Mutex::new(None),
            scripts: Scripts::new(),
        }
    }

    fn sock_key(&self, socket: SocketId) -> String {
        self.redis.key(&format!("tl:sock:{socket}"))
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    fn decode(code: &str) -> Result<EntityKey, StoreError> {
        EntityKey::from_code(code)
            .ok_or_else(|| StoreError::Backend(format!("not a timeline entity code: {code:?}")))
    }

    /// Pushes back the deadline of this node's sockets.
    async fn refresh(&self) -> Result<(), StoreError> {
        let sockets: Vec<String> = self.local.iter().map(|s| s.to_string()).collect();
        for chunk in sockets.chunks(BATCH) {
            let mut call = self.scripts.refresh.key(&self.sockets_key);
            call.arg(self.redis.prefix()).arg(self.ttl_ms()).arg(chunk);
            self.redis.invoke::<u64>(&call).await?;
        }
        Ok(())
    }

    /// Drops the sockets whose deadline passed; returns how many.
    async fn sweep(&self) -> Result<u64, StoreError> {
        let mut swept = 0;
        loop {
            let n: u64 = self
                .redis
                .invoke(
                    self.scripts
                        .sweep
                        .key(&self.entities_key)
                        .key(&self.sockets_key)
                        .arg(self.redis.prefix())
                        .arg(BATCH),
                )
                .await?;
            swept += n;
            if n < BATCH as u64 {
                return Ok(swept);
            }
        }
    }
}

#[async_trait]
impl TimelineStore for RedisTimelineStore {
    async fn subscribe(
        &self,
        socket: SocketId,
        entity: &EntityKey,
        limit: usize,
    ) -> Result<SubscribeOutcome, StoreError> {
        let (kind, n): (u8, u64) = self
            .redis
            .invoke(
                self.scripts
                    .subscribe
                    .key(&self.entities_key)
                    .key(&self.sockets_key)
                    .key(self.sock_key(socket))
                    .arg(entity.code())
                    .arg(socket.to_string())
                    .arg(limit)
                    .arg(self.ttl_ms()),
            )
            .await?;
        match kind {
            0 => {
                self.local.insert(socket);
                Ok(SubscribeOutcome::Added { subscribers: n })
            }
            1 => Ok(SubscribeOutcome::AlreadySubscribed { subscribers: n }),
            2 => Ok(SubscribeOutcome::LimitReached { limit }),
            other => Err(StoreError::Backend(format!(
                "unexpected subscribe reply {other}"
            ))),
        }
    }

    async fn unsubscribe(&self, socket: SocketId, entity: &EntityKey) -> Result<u64, StoreError> {
        self.redis
            .invoke(
                self.scripts
                    .unsubscribe
                    .key(&self.entities_key)
                    .key(&self.sockets_key)
                    .key(self.sock_key(socket))
                    .arg(entity.code())
                    .arg(socket.to_string()),
            )
            .await
    }

    async fn drop_socket(&self, socket: SocketId) -> Result<Vec<EntityKey>, StoreError> {
        // Not refreshed any more, even if the drop below fails: the socket is gone, and a
        // failed drop is run again by the framework (or swept after its deadline).
        self.local.remove(&socket);
        let codes: Vec<String> = self
            .redis
            .invoke(
                self.scripts
                    .drop
                    .key(&self.entities_key)
                    .key(&self.sockets_key)
                    .key(self.sock_key(socket))
                    .arg(socket.to_string()),
            )
            .await?;
        codes.iter().map(|c| Self::decode(c)).collect()
    }

    async fn subscriber_count(&self, entity: &EntityKey) -> Result<u64, StoreError> {
        let score: Option<f64> = self
            .redis
            .query(
                plugboard::redis::cmd("ZSCORE")
                    .arg(&self.entities_key)
                    .arg(entity.code()),
            )
            .await?;
        Ok(score.map_or(0, |s| (-s).max(0.0) as u64))
    }

    async fn stats(&self, top_n: usize) -> Result<StoreStats, StoreError> {
        let mut p = Pipeline::new();
        p.atomic()
            .zcard(&self.sockets_key)
            .zcard(&self.entities_key);
        let (total_sockets, total_entities, ranked): (u64, u64, Vec<(String, f64)>) = if top_n == 0
        {
            let (s, e): (u64, u64) = self.redis.pipeline(&p).await?;
            (s, e, Vec::new())
        } else {
            let last = isize::try_from(top_n - 1).unwrap_or(isize::MAX);
            p.zrange_withscores(&self.entities_key, 0, last);
            self.redis.pipeline(&p).await?
        };
        let top = ranked
            .iter()
            .map(|(code, score)| Ok((Self::decode(code)?, (-score).max(0.0) as u64)))
            .collect::<Result<_, StoreError>>()?;
        Ok(StoreStats {
            total_sockets,
            total_entities,
            top,
        })
    }

    fn upkeep_interval(&self) -> Option<Duration> {
        Some((self.ttl / 8).clamp(Duration::from_millis(50), Duration::from_secs(60)))
    }

    async fn upkeep(&self) -> Result<(), StoreError> {
        let due = {
            let mut last = self.last_refresh.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= self.ttl / 4);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due && let Err(e) = self.refresh().await {
            // Try again on the next upkeep rather than in ttl / 4.
            *self.last_refresh.lock().unwrap_or_else(|e| e.into_inner()) = None;
            return Err(e);
        }
        let swept = self.sweep().await?;
        if swept > 0 {
            tracing::warn!(
                handler = "timeline",
                event = "upkeep",
                sockets = swept,
                "swept subscriptions of sockets no node cleaned up"
            );
        }
        Ok(())
    }
}
