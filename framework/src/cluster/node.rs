//! Node liveness: the heartbeat, the reaper that cleans up after dead nodes, and the
//! reconciliation after a Redis outage.
//!
//! - Every `heartbeat_ms` a node writes its Redis time into the `nodes` sorted set and
//!   refreshes the TTL of its sessions hash. The same script tells it whether it was still
//!   registered and whether Redis still holds the cluster's `epoch`.
//! - A node silent for `node_timeout_ms - 2 * heartbeat_ms` is dead. The reaper of a live
//!   node (one whose own heartbeats have succeeded for at least that long, so nobody is
//!   reaped right after a Redis outage) claims it, runs every handler's disconnect hook for
//!   each of its sockets with reason [`NodeDown`](crate::DisconnectReason::NodeDown), then
//!   forgets the node. Cleanup thus completes within `node_timeout_ms` of the crash.
//! - A node that finds it was reaped while alive (cut off from Redis longer than the
//!   timeout) is fenced: its host stops serving, so its clients reconnect elsewhere and
//!   rebuild their state. A node that finds the epoch gone (Redis lost its data) registers
//!   its live sockets again.
//! - Cleanups that ran while Redis failed are run again once it answers, and sockets the
//!   index lost or kept by mistake are reconciled with the node's live sockets.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use redis::Script;
use tokio_util::sync::CancellationToken;

use super::{RedisSessionStore, RedisStore};
use crate::config::ClusterConfig;
use crate::core::Core;
use crate::{DisconnectReason, Identity, SessionStore, SocketId};

/// ARGV: prefix, node, presence ttl ms, candidate epoch.
/// Returns { was registered (0/1), redis time ms, epoch }.
const HEARTBEAT: &str = r#"
local prefix, node, ttl, candidate = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', prefix .. 'epoch', candidate, 'NX')
local epoch = redis.call('GET', prefix .. 'epoch')
local known = redis.call('ZSCORE', prefix .. 'nodes', node) and 1 or 0
redis.call('ZADD', prefix .. 'nodes', now, node)
redis.call('PEXPIRE', prefix .. 'node:' .. node .. ':sessions', ttl)
return { known, now, epoch }
"#;

/// ARGV: prefix, node. Leaves the cluster on shutdown.
const LEAVE: &str = r#"
redis.call('ZREM', ARGV[1] .. 'nodes', ARGV[2])
if redis.call('HLEN', ARGV[1] .. 'node:' .. ARGV[2] .. ':sessions') == 0 then
  redis.call('DEL', ARGV[1] .. 'node:' .. ARGV[2] .. ':sessions')
end
return 1
"#;

/// A cleanup to run again once Redis answers.
type Dirty = (SocketId, Arc<Identity>, DisconnectReason);

/// This node's membership in the cluster.
pub(crate) struct Node {
    pub(crate) redis: RedisStore,
    pub(crate) sessions: RedisSessionStore,
    pub(super) heartbeat: Duration,
    pub(super) dead_after: Duration,
    presence_ttl: Duration,
    epoch: Mutex<Option<String>>,
    dirty: Mutex<Vec<Dirty>>,
    /// Cancelled when this node finds it was declared dead while alive.
    pub(crate) fenced: CancellationToken,
    heartbeat_script: Script,
    pub(super) claim_script: Script,
    pub(super) forget_script: Script,
    leave_script: Script,
}

impl Node {
    pub(crate) fn new(redis: RedisStore, cfg: &ClusterConfig) -> Self {
        let heartbeat = Duration::from_millis(cfg.heartbeat_ms);
        Self {
            sessions: RedisSessionStore::new(redis.clone()),
            redis,
            heartbeat,
            dead_after: Duration::from_millis(cfg.node_timeout_ms) - heartbeat * 2,
            presence_ttl: Duration::from_millis(cfg.presence_ttl_ms),
            epoch: Mutex::new(None),
            dirty: Mutex::new(Vec::new()),
            fenced: CancellationToken::new(),
            heartbeat_script: Script::new(HEARTBEAT),
            claim_script: Script::new(super::reaper::CLAIM),
            forget_script: Script::new(super::reaper::FORGET),
            leave_script: Script::new(LEAVE),
        }
    }

    /// Writes one heartbeat; on the first one, remembers the cluster epoch.
    pub(crate) async fn beat(&self, core: &Arc<Core>) -> Result<(), crate::StoreError> {
        let candidate = SocketId::new().to_string();
        let (known, _now, epoch): (u8, u64, String) = self
            .redis
            .probe(
                self.heartbeat_script
                    .arg(self.redis.prefix())
                    .arg(self.redis.node_id())
                    .arg(self.presence_ttl.as_millis() as u64)
                    .arg(candidate),
            )
            .await?;
        if let Err(e) = self.redis.driver().ping_subscriber().await {
            // Counted as a failure by the driver: Redis is not fully back yet.
            return Err(crate::StoreError::Unavailable(e.to_string()));
        }
        let recovered = self.redis.health().succeeded();
        let previous = self.epoch.lock().replace(epoch.clone());
        match previous {
            None => {}
            Some(old) if old != epoch => {
                tracing::error!(
                    node = self.redis.node_id(),
                    "redis lost the cluster state (new epoch); registering this node's sockets again"
                );
                self.reconcile(core).await;
                return Ok(());
            }
            Some(_) if known == 0 => {
                tracing::error!(
                    node = self.redis.node_id(),
                    "this node was declared dead by the cluster while it was cut off from redis; it stops serving so its clients reconnect and resync"
                );
                self.fenced.cancel();
                return Ok(());
            }
            Some(_) => {}
        }
        if recovered && previous.is_some() {
            tracing::info!(
                node = self.redis.node_id(),
                "redis reachable again; reconciling"
            );
        }
        if recovered || !self.dirty.lock().is_empty() {
            self.reconcile(core).await;
        }
        Ok(())
    }

    /// Runs the heartbeat until `stop`.
    pub(crate) async fn run_heartbeat(self: Arc<Self>, core: Arc<Core>, stop: CancellationToken) {
        // While Redis is down, probe five times as often: a node serves again within a
        // fifth of a heartbeat of Redis coming back instead of up to two heartbeats.
        let probe = (self.heartbeat / 5).max(Duration::from_millis(50));
        loop {
            let wait = if self.redis.is_up() {
                self.heartbeat
            } else {
                probe
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.fenced.cancelled() => return,
                _ = tokio::time::sleep(wait) => {
                    if let Err(e) = self.beat(&core).await {
                        tracing::debug!(node = self.redis.node_id(), error = %e, "heartbeat failed");
                    }
                }
            }
        }
    }

    /// Makes the sessions index agree with this node's live sockets, and runs again the
    /// cleanups that met a Redis failure.
    pub(crate) async fn reconcile(&self, core: &Arc<Core>) {
        let failures = self.redis.health().failures();
        let registered = match self.sessions.node_sockets(self.redis.node_id()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "reconcile postponed");
                return;
            }
        };
        let live: HashMap<SocketId, Arc<Identity>> = core
            .live
            .iter()
            .map(|l| (*l.key(), l.socket.identity_arc()))
            .collect();
        let dirty = std::mem::take(&mut *self.dirty.lock());
        let mut redo: HashMap<SocketId, (Arc<Identity>, DisconnectReason)> = dirty
            .into_iter()
            .filter(|(sid, _, _)| !live.contains_key(sid))
            .map(|(sid, who, why)| (sid, (who, why)))
            .collect();
        let known: HashSet<SocketId> = registered.iter().map(|(_, s)| *s).collect();
        for (identity, sid) in registered {
            if !live.contains_key(&sid) {
                redo.entry(sid)
                    .or_insert((Arc::new(identity), DisconnectReason::TransportError));
            }
        }
        for (sid, identity) in &live {
            if !known.contains(sid)
                && let Err(e) = self.sessions.add(identity, *sid).await
            {
                tracing::debug!(socket = %sid, error = %e, "could not register a live socket again");
            }
        }
        if !redo.is_empty() {
            tracing::info!(
                sockets = redo.len(),
                "running disconnect cleanup again for sockets that left during the outage"
            );
        }
        let redo: Vec<Dirty> = redo
            .into_iter()
            .map(|(sid, (who, why))| (sid, who, why))
            .collect();
        for (sid, identity, reason) in &redo {
            core.cleanup_gone(*sid, identity.clone(), *reason).await;
        }
        if self.redis.health().failures() != failures {
            self.dirty.lock().extend(redo);
        }
    }

    /// Remembers a cleanup that met a Redis failure.
    pub(crate) fn mark_dirty(
        &self,
        sid: SocketId,
        identity: Arc<Identity>,
        reason: DisconnectReason,
    ) {
        self.dirty.lock().push((sid, identity, reason));
    }

    /// Leaves the cluster (graceful shutdown, after every socket was cleaned up).
    pub(crate) async fn leave(&self) {
        if let Err(e) = self
            .redis
            .invoke::<i64>(
                self.leave_script
                    .arg(self.redis.prefix())
                    .arg(self.redis.node_id()),
            )
            .await
        {
            tracing::warn!(error = %e, "could not leave the cluster cleanly; the others will reap this node");
        }
    }
}
