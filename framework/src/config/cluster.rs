//! `[cluster]`: how a node takes part in a cluster.

use serde::{Deserialize, Serialize};

use crate::HostError;

/// How a node takes part in a cluster (`store = "redis"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster's name: every key is `plugboard:{<name>}:...`, so several clusters
    /// (or test runs) share one Redis without meeting.
    pub name: String,
    /// This node's id; empty picks a random one at start.
    pub node_id: String,
    /// How often the node refreshes its heartbeat, in ms.
    pub heartbeat_ms: u64,
    /// The bound on cleanup after a node dies, in ms: its sockets' presence is removed and
    /// their rooms are told within this time. At least 5 heartbeats.
    pub node_timeout_ms: u64,
    /// How long one Redis call may take before the event answers `unavailable`, in ms.
    pub redis_timeout_ms: u64,
    /// TTL of a node's presence keys, refreshed by its heartbeat: what a dead node leaves
    /// behind expires after this even if no node is left to clean up, in ms.
    pub presence_ttl_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            name: "default".into(),
            node_id: String::new(),
            heartbeat_ms: 1_000,
            node_timeout_ms: 10_000,
            redis_timeout_ms: 2_000,
            presence_ttl_ms: 24 * 3_600_000,
        }
    }
}

impl ClusterConfig {
    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<(), HostError> {
        let bad = |m: &str| Err(HostError::Config(format!("[cluster] {m}")));
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return bad("name must be 1-64 characters of [A-Za-z0-9._-]");
        }
        if !self
            .node_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad("node_id must be characters of [A-Za-z0-9._-]");
        }
        if self.heartbeat_ms == 0 || self.redis_timeout_ms == 0 {
            return bad("heartbeat_ms and redis_timeout_ms must be positive");
        }
        if self.node_timeout_ms < self.heartbeat_ms * 5 {
            return bad("node_timeout_ms must be at least 5 heartbeats (5 * heartbeat_ms)");
        }
        if self.presence_ttl_ms < self.node_timeout_ms * 3 {
            return bad("presence_ttl_ms must be at least 3 * node_timeout_ms");
        }
        Ok(())
    }
}
