//! `[handlers.health_ping]`.

use serde::Deserialize;

/// Settings of the health-ping handler.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthPingConfig {
    /// The interval at which clients ping, in ms (seed 002: `HEALTH_PING_INTERVAL=30000`).
    pub interval_ms: u64,
    /// Missed pings that make a socket `unhealthy` (seed 002: `HEALTH_MAX_FAILURES=3`).
    pub max_failures: u32,
    /// Disconnect sockets once they are unhealthy.
    pub disconnect_unhealthy: bool,
    /// How many recent client-reported round trips the rtt percentiles use.
    pub rtt_samples: usize,
}

impl Default for HealthPingConfig {
    fn default() -> Self {
        Self {
            interval_ms: 30_000,
            max_failures: 3,
            disconnect_unhealthy: false,
            rtt_samples: 1024,
        }
    }
}
