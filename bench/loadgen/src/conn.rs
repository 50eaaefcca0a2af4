//! One lightweight Socket.IO client connection: a WebSocket plus the Engine.IO handshake,
//! PING answering and Socket.IO CONNECT. No reconnection, no buffering, no acks table.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::LoadError;
use crate::packet::{self, Packet};

/// A connected Socket.IO client on the default namespace.
#[derive(Debug)]
pub struct SioConn {
    ws: WebSocketStream<TcpStream>,
}

/// Opens a WebSocket from `source` to `server`, completes the Engine.IO OPEN and the
/// Socket.IO CONNECT with `auth`, all before `timeout` elapses.
pub async fn connect(
    server: SocketAddr,
    source: Ipv4Addr,
    auth: &Value,
    timeout: Duration,
) -> Result<SioConn, LoadError> {
    let deadline = Instant::now() + timeout;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let stream = timeout_at(deadline, socket.connect(server))
        .await
        .map_err(|_| LoadError::Timeout("tcp connect"))??;
    stream.set_nodelay(true)?;
    let url = format!("ws://{server}/socket.io/?EIO=4&transport=websocket");
    // Small buffers: thousands of idle client sockets must not cost 128 KiB each.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (ws, _) = timeout_at(
        deadline,
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
    )
    .await
    .map_err(|_| LoadError::Timeout("websocket handshake"))??;
    let mut conn = SioConn { ws };
    match conn.recv_until(deadline).await? {
        frame if matches!(packet::decode(&frame), Packet::Open(_)) => {}
        frame => {
            return Err(LoadError::Protocol(format!(
                "expected OPEN, got {frame:.80}"
            )));
        }
    }
    conn.send(packet::encode_connect(auth)).await?;
    loop {
        let frame = conn.recv_until(deadline).await?;
        match packet::decode(&frame) {
            Packet::Connected(_) => return Ok(conn),
            Packet::ConnectError(msg) => return Err(LoadError::ConnectRefused(msg.to_owned())),
            _ => {}
        }
    }
}

impl SioConn {
    /// Sends one text frame.
    pub async fn send(&mut self, frame: String) -> Result<(), LoadError> {
        self.ws.send(Message::text(frame)).await?;
        Ok(())
    }

    /// Receives the next text frame other than an Engine.IO PING (which it answers).
    pub async fn recv(&mut self) -> Result<String, LoadError> {
        loop {
            let msg = self.ws.next().await.ok_or(LoadError::Closed)??;
            match msg {
                Message::Text(text) => {
                    if text.as_str() == "2" {
                        self.send(packet::PONG.to_owned()).await?;
                        continue;
                    }
                    return Ok(text.as_str().to_owned());
                }
                Message::Close(_) => return Err(LoadError::Closed),
                _ => {}
            }
        }
    }

    /// [`SioConn::recv`] with a deadline.
    pub async fn recv_until(&mut self, deadline: Instant) -> Result<String, LoadError> {
        timeout_at(deadline, self.recv())
            .await
            .map_err(|_| LoadError::Timeout("waiting for a server packet"))?
    }

    /// Receives until an event called `name` or an ack with id `ack` arrives, before the
    /// deadline; returns that frame. A `plugboard:error` event is an [`LoadError::Unsupported`].
    pub async fn expect(
        &mut self,
        name: Option<&str>,
        ack: Option<u64>,
        deadline: Instant,
    ) -> Result<String, LoadError> {
        loop {
            let frame = self.recv_until(deadline).await?;
            match packet::decode(&frame) {
                Packet::Event {
                    name: "plugboard:error",
                    rest,
                    ..
                } => {
                    return Err(LoadError::Unsupported(format!(
                        "plugboard:error {rest:.200}"
                    )));
                }
                Packet::Event { name: got, .. } if Some(got) == name => return Ok(frame),
                Packet::Ack { id, .. } if Some(id) == ack => return Ok(frame),
                _ => {}
            }
        }
    }

    /// Sends a Socket.IO DISCONNECT and closes the WebSocket, waiting at most `timeout`.
    pub async fn close(mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let _ = timeout_at(deadline, async {
            let _ = self.ws.send(Message::text("41")).await;
            let _ = self.ws.close(None).await;
            // Drain until the server's close frame or EOF so the close handshake completes.
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}
