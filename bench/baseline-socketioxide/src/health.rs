//! `health-ping` -> `health-pong` (to the sender, plus the ack when one was asked for).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};

pub(crate) fn register(socket: &SocketRef) {
    socket.on("health-ping", on_ping);
}

async fn on_ping(socket: SocketRef, Data(mut ping): Data<Value>, ack: AckSender) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    if let Value::Object(map) = &mut ping {
        map.insert("serverTime".into(), now.into());
    }
    let _ = socket.emit("health-pong", &ping);
    let _ = ack.send(&ping);
}
