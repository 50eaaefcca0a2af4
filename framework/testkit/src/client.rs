//! A minimal Socket.IO v5 client over Engine.IO v4 websocket.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;
type Acks = Arc<std::sync::Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

/// How long `recv`/`emit_with_ack` wait before failing the test.
pub const WAIT: Duration = Duration::from_secs(5);

/// Why a connection failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectError {
    /// The server refused the Socket.IO CONNECT with this message.
    Refused(String),
    /// The transport failed.
    Transport(String),
}

/// What the client received, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An event and its first argument.
    Event(String, Value),
    /// The server disconnected the socket from the namespace.
    Disconnected,
    /// The transport closed.
    Closed,
}

/// A connected test client.
pub struct Client {
    sink: Arc<Mutex<Sink>>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    backlog: VecDeque<Incoming>,
    acks: Acks,
    next_ack: AtomicI64,
    /// The Socket.IO socket id the server assigned.
    pub sid: String,
}

impl Client {
    /// Connects to `addr` with handshake `auth`.
    pub async fn connect(addr: SocketAddr, auth: Value) -> Result<Self, ConnectError> {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ConnectError::Transport(e.to_string()))?;
        let (mut sink, mut stream) = ws.split();
        let open = next_text(&mut stream).await?;
        if !open.starts_with('0') {
            return Err(ConnectError::Transport(format!(
                "expected open packet, got {open}"
            )));
        }
        sink.send(Message::text(format!("40{auth}")))
            .await
            .map_err(|e| ConnectError::Transport(e.to_string()))?;
        let sid = loop {
            let msg = next_text(&mut stream).await?;
            if msg == "2" {
                let _ = sink.send(Message::text("3")).await;
                continue;
            }
            if let Some(body) = msg.strip_prefix("40") {
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                break v["sid"].as_str().unwrap_or_default().to_owned();
            }
            if let Some(body) = msg.strip_prefix("44") {
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                return Err(ConnectError::Refused(
                    v["message"].as_str().unwrap_or(body).to_owned(),
                ));
            }
        };
        let sink = Arc::new(Mutex::new(sink));
        let acks: Acks = Arc::default();
        let (tx, incoming) = mpsc::unbounded_channel();
        let (reader_sink, reader_acks) = (sink.clone(), acks.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let text = text.as_str();
                if text == "2" {
                    let _ = reader_sink.lock().await.send(Message::text("3")).await;
                } else if let Some(body) = text.strip_prefix("42") {
                    if let Ok(Value::Array(mut parts)) = serde_json::from_str::<Value>(body) {
                        let name = parts
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        let data = if parts.len() > 1 {
                            parts.swap_remove(1)
                        } else {
                            Value::Null
                        };
                        let _ = tx.send(Incoming::Event(name, data));
                    }
                } else if let Some(body) = text.strip_prefix("43") {
                    let split = body.find('[').unwrap_or(body.len());
                    let (id, rest) = body.split_at(split);
                    let data = serde_json::from_str::<Value>(rest)
                        .ok()
                        .and_then(|v| v.as_array().and_then(|a| a.first().cloned()))
                        .unwrap_or(Value::Null);
                    if let Ok(id) = id.parse::<i64>()
                        && let Some(waiter) = reader_acks.lock().expect("acks lock").remove(&id)
                    {
                        let _ = waiter.send(data);
                    }
                } else if text.starts_with("41") {
                    let _ = tx.send(Incoming::Disconnected);
                }
            }
            let _ = tx.send(Incoming::Closed);
        });
        Ok(Self {
            sink,
            incoming,
            backlog: VecDeque::new(),
            acks,
            next_ack: AtomicI64::new(1),
            sid,
        })
    }

    /// Sends an event without ack.
    pub async fn emit(&self, event: &str, data: Value) {
        let packet = format!("42{}", Value::Array(vec![Value::from(event), data]));
        self.send_raw(packet).await;
    }

    /// Sends an event with no payload at all (only the name).
    pub async fn emit_bare(&self, event: &str) {
        self.send_raw(format!("42{}", Value::Array(vec![Value::from(event)])))
            .await;
    }

    /// Sends a raw Socket.IO packet text.
    pub async fn send_raw(&self, packet: String) {
        let _ = self.sink.lock().await.send(Message::text(packet)).await;
    }

    /// Sends an event and waits for its ack.
    pub async fn emit_with_ack(&self, event: &str, data: Value) -> Value {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().expect("acks lock").insert(id, tx);
        let packet = format!("42{id}{}", Value::Array(vec![Value::from(event), data]));
        self.send_raw(packet).await;
        tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("no ack for `{event}` within {WAIT:?}"))
            .expect("ack")
    }

    /// Waits for the next occurrence of `event` (other events stay queued for later).
    pub async fn recv(&mut self, event: &str) -> Value {
        self.try_recv(event, WAIT)
            .await
            .unwrap_or_else(|| panic!("no `{event}` within {WAIT:?}"))
    }

    /// Waits up to `wait` for `event`.
    pub async fn try_recv(&mut self, event: &str, wait: Duration) -> Option<Value> {
        if let Some(pos) = self
            .backlog
            .iter()
            .position(|m| matches!(m, Incoming::Event(n, _) if n == event))
            && let Some(Incoming::Event(_, v)) = self.backlog.remove(pos)
        {
            return Some(v);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(Incoming::Event(name, v))) if name == event => return Some(v),
                Ok(Some(other)) => self.backlog.push_back(other),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits until the server disconnects this socket or the transport closes.
    pub async fn wait_disconnect(&mut self, wait: Duration) -> bool {
        if self
            .backlog
            .iter()
            .any(|m| !matches!(m, Incoming::Event(..)))
        {
            return true;
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(Incoming::Event(n, v))) => self.backlog.push_back(Incoming::Event(n, v)),
                Ok(Some(_)) | Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Events received so far and not yet consumed, drained after `settle`.
    pub async fn drain(&mut self, settle: Duration) -> Vec<(String, Value)> {
        tokio::time::sleep(settle).await;
        while let Ok(m) = self.incoming.try_recv() {
            self.backlog.push_back(m);
        }
        self.backlog
            .drain(..)
            .filter_map(|m| match m {
                Incoming::Event(n, v) => Some((n, v)),
                _ => None,
            })
            .collect()
    }

    /// Disconnects from the namespace and closes the websocket.
    pub async fn close(self) {
        let mut sink = self.sink.lock().await;
        let _ = sink.send(Message::text("41")).await;
        let _ = sink.close().await;
    }
}

async fn next_text<S>(stream: &mut S) -> Result<String, ConnectError>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Ok(t.as_str().to_owned()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(ConnectError::Transport(e.to_string())),
            Ok(None) => return Err(ConnectError::Transport("closed".into())),
            Err(_) => return Err(ConnectError::Transport("timed out".into())),
        }
    }
}

/// A tiny HTTP/1.1 client for `/stats` and handler HTTP APIs.
pub(crate) async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(body) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or_default());
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
