//! The host API of [`Timeline`]: broadcasts to an entity's followers, counts and stats.
//!
//! Every broadcast validates the entity, then looks up its subscriber count: with none,
//! it does no socket work, counts a skipped broadcast and returns `Ok(0)`; otherwise it
//! emits to the room `timeline:{entityType}:{entityId}` (on every node of a cluster) and
//! returns the subscriber count (of the whole cluster on Redis).

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{EntityKey, Timeline, TimelineError};

/// One row of [`TimelineStats::entities`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityStats {
    /// The entity type.
    pub entity_type: String,
    /// The entity id.
    pub entity_id: String,
    /// Sockets following it.
    pub subscribers: u64,
}

/// `stats()`: `{ totalSockets, totalEntities, broadcasts, skippedBroadcasts, entities }`.
/// On Redis the totals and entities are those of the whole cluster (every node answers
/// the same); the broadcast counters are this node's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineStats {
    /// Sockets following at least one entity.
    pub total_sockets: u64,
    /// Entities with at least one subscriber.
    pub total_entities: u64,
    /// Broadcasts this node sent to at least one subscriber.
    pub broadcasts: u64,
    /// Broadcasts this node skipped: entities without subscribers (no socket work done).
    pub skipped_broadcasts: u64,
    /// The most-followed entities, most first (ties by type, then id), capped at
    /// `stats_top_n`.
    pub entities: Vec<EntityStats>,
}

fn to_object<T: Serialize + ?Sized>(
    field: &'static str,
    value: &T,
) -> Result<Value, TimelineError> {
    match serde_json::to_value(value) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(TimelineError::InvalidItem {
            field,
            reason: format!("{field} must be a JSON object"),
        }),
        Err(e) => Err(TimelineError::InvalidItem {
            field,
            reason: format!("{field} does not serialize to JSON: {e}"),
        }),
    }
}

impl Timeline {
    fn entity(&self, entity_type: &str, entity_id: &str) -> Result<EntityKey, TimelineError> {
        EntityKey::parse(self.cfg(), entity_type, entity_id)
    }

    /// Sends `event` with `{ entityType, entityId, ..extra }` to the entity's room.
    async fn publish(
        &self,
        entity: EntityKey,
        event: &'static str,
        extra: Option<(&'static str, Value)>,
    ) -> Result<usize, TimelineError> {
        let subscribers = self.store().subscriber_count(&entity).await?;
        let Some(io) = self.io.get().filter(|_| subscribers > 0) else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(handler = "timeline", event, entity = %entity, "no subscribers, broadcast skipped");
            return Ok(0);
        };
        let room = entity.room();
        let mut payload = Map::with_capacity(3);
        payload.insert("entityType".into(), Value::String(entity.entity_type));
        payload.insert("entityId".into(), Value::String(entity.entity_id));
        if let Some((key, value)) = extra {
            payload.insert(key.into(), value);
        }
        io.to(room).emit(event, &payload).await;
        self.broadcasts.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(handler = "timeline", event, subscribers, "broadcast");
        Ok(usize::try_from(subscribers).unwrap_or(usize::MAX))
    }

    /// `timeline:new_item` `{ entityType, entityId, item }`; `item` must serialize to a
    /// JSON object and is sent as is.
    pub async fn broadcast_new_item<T: Serialize + ?Sized>(
        &self,
        entity_type: &str,
        entity_id: &str,
        item: &T,
    ) -> Result<usize, TimelineError> {
        let entity = self.entity(entity_type, entity_id)?;
        let item = to_object("item", item)?;
        self.publish(entity, "timeline:new_item", Some(("item", item)))
            .await
    }

    /// `timeline:item_updated` `{ entityType, entityId, item }`.
    pub async fn broadcast_item_updated<T: Serialize + ?Sized>(
        &self,
        entity_type: &str,
        entity_id: &str,
        item: &T,
    ) -> Result<usize, TimelineError> {
        let entity = self.entity(entity_type, entity_id)?;
        let item = to_object("item", item)?;
        self.publish(entity, "timeline:item_updated", Some(("item", item)))
            .await
    }

    /// `timeline:item_deleted` `{ entityType, entityId, itemId }`; `item_id` must not be empty.
    pub async fn broadcast_item_deleted(
        &self,
        entity_type: &str,
        entity_id: &str,
        item_id: &str,
    ) -> Result<usize, TimelineError> {
        let entity = self.entity(entity_type, entity_id)?;
        if item_id.is_empty() {
            return Err(TimelineError::InvalidItem {
                field: "itemId",
                reason: "itemId must be a non-empty string".into(),
            });
        }
        let id = Value::String(item_id.to_owned());
        self.publish(entity, "timeline:item_deleted", Some(("itemId", id)))
            .await
    }

    /// `timeline:refresh` `{ entityType, entityId }`: followers reload the whole timeline.
    pub async fn request_refresh(
        &self,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<usize, TimelineError> {
        let entity = self.entity(entity_type, entity_id)?;
        self.publish(entity, "timeline:refresh", None).await
    }

    /// `timeline:bulk_update` `{ entityType, entityId, items }`; every item must serialize
    /// to a JSON object.
    pub async fn broadcast_bulk_update<T: Serialize>(
        &self,
        entity_type: &str,
        entity_id: &str,
        items: &[T],
    ) -> Result<usize, TimelineError> {
        let entity = self.entity(entity_type, entity_id)?;
        let items = items
            .iter()
            .map(|i| to_object("items", i))
            .collect::<Result<Vec<_>, _>>()?;
        self.publish(
            entity,
            "timeline:bulk_update",
            Some(("items", Value::Array(items))),
        )
        .await
    }

    /// True when at least one socket follows the entity.
    pub async fn has_subscribers(
        &self,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<bool, TimelineError> {
        Ok(self.subscriber_count(entity_type, entity_id).await? > 0)
    }

    /// How many sockets follow the entity.
    pub async fn subscriber_count(
        &self,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<usize, TimelineError> {
        let entity = self.entity(entity_type, entity_id)?;
        let n = self.store().subscriber_count(&entity).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Totals, broadcast counters and the `stats_top_n` most-followed entities. Totals
    /// and entities count the whole cluster; `broadcasts` and `skippedBroadcasts` count
    /// this node's broadcasts.
    pub async fn stats(&self) -> Result<TimelineStats, TimelineError> {
        let s = self.store().stats(self.cfg().stats_top_n).await?;
        Ok(TimelineStats {
            total_sockets: s.total_sockets,
            total_entities: s.total_entities,
            broadcasts: self.broadcasts.load(Ordering::Relaxed),
            skipped_broadcasts: self.skipped.load(Ordering::Relaxed),
            entities: s
                .top
                .into_iter()
                .map(|(k, subscribers)| EntityStats {
                    entity_type: k.entity_type,
                    entity_id: k.entity_id,
                    subscribers,
                })
                .collect(),
        })
    }
}
