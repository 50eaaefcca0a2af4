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

    /// The entity as one string for a networked store: `{entityType}\x1f{entityId}`.
    /// Entity types hold no control character, so the first `\x1f` splits it again, and
    /// codes sort byte-wise exactly as keys sort (type, then id).
    pub(crate) fn code(&self) -> String {
        let mut s = String::with_capacity(self.entity_type.len() + 1 + self.entity_id.len());
        s.push_str(&self.entity_type);
        s.push(CODE_SEPARATOR);
        s.push_str(&self.entity_id);
        s
    }

    /// The entity of a [`code`](Self::code); `None` for a string that is not one.
    pub(crate) fn from_code(code: &str) -> Option<Self> {
        let (entity_type, entity_id) = code.split_once(CODE_SEPARATOR)?;
        (!entity_type.is_empty() && !entity_id.is_empty()).then(|| Self {
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
        })
    }
}

/// Separates type and id in [`EntityKey::code`]: below every character a type may hold.
const CODE_SEPARATOR: char = '\u{1f}';

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

    #[test]
    fn codes_round_trip_and_sort_like_keys() {
        let key = |t: &str, id: &str| EntityKey {
            entity_type: t.into(),
            entity_id: id.into(),
        };
        let odd = key("sales-order", "a:b\u{1f}c");
        assert_eq!(EntityKey::from_code(&odd.code()), Some(odd.clone()));
        assert_eq!(EntityKey::from_code("no separator"), None);
        assert_eq!(EntityKey::from_code("\u{1f}1"), None);
        let mut keys = vec![
            key("a-b", "1"),
            key("a", "z"),
            key("a", "10"),
            key("a.b", "0"),
        ];
        let mut codes: Vec<String> = keys.iter().map(EntityKey::code).collect();
        keys.sort();
        codes.sort();
        let decoded: Vec<EntityKey> = codes
            .iter()
            .filter_map(|c| EntityKey::from_code(c))
            .collect();
        assert_eq!(decoded, keys);
    }
}
