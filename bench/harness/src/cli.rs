//! Command line of `plugboard-bench`.

use clap::Parser;

/// Runs the plugboard benchmark scenarios against plugboard and the comparison servers
/// (one at a time, alternating), and writes `bench/results/<date>.{json,md,svg}`.
#[derive(Debug, Parser)]
#[command(name = "plugboard-bench")]
pub struct Cli {
    /// Scenarios: a comma-separated list of hold, ping, typing, fanout, churn, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub scenario: Vec<String>,
    /// Servers: a comma-separated list of plugboard, node, socketioxide, ceiling, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub compare: Vec<String>,
    /// Connections per scenario (default: each scenario's own default, 1000).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Measured seconds per scenario and server.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured warm-up seconds before each measurement.
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// Rounds: each round runs every selected server once per scenario, alternating.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// `typing`: typing/stop events per agent per second.
    #[arg(long, default_value_t = 2.0)]
    pub typing_rate: f64,
    /// `fanout`: subscribers per entity.
    #[arg(long, default_value_t = 100)]
    pub fanout_subscribers: usize,
    /// `fanout`: publishes per second through the HTTP API (all entities together).
    #[arg(long, default_value_t = 1000.0)]
    pub fanout_rate: f64,
    /// `fanout`: keep-alive HTTP connections publishing in parallel (each sends one
    /// request at a time, so enough of them keep the publish rate from being client-bound).
    #[arg(long, default_value_t = 16)]
    pub fanout_publishers: usize,
    /// `churn`: parallel connect/disconnect loops.
    #[arg(long, default_value_t = 64)]
    pub churn_workers: usize,
    /// Use the Rust server binaries as they are in target/release instead of running
    /// `cargo build --release` first (by default every run builds, so the binaries match
    /// the tree; cargo makes that a no-op when nothing changed).
    #[arg(long)]
    pub no_build: bool,
    /// Runs the Rust servers under valgrind's callgrind and reports the server's
    /// instructions per round trip (`ping`), per typing event (`typing`) or per connect and
    /// disconnect (`churn`) in the measured phase: repeatable where timings are not. Node is left out. Expect about
    /// 50x lower throughput.
    #[arg(long)]
    pub callgrind: bool,
    /// Suffix for the result files: `<date>-<label>.{json,md,svg}` (default `<date>`).
    #[arg(long)]
    pub label: Option<String>,
    /// Where results go (default: `bench/results` in the workspace).
    #[arg(long)]
    pub out_dir: Option<std::path::PathBuf>,
}
