//! `plugboard-baseline-socketioxide`: the benchmark events written by hand on bare
//! socketioxide + axum, without the plugboard framework. Comparing it with plugboard
//! measures the framework's overhead.
//!
//! Usage: `plugboard-baseline-socketioxide --port <N> [--api-key benchkey]` (0 picks a free
//! port). Prints `listening addr=127.0.0.1:PORT` once ready.

#![allow(clippy::print_stdout)]

mod collision;
mod health;
mod timeline;

use std::sync::Arc;

use clap::Parser;
use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, TryData};

/// Command line.
#[derive(Debug, Parser)]
struct Cli {
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "PORT", default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Bearer key of the timeline publish API.
    #[arg(long, env = "API_KEY", default_value = "benchkey")]
    api_key: String,
    /// Packets buffered per socket (same as the plugboard bench config).
    #[arg(long, default_value_t = 4096)]
    max_buffer_size: usize,
}

/// Who a socket is, from the dev-mode connect auth `{ userId, userName }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    user_id: String,
    #[serde(default)]
    user_name: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let (layer, io) = SocketIo::builder()
        .max_buffer_size(cli.max_buffer_size)
        .with_state(Arc::new(collision::Tickets::default()))
        .build_layer();
    io.ns("/", on_connect);
    let app = timeline::routes(io.clone(), cli.api_key).layer(layer);
    let listener = tokio::net::TcpListener::bind((cli.bind.as_str(), cli.port)).await?;
    println!("listening addr={}", listener.local_addr()?);
    // TCP_NODELAY, as plugboard, Node and the ceiling set it: the comparison is then of
    // the servers, not of a socket option (Nagle alone put this baseline's typing p99 at
    // 16-20 ms against plugboard's 0.7 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

async fn on_connect(socket: SocketRef, TryData(auth): TryData<Identity>) {
    let identity = match auth {
        Ok(identity) => identity,
        Err(_) => {
            // No userId: refuse the socket, as a real server would.
            let _ = socket.disconnect();
            return;
        }
    };
    socket.extensions.insert(identity);
    health::register(&socket);
    collision::register(&socket);
    timeline::register(&socket);
}
