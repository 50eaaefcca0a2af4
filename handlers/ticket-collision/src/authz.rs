//! The optional authorization hook: may this identity view this ticket?

use std::sync::Arc;

use async_trait::async_trait;
use plugboard::Identity;

/// Decides whether an identity may view a ticket. Checked on every `ticket:view`; a
/// refusal answers `forbidden` and changes nothing.
///
/// Sync checks can be given as a closure with
/// [`TicketCollision::with_can_view`](crate::TicketCollision::with_can_view); implement
/// this trait for checks that need I/O (a database, a permission service).
#[async_trait]
pub trait ViewAuthorizer: Send + Sync + 'static {
    /// True when `identity` may view `ticket_id`.
    async fn can_view(&self, identity: &Identity, ticket_id: &str) -> bool;
}

/// A [`ViewAuthorizer`] made of a plain function.
pub(crate) struct FnAuthorizer<F>(pub(crate) F);

#[async_trait]
impl<F> ViewAuthorizer for FnAuthorizer<F>
where
    F: Fn(&Identity, &str) -> bool + Send + Sync + 'static,
{
    async fn can_view(&self, identity: &Identity, ticket_id: &str) -> bool {
        (self.0)(identity, ticket_id)
    }
}

/// The shared form the handler keeps.
pub(crate) type Authorizer = Arc<dyn ViewAuthorizer>;
