//! Ticket collision: who is viewing which ticket, and who is typing.
//! Rooms `ticket:{id}`; `viewers:updated` to the room; typing indicators to the others.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketioxide::extract::{AckSender, Data, Extension, SocketRef, State};
use socketioxide::socket::Sid;

use crate::Identity;

/// Viewers per ticket id.
#[derive(Debug, Default)]
pub(crate) struct Tickets {
    viewers: DashMap<String, Vec<Viewer>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Viewer {
    #[serde(skip)]
    sid: Sid,
    agent_id: String,
    agent_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TicketRef {
    ticket_id: String,
}

/// Tickets this socket views, to clean up on disconnect.
#[derive(Debug, Clone, Default)]
struct Viewing(Arc<Mutex<HashSet<String>>>);

type TicketState = State<Arc<Tickets>>;

pub(crate) fn register(socket: &SocketRef) {
    socket.extensions.insert(Viewing::default());
    socket.on("ticket:view", on_view);
    socket.on("ticket:leave", on_leave);
    socket.on("ticket:typing", on_typing);
    socket.on("ticket:stop_typing", on_stop_typing);
    socket.on_disconnect(on_disconnect);
}

fn room(ticket: &str) -> String {
    format!("ticket:{ticket}")
}

async fn on_view(
    socket: SocketRef,
    Data(t): Data<TicketRef>,
    ack: AckSender,
    State(tickets): TicketState,
    Extension(me): Extension<Identity>,
    Extension(viewing): Extension<Viewing>,
) {
    socket.join(room(&t.ticket_id));
    if let Ok(mut set) = viewing.0.lock() {
        set.insert(t.ticket_id.clone());
    }
    let viewers = {
        let mut entry = tickets.viewers.entry(t.ticket_id.clone()).or_default();
        entry.retain(|v| v.sid != socket.id);
        entry.push(Viewer {
            sid: socket.id,
            agent_id: me.user_id.clone(),
            agent_name: me.user_name.clone(),
        });
        entry.clone()
    };
    let _ = ack.send(&json!({ "ok": true, "viewers": viewers }));
    broadcast_viewers(&socket, &t.ticket_id, &viewers).await;
}

async fn on_leave(
    socket: SocketRef,
    Data(t): Data<TicketRef>,
    ack: AckSender,
    State(tickets): TicketState,
    Extension(viewing): Extension<Viewing>,
) {
    if let Ok(mut set) = viewing.0.lock() {
        set.remove(&t.ticket_id);
    }
    socket.leave(room(&t.ticket_id));
    let viewers = remove_viewer(&tickets, &t.ticket_id, socket.id);
    let _ = ack.send(&json!({ "ok": true }));
    broadcast_viewers(&socket, &t.ticket_id, &viewers).await;
}

async fn on_typing(
    socket: SocketRef,
    Data(t): Data<TicketRef>,
    Extension(me): Extension<Identity>,
) {
    indicate(&socket, "agent:typing", &t.ticket_id, &me).await;
}

async fn on_stop_typing(
    socket: SocketRef,
    Data(t): Data<TicketRef>,
    Extension(me): Extension<Identity>,
) {
    indicate(&socket, "agent:stopped_typing", &t.ticket_id, &me).await;
}

async fn indicate(socket: &SocketRef, event: &str, ticket: &str, me: &Identity) {
    let payload = json!({ "ticketId": ticket, "agentId": me.user_id, "agentName": me.user_name });
    let _ = socket.to(room(ticket)).emit(event, &payload).await;
}

async fn on_disconnect(
    socket: SocketRef,
    State(tickets): TicketState,
    Extension(viewing): Extension<Viewing>,
) {
    let viewed: Vec<String> = viewing
        .0
        .lock()
        .map(|set| set.iter().cloned().collect())
        .unwrap_or_default();
    for ticket in viewed {
        let viewers = remove_viewer(&tickets, &ticket, socket.id);
        let _ = socket
            .to(room(&ticket))
            .emit(
                "viewers:updated",
                &json!({ "ticketId": ticket, "viewers": viewers }),
            )
            .await;
    }
}

fn remove_viewer(tickets: &Tickets, ticket: &str, sid: Sid) -> Vec<Viewer> {
    let viewers = match tickets.viewers.get_mut(ticket) {
        Some(mut entry) => {
            entry.retain(|v| v.sid != sid);
            entry.clone()
        }
        None => Vec::new(),
    };
    if viewers.is_empty() {
        tickets.viewers.remove_if(ticket, |_, v| v.is_empty());
    }
    viewers
}

async fn broadcast_viewers(socket: &SocketRef, ticket: &str, viewers: &[Viewer]) {
    let _ = socket
        .within(room(ticket))
        .emit(
            "viewers:updated",
            &json!({ "ticketId": ticket, "viewers": viewers }),
        )
        .await;
}
