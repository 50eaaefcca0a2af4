//! `[handlers.timeline]`.

use serde::Deserialize;

/// The entity types a client may subscribe to unless configured otherwise (seed 004).
pub const DEFAULT_ENTITY_TYPES: [&str; 7] = [
    "client", "contact", "lead", "case", "ticket", "invoice", "task",
];

/// Settings of the timeline handler.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimelineConfig {
    /// Entity types that may be subscribed to and broadcast to.
    pub entity_types: Vec<String>,
    /// Longest accepted `entityId`, in characters.
    pub max_entity_id_chars: usize,
    /// How many entities one socket may follow at once (0: no limit).
    pub max_subscriptions_per_socket: usize,
    /// How many entities `stats().entities` lists (those with the most subscribers).
    pub stats_top_n: usize,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        Self {
            entity_types: DEFAULT_ENTITY_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            max_entity_id_chars: 128,
            max_subscriptions_per_socket: 1000,
            stats_top_n: 100,
        }
    }
}

impl TimelineConfig {
    /// Checks the settings; the message names the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.entity_types.is_empty() {
            return Err("entity_types must list at least one type".into());
        }
        for t in &self.entity_types {
            if t.is_empty()
                || t.chars().count() > 64
                || t.contains(':')
                || t.contains('/')
                || t.chars().any(char::is_control)
            {
                return Err(format!(
                    "entity_types: `{}` must be 1..=64 chars without `:`, `/` or control characters",
                    t.escape_debug()
                ));
            }
        }
        if self.max_entity_id_chars == 0 {
            return Err("max_entity_id_chars must be positive".into());
        }
        Ok(())
    }

    /// True when `entity_type` is in the allow-list.
    pub fn allows(&self, entity_type: &str) -> bool {
        self.entity_types.iter().any(|t| t == entity_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_seed_and_validate() {
        let c = TimelineConfig::default();
        assert!(c.validate().is_ok());
        assert!(c.allows("invoice") && !c.allows("Invoice") && !c.allows("user"));
    }

    #[test]
    fn bad_entity_types_are_refused_with_the_key_named() {
        let mut c = TimelineConfig {
            entity_types: vec![],
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("entity_types"));
        c.entity_types = vec!["a:b".into()];
        assert!(c.validate().unwrap_err().contains("a:b"));
        c.entity_types = vec!["tab\there".into()];
        assert!(c.validate().unwrap_err().contains("tab\\there"));
        c.entity_types = vec!["deal".into()];
        c.max_entity_id_chars = 0;
        assert!(c.validate().unwrap_err().contains("max_entity_id_chars"));
    }
}
