//! # plugboard-health-ping
//!
//! The server side of the frontends' connection health monitor (seed 002):
//! `health-ping` `{ id, timestamp, rtt? }` is answered with `health-pong`
//! `{ id, timestamp, serverTime }` to the sender (and the same object in the ack).
//! Each socket's health follows the pings it sends against the configured interval:
//! `healthy` (none missed), `degraded` (1..max_failures-1 missed), `unhealthy`
//! (`max_failures` or more); unhealthy sockets can optionally be disconnected.

mod config;
mod handler;
mod store;

pub use config::HealthPingConfig;
pub use handler::{HealthPing, PingRequest};
pub use store::{Health, HealthStore, MemoryHealthStore, SocketHealth};
