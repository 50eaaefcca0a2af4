//! # plugboard-call-deny
//!
//! Incoming calls for agents with one outcome per call, whichever transport and however
//! many clicks (seeds 000 and 003).
//!
//! - A caller's `call:request` creates a ringing [`Call`] and announces `call:incoming` to
//!   every agent (room [`AGENTS_ROOM`]) or to the target user. A caller with an open call
//!   to the same target gets that call back, never a second one.
//! - `call:deny` (socket) and `PATCH /api/calls/{callId}` (HTTP fallback) are the same
//!   operation: the first deny moves the call to `denied` and broadcasts `call:removed` to
//!   the agents and `call:denied` to the caller; every repeat answers `duplicate: true`
//!   and broadcasts nothing.
//! - `call:accept` (first wins), `call:end`, `call:cancel`; ring timeout -> `missed`.
//! - When a party's last socket goes away (after `disconnect_grace_ms`), its ringing
//!   calls are cancelled and its live calls end with `peer_disconnected` — also when the
//!   node holding the socket died (the framework's reaper reports it as `node_down`).
//!
//! Every transition is one compare-and-set of a [`CallStore`]: [`MemoryCallStore`] on one
//! node, [`RedisCallStore`] when the host runs with `store = "redis"` (picked at
//! initialize from the backend; [`CallDeny::with_store`] injects one). Who may do what,
//! from which status, is [`decide`], the one rule both stores run. Host services use
//! [`CallDeny::create_call`], [`CallDeny::deny`], [`CallDeny::accept`], [`CallDeny::end`],
//! [`CallDeny::get`] and [`CallDeny::list`]. The wire contract is the call-deny section of
//! `docs/protocol.md`.

mod api;
mod broadcast;
mod call;
mod config;
mod error;
mod handler;
mod http;
mod memory;
mod presence;
mod redis;
mod stats;
mod store;
mod sweep;
mod unsettled;

pub use api::CallOutcome;
pub use call::{Actor, Call, CallStatus, Decision, EndReason, Transition, apply, decide};
pub use config::CallDenyConfig;
pub use error::CallError;
pub use handler::{AGENTS_ROOM, CallDeny, CallIdPayload, DenyPayload, RequestPayload};
pub use memory::MemoryCallStore;
pub use plugboard::StoreError;
pub use redis::RedisCallStore;
pub use store::{
    CallRef, CallStore, CreateOutcome, Departure, NewCall, StoreCounts, TransitionOutcome,
};
