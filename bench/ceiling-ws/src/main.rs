//! `plugboard-ceiling-ws`: the fastest thing that can answer the `ping` scenario on this
//! machine. A raw tokio-tungstenite server speaking just enough Engine.IO v4 / Socket.IO v5:
//! the OPEN packet, the CONNECT ack, `2`/`3` heartbeats, and
//! `42["health-ping",X]` answered with `42["health-pong",X+serverTime]`. No rooms, no
//! acks, no handlers: an upper bound, not a server.
//!
//! Usage: `plugboard-ceiling-ws --port <N>` (0 picks a free port). Prints
//! `listening addr=127.0.0.1:PORT` once ready.

#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Command line.
#[derive(Debug, Parser)]
struct Cli {
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "PORT", default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
}

const PING_INTERVAL: Duration = Duration::from_secs(25);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let listener = TcpListener::bind((cli.bind.as_str(), cli.port)).await?;
    println!("listening addr={}", listener.local_addr()?);
    let ids = AtomicU64::new(1);
    loop {
        let (stream, _) = listener.accept().await?;
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            // A failed connection only ends that connection.
            let _ = serve(stream, id).await;
        });
    }
}

async fn serve(stream: TcpStream, id: u64) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    stream.set_nodelay(true)?;
    // Small buffers, as a memory-conscious server would choose (the 128 KiB default read
    // buffer would dominate per-connection memory).
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let mut ws = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    let open = format!(
        "0{{\"sid\":\"c{id}\",\"upgrades\":[],\"pingInterval\":{},\"pingTimeout\":20000,\"maxPayload\":1000000}}",
        PING_INTERVAL.as_millis()
    );
    ws.send(Message::text(open)).await?;
    let mut heartbeat = tokio::time::interval(PING_INTERVAL);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            _ = heartbeat.tick() => ws.send(Message::text("2")).await?,
            msg = ws.next() => {
                let Some(msg) = msg else { return Ok(()) };
                match msg? {
                    Message::Text(text) => {
                        if let Some(reply) = answer(text.as_str(), id) {
                            ws.send(Message::text(reply)).await?;
                        }
                    }
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
        }
    }
}

/// The reply to one client frame, if any.
fn answer(frame: &str, id: u64) -> Option<String> {
    if frame.starts_with("40") {
        return Some(format!("40{{\"sid\":\"s{id}\"}}"));
    }
    let payload = frame
        .strip_prefix("42[\"health-ping\",")?
        .strip_suffix("}]")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Some(format!(
        "42[\"health-pong\",{payload},\"serverTime\":{now}}}]"
    ))
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn answers_connect_and_ping() {
        assert_eq!(
            answer("40{\"userId\":\"u\"}", 7).as_deref(),
            Some("40{\"sid\":\"s7\"}")
        );
        let pong =
            answer("42[\"health-ping\",{\"id\":\"a\",\"timestamp\":5}]", 1).unwrap_or_default();
        assert!(
            pong.starts_with("42[\"health-pong\",{\"id\":\"a\",\"timestamp\":5,\"serverTime\":")
        );
        assert!(pong.ends_with("}]"));
        assert_eq!(answer("3", 1), None);
    }
}
