//! Load generator for the plugboard benchmarks.
//!
//! Opens many lightweight Socket.IO v5 / Engine.IO v4 WebSocket connections (one tokio task
//! each, no full client), spreads them over source addresses in `127.0.0.0/8` to get past
//! the ephemeral-port limit, and runs the benchmark [`scenarios`] against one server.
//! Loopback only; every run is bounded by hard deadlines and connection caps.

pub mod addrs;
pub mod clock;
pub mod conn;
pub mod error;
pub mod packet;
pub mod publish;
pub mod report;
pub mod rss;
pub mod scenarios;
pub mod stats;

pub use error::LoadError;
pub use report::{Metric, Outcome, ScenarioReport};
pub use scenarios::{Params, Phase, PhaseHook, Scenario, Target, run};
