//! `[handlers.call_deny]`.

use serde::Deserialize;

/// Settings of the call-deny handler.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallDenyConfig {
    /// A ringing call not answered within this many ms becomes `missed` (default 30 000).
    pub ring_timeout_ms: u64,
    /// A live call ends with reason `timeout` after this many ms; 0: no limit (default).
    pub max_call_ms: u64,
    /// After a party's last socket goes away, wait this many ms before cancelling or
    /// ending its calls; a reconnect within it keeps them (default 0: at once).
    pub disconnect_grace_ms: u64,
    /// When this node shuts down, its users' calls are kept so the clients can reconnect
    /// (to this node restarted or to another one); a party not back after this many ms is
    /// treated as gone (at least `disconnect_grace_ms`; default 30 000; 0: keep the calls
    /// until their own timeouts). Checked by whichever node of the cluster sweeps first.
    pub shutdown_grace_ms: u64,
    /// How often ring timeouts, departures and the retention are checked, in ms
    /// (default 250).
    pub sweep_interval_ms: u64,
    /// How long finished calls stay readable (GET, repeated deny answers), in ms
    /// (default 10 min).
    pub retention_ms: u64,
    /// The role that receives `call:incoming` and may accept and deny (default `agent`).
    pub agent_role: String,
    /// Longest accepted `callId`, `requestId` or `targetId` (default 128).
    pub max_id_len: usize,
    /// Most calls `GET /api/calls` returns (default 1000).
    pub max_list: usize,
}

impl Default for CallDenyConfig {
    fn default() -> Self {
        Self {
            ring_timeout_ms: 30_000,
            max_call_ms: 0,
            disconnect_grace_ms: 0,
            shutdown_grace_ms: 30_000,
            sweep_interval_ms: 250,
            retention_ms: 600_000,
            agent_role: "agent".into(),
            max_id_len: 128,
            max_list: 1000,
        }
    }
}

impl CallDenyConfig {
    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.ring_timeout_ms == 0 || self.sweep_interval_ms == 0 {
            return Err("ring_timeout_ms and sweep_interval_ms must be positive".into());
        }
        if self.agent_role.is_empty() || self.max_id_len == 0 || self.max_list == 0 {
            return Err("agent_role, max_id_len and max_list must be non-empty/positive".into());
        }
        Ok(())
    }
}
