//! [`SubscribeAuthorizer`]: the optional hook deciding who may follow which entity.

use async_trait::async_trait;
use plugboard::Identity;

/// Decides whether an identity may subscribe to an entity's timeline. Without one, every
/// authenticated socket may subscribe to any valid entity.
///
/// Any `Fn(&Identity, &str, &str) -> bool` is an authorizer; implement the trait yourself
/// when the decision needs I/O (a database lookup).
///
/// ```
/// use plugboard_timeline::Timeline;
/// let timeline = Timeline::new().with_authorizer(|who: &plugboard::Identity, entity_type: &str, _id: &str| {
///     entity_type != "invoice" || who.has_role("billing")
/// });
/// # drop(timeline);
/// ```
#[async_trait]
pub trait SubscribeAuthorizer: Send + Sync + 'static {
    /// True when `identity` may follow `entity_type`/`entity_id`. The entity is already
    /// validated (allowed type, id length).
    async fn can_subscribe(&self, identity: &Identity, entity_type: &str, entity_id: &str) -> bool;
}

#[async_trait]
impl<F> SubscribeAuthorizer for F
where
    F: Fn(&Identity, &str, &str) -> bool + Send + Sync + 'static,
{
    async fn can_subscribe(&self, identity: &Identity, entity_type: &str, entity_id: &str) -> bool {
        self(identity, entity_type, entity_id)
    }
}
