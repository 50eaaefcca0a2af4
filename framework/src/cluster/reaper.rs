//! The reaper: claims nodes whose heartbeat stopped and cleans up after their sockets
//! (every handler's disconnect hook, reason [`NodeDown`](crate::DisconnectReason::NodeDown)),
//! then forgets them.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::node::Node;
use crate::core::Core;
use crate::{DisconnectReason, Identity, SocketId};

/// ARGV: prefix, own node, dead after ms, claim ms. Claims dead nodes; returns them.
pub(super) const CLAIM: &str = r#"
local prefix, own, dead_after, claim = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'nodes', '-inf', now - dead_after)) do
  if n ~= own and redis.call('SET', prefix .. 'reap:' .. n, own, 'NX', 'PX', claim) then
    table.insert(out, n)
  end
end
return out
"#;

/// ARGV: prefix, dead node. Forgets a reaped node.
pub(super) const FORGET: &str = r#"
local prefix, node = ARGV[1], ARGV[2]
redis.call('DEL', prefix .. 'node:' .. node .. ':sessions')
redis.call('ZREM', prefix .. 'nodes', node)
redis.call('DEL', prefix .. 'reap:' .. node)
return 1
"#;

/// How many dead sockets are cleaned up at once.
const REAP_CONCURRENCY: usize = 64;

impl Node {
    /// Runs the reaper until `stop`.
    pub(crate) async fn run_reaper(self: Arc<Self>, core: Arc<Core>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.fenced.cancelled() => return,
                _ = tick.tick() => {
                    let settled = self.redis.health().up_for().is_some_and(|d| d >= self.dead_after);
                    if settled {
                        self.reap(&core).await;
                    }
                }
            }
        }
    }

    /// Claims the dead nodes and cleans up after each.
    pub(crate) async fn reap(&self, core: &Arc<Core>) {
        let claim_ms = (self.dead_after * 6).as_millis() as u64;
        let claimed: Vec<String> = match self
            .redis
            .invoke(
                self.claim_script
                    .arg(self.redis.prefix())
                    .arg(self.redis.node_id())
                    .arg(self.dead_after.as_millis() as u64)
                    .arg(claim_ms),
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "reaper could not look for dead nodes");
                return;
            }
        };
        for dead in claimed {
            self.reap_node(core, &dead).await;
        }
    }

    async fn reap_node(&self, core: &Arc<Core>, dead: &str) {
        let sockets = match self.sessions.node_sockets(dead).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(dead_node = dead, error = %e, "cannot read a dead node's sockets; will retry");
                return;
            }
        };
        tracing::warn!(
            node = self.redis.node_id(),
            dead_node = dead,
            sockets = sockets.len(),
            "node is dead; cleaning up after its sockets"
        );
        let failures = self.redis.health().failures();
        cleanup_many(core, sockets, DisconnectReason::NodeDown).await;
        if self.redis.health().failures() != failures {
            tracing::warn!(
                dead_node = dead,
                "cleanup after a dead node hit redis failures; it will run again"
            );
            return;
        }
        match self
            .redis
            .invoke::<i64>(self.forget_script.arg(self.redis.prefix()).arg(dead))
            .await
        {
            Ok(_) => tracing::info!(dead_node = dead, "dead node cleaned up and forgotten"),
            Err(e) => tracing::warn!(dead_node = dead, error = %e, "could not forget a dead node"),
        }
    }
}

/// Cleans up after sockets that are not on this node (dead node, outage), one user's
/// sockets in order and up to [`REAP_CONCURRENCY`] users at once.
async fn cleanup_many(
    core: &Arc<Core>,
    sockets: Vec<(Identity, SocketId)>,
    reason: DisconnectReason,
) {
    let mut by_user: HashMap<String, (Arc<Identity>, Vec<SocketId>)> = HashMap::new();
    for (identity, sid) in sockets {
        by_user
            .entry(identity.user_id.clone())
            .or_insert_with(|| (Arc::new(identity), Vec::new()))
            .1
            .push(sid);
    }
    futures_util::stream::iter(by_user.into_values())
        .for_each_concurrent(REAP_CONCURRENCY, |(identity, sids)| async move {
            for sid in sids {
                core.cleanup_gone(sid, identity.clone(), reason).await;
            }
        })
        .await;
}
