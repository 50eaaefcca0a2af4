//! Timeline subscriptions (rooms `timeline:{type}:{id}`) and the HTTP publish API
//! `POST /api/timeline/{entityType}/{entityId}`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntityRef {
    entity_type: String,
    entity_id: String,
}

#[derive(Debug, Deserialize)]
struct Publish {
    #[serde(rename = "type")]
    kind: String,
    item: Value,
}

#[derive(Clone)]
struct Api {
    io: SocketIo,
    bearer: String,
}

fn room(entity_type: &str, entity_id: &str) -> String {
    format!("timeline:{entity_type}:{entity_id}")
}

pub(crate) fn register(socket: &SocketRef) {
    socket.on("timeline:subscribe", on_subscribe);
    socket.on("timeline:unsubscribe", on_unsubscribe);
}

async fn on_subscribe(socket: SocketRef, Data(e): Data<EntityRef>, ack: AckSender) {
    let room = room(&e.entity_type, &e.entity_id);
    socket.join(room.clone());
    let subscribers = socket.within(room.clone()).sockets().len();
    let _ = ack.send(&json!({ "ok": true, "room": room, "subscribers": subscribers }));
}

async fn on_unsubscribe(socket: SocketRef, Data(e): Data<EntityRef>, ack: AckSender) {
    socket.leave(room(&e.entity_type, &e.entity_id));
    let _ = ack.send(&json!({ "ok": true }));
}

/// The publish API, guarded by `Authorization: Bearer <api_key>`.
pub(crate) fn routes(io: SocketIo, api_key: String) -> Router {
    Router::new()
        .route("/api/timeline/{entity_type}/{entity_id}", post(publish))
        .with_state(Api {
            io,
            bearer: format!("Bearer {api_key}"),
        })
}

async fn publish(
    State(api): State<Api>,
    Path((entity_type, entity_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::Json<Publish>,
) -> Response {
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(api.bearer.as_str());
    if !authorized {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "ok": false }))).into_response();
    }
    let room = room(&entity_type, &entity_id);
    let delivered = api.io.within(room.clone()).sockets().len();
    let event = format!("timeline:{}", body.kind);
    let payload = json!({ "entityType": entity_type, "entityId": entity_id, "item": body.0.item });
    let _ = api.io.within(room).emit(event, &payload).await;
    axum::Json(json!({ "ok": true, "delivered": delivered })).into_response()
}
