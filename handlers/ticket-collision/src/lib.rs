//! # plugboard-ticket-collision
//!
//! Who is viewing and typing on a help-desk ticket, with collision warnings (seed 004).
//!
//! Agents send `ticket:view` `{ ticketId, agentName? }` when they open a ticket and join
//! its room `ticket:{ticketId}`; `ticket:typing` / `ticket:stop_typing` while they write
//! a reply; `ticket:leave` when they close it. The room hears `viewers:updated` after
//! every change and `agent:joined`, `agent:left`, `agent:typing`,
//! `agent:stopped_typing` about the other agents; an agent opening a ticket others view,
//! and every agent typing while another types, gets a `collision:warning`.
//!
//! Presence is per agent (the identity's user id), not per socket: two tabs are one
//! viewer. Typing ends by itself after `typing_timeout_ms`; viewers idle for
//! `stale_after_ms` are swept. State lives behind [`ViewerStore`]:
//! [`MemoryViewerStore`] on one node, [`RedisViewerStore`] when the host runs `store =
//! "redis"` (many nodes, one state; [`TicketCollision::new`] picks it at start). Host
//! code uses [`TicketCollision::viewers`],
//! [`is_collision`](TicketCollision::is_collision), [`kick`](TicketCollision::kick) and
//! [`stats`](TicketCollision::stats). The wire contract is in
//! the ticket-collision section of `docs/protocol.md`.
//!
//! ```no_run
//! use plugboard::{Config, Plugboard};
//! use plugboard_ticket_collision::TicketCollision;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut builder = Plugboard::builder(Config::load(None)?)?;
//! // Optional: only agents may view tickets (`forbidden` otherwise).
//! let collisions = builder
//!     .handler(TicketCollision::new().with_can_view(|who, _ticket| who.has_role("agent")))?;
//! let _host = builder.start().await?;
//! // Later, in a service: the ticket was reassigned away from agent-7.
//! if collisions.is_collision("T-1").await? {
//!     collisions.kick("T-1", "agent-7").await?;
//! }
//! # Ok(())
//! # }
//! ```

mod api;
mod authz;
mod config;
mod events;
mod handler;
mod memory;
mod model;
mod notify;
mod redis;
mod store;
mod tasks;

pub use authz::ViewAuthorizer;
pub use config::TicketCollisionConfig;
pub use events::{MAX_ID_CHARS, TicketPayload, ViewPayload};
pub use handler::TicketCollision;
pub use memory::MemoryViewerStore;
pub use model::{
    LeaveOutcome, Removal, StopOutcome, TicketStats, TypingOutcome, ViewOutcome, Viewer,
    ViewerSockets, ViewerStats, ViewerStatus,
};
pub use notify::ticket_room;
pub use redis::RedisViewerStore;
pub use store::{StoreError, ViewRequest, ViewerStore};
