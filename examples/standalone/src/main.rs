//! The standalone plugboard server: `cargo run --release --bin plugboard -- --config plugboard.toml`
//!
//! Serves every standard handler (those enabled in config) on the configured store. With
//! no config at all it starts on 127.0.0.1:3000 in dev auth mode on the memory store.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use plugboard::{Config, HostError, Plugboard, shutdown_signal};
// Standard handlers register themselves through inventory; naming each crate once links it.
use plugboard_call_deny as _;
use plugboard_health_ping as _;
use plugboard_live_queue as _;
use plugboard_ticket_collision as _;
use plugboard_timeline as _;

/// plugboard: real-time handler modules on a Socket.IO-compatible server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML config file (every key also settable as PLUGBOARD_<SECTION>__<KEY>).
    #[arg(long, env = "PLUGBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Port to listen on (overrides the config; 0 picks a free port).
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind (overrides the config).
    #[arg(long)]
    bind: Option<String>,
}

/// Log filter without `RUST_LOG`. engineioxide and socketioxide instrument every session
/// with INFO spans, which at `info` cost about 16,000 instructions per connection (callgrind,
/// `churn`) for spans nobody reads; their warnings still show.
const DEFAULT_LOG: &str = "info,engineioxide=warn,socketioxide=warn";

#[tokio::main]
async fn main() -> ExitCode {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_ansi(ansi)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "plugboard failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), HostError> {
    // Install the signal handlers first: a SIGTERM during start-up then shuts down cleanly.
    let signal = shutdown_signal();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(port) = cli.port {
        config.port = port;
    }
    if let Some(bind) = cli.bind {
        config.bind = bind;
    }
    if cli.config.is_none() {
        tracing::info!(
            "no --config given: defaults (dev auth, memory store) plus PLUGBOARD_* environment"
        );
    }
    let addr = format!("{}:{}", config.bind, config.port);
    let store = config.store;
    let auth = config.auth.mode;
    let mut builder = Plugboard::builder(config)?;
    let handlers = builder.auto_handlers()?;
    let host = builder.start().await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, handlers, ?store, ?auth, "plugboard listening");
    host.serve(listener, signal).await?;
    tracing::info!("plugboard stopped");
    Ok(())
}
