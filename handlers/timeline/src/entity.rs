//! [`EntityKey`]: a validated `(entityType, entityId)` pair and its room.

use std::fmt;

use serde::Serialize;

use crate::{TimelineConfig, TimelineError};

/// A validated entity: its type is in the allow-list and its id is a non-empty string of
/// at most `max_entity_id_chars` characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityKey {
    /// The entity type, e.g. `client`.
    pub entity_type: String,
    /// The entity id, as the host names it.
    pub entity_id: String,
}

impl EntityKey {
    /// Validates a type and id against the configuration.
    pub fn parse(
        config: &TimelineConfig,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<Self, TimelineError> {
        if !config.allows(entity_type) {
            return Err(TimelineError::InvalidEntity {
                field: "entityType",
                reason: format!(
                    "entityType `{}` is not one of: {}",
                    truncate(entity_type),
                    config.entity_types.join(", ")
                ),
            });
        }
        if entity_id.is_empty() {
            return Err(TimelineError::InvalidEntity {
                field: "entityId",
                reason: "entityId must be a non-empty string".into(),
            });
        }
        if entity_id.chars().count() > config.max_entity_id_chars {
            return Err(TimelineError::InvalidEntity {
                field: "entityId",
                reason: format!(
                    "entityId must be at most {} characters",
                    config.max_entity_id_chars
                ),
            });
        }
        Ok(Self {
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
        })
    }

    /// The Socket.IO room of the entity: `timeline:{entityType}:{entityId}`.
    pub fn room(&self) -> String {
        format!("timeline:{}:{}", self.entity_type, self.entity_id)
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.entity_type, self.entity_id)
    }
}

/// Keeps echoed client input short in error messages.
fn truncate(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(64).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_entities_name_their_room() {
        let c = TimelineConfig::default();
        let k = EntityKey::parse(&c, "client", "507f1f77").unwrap();
        assert_eq!(k.room(), "timeline:client:507f1f77");
        assert_eq!(k.to_string(), "client:507f1f77");
    }

    #[test]
    fn unknown_types_empty_and_long_ids_are_refused_naming_the_field() {
        let c = TimelineConfig::default();
        let field = |t: &str, id: &str| match EntityKey::parse(&c, t, id) {
            Err(TimelineError::InvalidEntity { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field("user", "1"), "entityType");
        assert_eq!(field("", "1"), "entityType");
        assert_eq!(field("client", ""), "entityId");
        assert_eq!(field("client", &"x".repeat(129)), "entityId");
        // 128 characters (not bytes) is the limit.
        assert!(EntityKey::parse(&c, "client", &"é".repeat(128)).is_ok());
    }
}
