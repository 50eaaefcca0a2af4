//! `[handlers.live_queue]`.

use std::time::Duration;

use serde::Deserialize;

/// Settings of the live-queue handler.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveQueueConfig {
    /// A non-available busy state not refreshed for this long, whose user holds no socket,
    /// is reset to `available` (STATE-02). Default 5 min.
    pub zombie_ttl_ms: u64,
    /// How often the zombie sweeper runs. Default 60 s.
    pub zombie_sweep_ms: u64,
    /// How long a user whose last socket went away keeps a queue place, match or call
    /// (NET-03). Default 15 s.
    pub rejoin_grace_ms: u64,
    /// Pause between a `join-queue` ack and the matching attempt it triggers, so the ack
    /// reaches the client before `match-found`. Default 25 ms.
    pub match_delay_ms: u64,
}

impl Default for LiveQueueConfig {
    fn default() -> Self {
        Self {
            zombie_ttl_ms: 300_000,
            zombie_sweep_ms: 60_000,
            rejoin_grace_ms: 15_000,
            match_delay_ms: 25,
        }
    }
}

impl LiveQueueConfig {
    /// Checks the values; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("zombie_ttl_ms", self.zombie_ttl_ms),
            ("zombie_sweep_ms", self.zombie_sweep_ms),
            ("rejoin_grace_ms", self.rejoin_grace_ms),
        ] {
            if v == 0 {
                return Err(format!("{key} must be positive"));
            }
        }
        Ok(())
    }

    /// `rejoin_grace_ms` as a duration.
    pub fn rejoin_grace(&self) -> Duration {
        Duration::from_millis(self.rejoin_grace_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_intervals_are_refused_by_name() {
        let cfg = LiveQueueConfig {
            zombie_sweep_ms: 0,
            ..LiveQueueConfig::default()
        };
        assert_eq!(
            cfg.validate().unwrap_err(),
            "zombie_sweep_ms must be positive"
        );
        assert!(LiveQueueConfig::default().validate().is_ok());
    }
}
