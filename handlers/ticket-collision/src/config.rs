//! `[handlers.ticket_collision]`.

use std::time::Duration;

use serde::Deserialize;

/// Settings of the ticket-collision handler.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketCollisionConfig {
    /// A typing status ends by itself this long after the last `ticket:typing`, in ms.
    pub typing_timeout_ms: u64,
    /// A viewer with no activity (view, typing, stop typing) for this long is stale, in ms
    /// (seed 004: 30 minutes).
    pub stale_after_ms: u64,
    /// How often stale viewers are swept, in ms (seed 004: 5 minutes).
    pub sweep_interval_ms: u64,
    /// How many tickets (most viewers first) the `tickets` list of the stats carries.
    pub stats_top: usize,
    /// How many tickets one socket may view at once.
    pub max_tickets_per_socket: usize,
}

impl Default for TicketCollisionConfig {
    fn default() -> Self {
        Self {
            typing_timeout_ms: 10_000,
            stale_after_ms: 30 * 60 * 1000,
            sweep_interval_ms: 5 * 60 * 1000,
            stats_top: 20,
            max_tickets_per_socket: 100,
        }
    }
}

impl TicketCollisionConfig {
    /// Refuses settings that cannot work (zero durations or limits).
    pub fn validate(&self) -> Result<(), String> {
        let zero = [
            ("typing_timeout_ms", self.typing_timeout_ms == 0),
            ("stale_after_ms", self.stale_after_ms == 0),
            ("sweep_interval_ms", self.sweep_interval_ms == 0),
            ("max_tickets_per_socket", self.max_tickets_per_socket == 0),
        ];
        match zero.iter().find(|(_, z)| *z) {
            Some((key, _)) => Err(format!(
                "[handlers.ticket_collision] {key} must be positive"
            )),
            None => Ok(()),
        }
    }

    /// How often due typing statuses are looked for: a tenth of the typing timeout,
    /// between 10 ms and 1 s.
    pub fn typing_check_interval(&self) -> Duration {
        Duration::from_millis((self.typing_timeout_ms / 10).clamp(10, 1000))
    }

    /// The TTL of presence keys on Redis, refreshed by every activity: twice the time a
    /// live cluster may keep an idle viewer (`stale_after_ms + sweep_interval_ms`), so it
    /// only ever removes what no node is left to sweep.
    pub fn presence_ttl(&self) -> Duration {
        Duration::from_millis(
            self.stale_after_ms
                .saturating_add(self.sweep_interval_ms)
                .saturating_add(self.typing_timeout_ms)
                .saturating_mul(2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_seed() {
        let c = TicketCollisionConfig::default();
        assert_eq!(c.typing_timeout_ms, 10_000);
        assert_eq!(c.stale_after_ms, 1_800_000);
        assert_eq!(c.sweep_interval_ms, 300_000);
        assert!(c.validate().is_ok());
        assert_eq!(c.typing_check_interval(), Duration::from_secs(1));
        assert_eq!(c.presence_ttl(), Duration::from_millis(2 * 2_110_000));
    }

    #[test]
    fn zero_durations_are_refused_by_name() {
        let c = TicketCollisionConfig {
            sweep_interval_ms: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("sweep_interval_ms"));
    }

    #[test]
    fn short_typing_timeouts_are_checked_often() {
        let c = TicketCollisionConfig {
            typing_timeout_ms: 300,
            ..Default::default()
        };
        assert_eq!(c.typing_check_interval(), Duration::from_millis(30));
    }
}
