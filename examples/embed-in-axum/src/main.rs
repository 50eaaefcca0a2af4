//! Run with `cargo run -p plugboard-example-embed-in-axum -- --port 3001`, subscribe a
//! client to `timeline:subscribe { entityType: "client", entityId: "42" }`, then
//! `curl -XPOST localhost:3001/crm/client/42/notes -H 'content-type: application/json' -d '{"text":"called back"}'`.

use std::path::PathBuf;

use clap::Parser;
use plugboard::{Config, shutdown_signal};

/// An existing axum app with plugboard mounted in it.
#[derive(Parser)]
struct Cli {
    /// plugboard TOML config (optional).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 3001)]
    port: u16,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let cli = Cli::parse();
    let signal = shutdown_signal();
    let (host, router) =
        plugboard_example_embed_in_axum::app(Config::load(cli.config.as_deref())?).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cli.port)).await?;
    tracing::info!(addr = %listener.local_addr()?, "embed-in-axum listening");
    // Real-time acks and broadcasts are small writes: do not let Nagle hold them back.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // The app serves its merged router itself; plugboard only needs its shutdown sequence.
    let closing = host.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            signal.await;
            closing.close_sockets().await;
        })
        .await?;
    host.shutdown().await;
    Ok(())
}
