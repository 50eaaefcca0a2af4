//! The benchmark scenarios, each run against one server ([`Target`]) with [`Params`].

mod churn;
mod fanout;
mod hold;
mod ping;
mod queue;
mod setup;
mod typing;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::LoadError;
use crate::report::{Outcome, ScenarioReport};

pub use setup::{agent_auth, connect_all, connect_each};
pub use typing::ticket_of_agent;

/// Most connections any scenario opens (hard cap).
pub const MAX_CONNECTIONS: usize = 100_000;
/// Longest measured phase any scenario runs (hard cap).
pub const MAX_DURATION: Duration = Duration::from_secs(300);

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scenario {
    /// N idle sockets; server RSS per connection.
    Hold,
    /// Closed-loop `health-ping` / `health-pong` round trips.
    Ping,
    /// Ticket-collision typing indicators fanned out to 3-5 viewers per ticket.
    Typing,
    /// Timeline broadcasts through the HTTP publish API to K subscribers per entity.
    Fanout,
    /// Connect/disconnect cycles.
    Churn,
    /// Live-queue matchmaking in a closed loop (join, match, end, join again).
    Queue,
}

impl Scenario {
    /// Every implemented scenario, in the order a full run uses.
    pub const ALL: [Scenario; 6] = [
        Scenario::Ping,
        Scenario::Typing,
        Scenario::Fanout,
        Scenario::Queue,
        Scenario::Hold,
        Scenario::Churn,
    ];

    /// The scenario's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Hold => "hold",
            Scenario::Ping => "ping",
            Scenario::Typing => "typing",
            Scenario::Fanout => "fanout",
            Scenario::Churn => "churn",
            Scenario::Queue => "queue",
        }
    }

    /// Name of the metric comparisons lead with, and whether higher is better.
    pub fn headline(self) -> (&'static str, bool) {
        match self {
            Scenario::Hold => ("rss_per_conn_bytes", false),
            Scenario::Ping => ("round_trips_per_s", true),
            Scenario::Typing => ("typing_p99_us", false),
            Scenario::Fanout => ("delivered_per_s", true),
            Scenario::Churn => ("connects_per_s", true),
            Scenario::Queue => ("matches_per_s", true),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown scenario name.
#[derive(Debug, thiserror::Error)]
#[error("unknown scenario `{0}` (known: hold, ping, typing, fanout, queue, churn)")]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

/// The server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where it listens (Socket.IO and HTTP).
    pub addr: SocketAddr,
    /// Its process id, for `/proc/<pid>/status`.
    pub pid: u32,
    /// Bearer key of its HTTP publish API.
    pub api_key: String,
    /// Told when the measured phase starts and ends (`ping`, `typing`, `churn`), e.g. to count
    /// the server's instructions in exactly that window.
    pub phase_hook: Option<PhaseHook>,
}

/// A phase boundary of a scenario run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The warm-up is over; measuring starts now.
    MeasureStart,
    /// The measured phase is over.
    MeasureEnd,
}

/// A blocking callback for phase boundaries (run on tokio's blocking pool; the scenario
/// waits for it).
#[derive(Clone)]
pub struct PhaseHook(pub Arc<dyn Fn(Phase) + Send + Sync>);

impl PhaseHook {
    /// Runs the hook for `phase` and waits for it.
    pub async fn call(&self, phase: Phase) {
        let f = Arc::clone(&self.0);
        let _ = tokio::task::spawn_blocking(move || f(phase)).await;
    }
}

/// Calls `hook` (if any) when measuring starts at `from` and ends at `end`; await the
/// handle before reading what the hook produced.
fn mark_phases(
    hook: Option<PhaseHook>,
    from: tokio::time::Instant,
    end: tokio::time::Instant,
) -> Option<tokio::task::JoinHandle<()>> {
    hook.map(|hook| {
        tokio::spawn(async move {
            tokio::time::sleep_until(from).await;
            hook.call(Phase::MeasureStart).await;
            tokio::time::sleep_until(end).await;
            hook.call(Phase::MeasureEnd).await;
        })
    })
}

impl fmt::Debug for PhaseHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhaseHook")
    }
}

/// Knobs shared by the scenarios.
#[derive(Debug, Clone)]
pub struct Params {
    /// Connections to open (capped at [`MAX_CONNECTIONS`]).
    pub connections: usize,
    /// Measured phase length (capped at [`MAX_DURATION`]).
    pub duration: Duration,
    /// Unmeasured load before the measured phase.
    pub warmup: Duration,
    /// Deadline for one connection's TCP + WebSocket + CONNECT handshake.
    pub connect_timeout: Duration,
    /// Deadline for opening all connections.
    pub connect_phase_timeout: Duration,
    /// Handshakes in flight at once while opening connections.
    pub connect_concurrency: usize,
    /// `typing`: typing/stop events each agent sends per second.
    pub typing_rate_per_agent: f64,
    /// `fanout`: subscribers per entity (K); entities E = connections / K.
    pub fanout_subscribers: usize,
    /// `fanout`: publishes per second through the HTTP API, all entities together (R).
    pub fanout_publish_rate: f64,
    /// `fanout`: keep-alive HTTP connections publishing in parallel.
    pub fanout_publishers: usize,
    /// `churn`: connect/disconnect loops running in parallel.
    pub churn_workers: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            connections: 1_000,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            connect_phase_timeout: Duration::from_secs(120),
            connect_concurrency: 256,
            typing_rate_per_agent: 2.0,
            fanout_subscribers: 100,
            fanout_publish_rate: 1_000.0,
            fanout_publishers: 16,
            churn_workers: 64,
        }
    }
}

impl Params {
    /// The parameters with the hard caps applied.
    pub fn bounded(&self) -> Params {
        let mut p = self.clone();
        p.connections = p.connections.clamp(1, MAX_CONNECTIONS);
        p.duration = p.duration.min(MAX_DURATION);
        p.warmup = p.warmup.min(Duration::from_secs(30));
        p.connect_phase_timeout = p.connect_phase_timeout.min(Duration::from_secs(600));
        p.connect_concurrency = p.connect_concurrency.clamp(1, 4_096);
        p.fanout_subscribers = p.fanout_subscribers.clamp(1, p.connections);
        p.fanout_publishers = p.fanout_publishers.clamp(1, 64);
        p.churn_workers = p.churn_workers.clamp(1, 4_096);
        p
    }
}

/// Runs one scenario against one server. Never panics on server misbehaviour: failures
/// and missing features come back as the report's [`Outcome`].
pub async fn run(scenario: Scenario, target: &Target, params: &Params) -> ScenarioReport {
    let p = params.bounded();
    let result = match scenario {
        Scenario::Hold => hold::run(target, &p).await,
        Scenario::Ping => ping::run(target, &p).await,
        Scenario::Typing => typing::run(target, &p).await,
        Scenario::Fanout => fanout::run(target, &p).await,
        Scenario::Churn => churn::run(target, &p).await,
        Scenario::Queue => queue::run(target, &p).await,
    };
    let (headline, higher) = scenario.headline();
    match result {
        Ok(report) => report,
        Err(LoadError::Unsupported(why)) => {
            ScenarioReport::not_completed(headline, higher, Outcome::Unsupported(why))
        }
        Err(e) => ScenarioReport::not_completed(headline, higher, Outcome::Failed(e.to_string())),
    }
}

/// Waits for every task of `tasks` until `hard_stop`, then aborts whatever still runs, so a
/// hung server never hangs a scenario.
pub(crate) async fn join_until<T: 'static>(
    hard_stop: tokio::time::Instant,
    tasks: &mut tokio::task::JoinSet<T>,
) {
    while tokio::time::timeout_at(hard_stop, tasks.join_next())
        .await
        .ok()
        .flatten()
        .is_some()
    {}
    tasks.abort_all();
}
