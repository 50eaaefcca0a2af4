//! A handler crate written as a third party would: `room-chat`, a tiny chat room.
//!
//! It depends on `plugboard` only, and registers itself with
//! `plugboard::register_handler!`, so a host that calls `builder.auto_handlers()` picks it
//! up once the crate is linked (`use plugboard_example_custom_handler as _;`).
//!
//! Events: `chat:join` `{ room }` -> joins `chat:{room}`, ack `{ ok, room }`;
//! `chat:message` `{ room, text }` -> `chat:message` `{ room, from, text }` to the room.
//! Host API: [`RoomChat::announce`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use plugboard::{BoxError, Handler, HandlerError, InitContext, Io, Reply, Socket, async_trait};
use serde::Deserialize;
use serde_json::{Value, json};

/// The room-chat handler.
#[derive(Default)]
pub struct RoomChat {
    io: OnceLock<Io>,
    messages: AtomicU64,
}

#[derive(Deserialize)]
struct Join {
    room: String,
}

#[derive(Deserialize)]
struct Message {
    room: String,
    text: String,
}

fn room_name(room: &str) -> Result<String, HandlerError> {
    if room.is_empty() || room.len() > 64 {
        return Err(HandlerError::invalid("room must be 1..=64 chars"));
    }
    Ok(format!("chat:{room}"))
}

impl RoomChat {
    /// Sends a message from the host itself to everyone in `room`.
    pub async fn announce(&self, room: &str, text: &str) -> Result<(), HandlerError> {
        let io = self
            .io
            .get()
            .ok_or_else(|| HandlerError::unavailable("room-chat is not started"))?;
        io.to(room_name(room)?)
            .emit(
                "chat:message",
                &json!({ "room": room, "from": "host", "text": text }),
            )
            .await;
        self.messages.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn join(self: Arc<Self>, socket: Socket, req: Join) -> Reply {
        socket.join(room_name(&req.room)?);
        Ok(json!({ "ok": true, "room": req.room }))
    }

    async fn message(self: Arc<Self>, socket: Socket, req: Message) -> Reply {
        let room = room_name(&req.room)?;
        if !socket.rooms().contains(&room) {
            return Err(HandlerError::forbidden("join the room first"));
        }
        let msg = json!({ "room": req.room, "from": socket.identity().name, "text": req.text });
        socket.to(room).emit("chat:message", &msg).await;
        self.messages.fetch_add(1, Ordering::Relaxed);
        Ok(json!({ "ok": true }))
    }
}

#[async_trait]
impl Handler for RoomChat {
    fn name(&self) -> &'static str {
        "room-chat"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        let _ = self.io.set(cx.io());
        let this = self.clone();
        cx.on("chat:join", move |s, req: Join| this.clone().join(s, req))?;
        let this = self.clone();
        cx.on("chat:message", move |s, req: Message| {
            this.clone().message(s, req)
        })?;
        Ok(())
    }

    async fn stats(&self) -> Value {
        json!({ "messages": self.messages.load(Ordering::Relaxed) })
    }
}

plugboard::register_handler!(RoomChat::default);
