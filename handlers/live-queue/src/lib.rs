//! # plugboard-live-queue
//!
//! The server side of a live video-call product's pre-call phase (seed 001, a risk audit
//! of ten failure modes), as the `live-queue` handler:
//!
//! - an atomic busy-state machine per user (`available | queueing | connecting | in-call`,
//!   compare-and-set on a version; NET-02), reset by a zombie sweeper (STATE-02);
//! - a FIFO queue with acks (NET-01), idempotent joins (UX-01), a rejoin grace for
//!   dropped sockets (NET-03) and a heartbeat carrying a server epoch (STATE-01);
//! - matches, match rooms and staged calls whose simultaneous requests merge into one
//!   call (UX-02);
//! - one socket per user through the framework's `kick_old` session policy (STATE-03).
//!
//! State lives behind [`BusyStateStore`], [`QueueStore`] and [`MatchStore`] (bundled as
//! [`LiveStore`]); [`MemoryLiveStore`] is the one-node implementation, [`RedisLiveStore`]
//! the cluster one (every node on one Redis). [`LiveQueue::new`] picks the one of the
//! host's `store` setting at `initialize` ([`store_for`]). The wire contract is the
//! live-queue section of `docs/protocol.md`.

mod api;
mod backend;
mod call_events;
mod config;
mod handler;
mod liveness;
mod memory;
mod queue_events;
mod redis;
mod state;
mod store;
mod timers;

pub use api::LiveQueueStats;
pub use backend::store_for;
pub use call_events::{CallRequest, JoinMatch, MatchRef};
pub use config::LiveQueueConfig;
pub use handler::LiveQueue;
pub use memory::MemoryLiveStore;
pub use redis::RedisLiveStore;
pub use state::{BusyState, Status, allowed, now_ms};
pub use store::{
    BusyStateStore, CallError, Ended, Joined, LiveStore, MatchMade, MatchStore, PairConflict,
    Preferences, QueueStore, Released, Requested, Side, Started, StatusCounts, StoreError,
    StoreResult,
};
pub use timers::GraceTimers;
