//! An existing axum application that mounts plugboard next to its own routes.
//!
//! The app keeps its routes (`/`, `POST /announcements`); plugboard adds Socket.IO,
//! `/healthz`, `/stats`, `/metrics`. `POST /announcements` calls the room-chat handler's
//! host API, fetched by type once at start-up.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use plugboard::{Config, Host, HostError, Plugboard};
use plugboard_example_custom_handler::RoomChat;
use plugboard_health_ping::HealthPing;
use serde::Deserialize;
use serde_json::{Value, json};

/// The app's own request body.
#[derive(Deserialize)]
pub struct Announcement {
    /// Chat room to announce in.
    pub room: String,
    /// The text.
    pub text: String,
}

async fn announce(
    State(chat): State<Arc<RoomChat>>,
    Json(a): Json<Announcement>,
) -> (StatusCode, Json<Value>) {
    match chat.announce(&a.room, &a.text).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "ok": true }))),
        Err(e) => (StatusCode::BAD_REQUEST, Json(e.to_ack())),
    }
}

/// Builds the host and the app router that merges plugboard's router with the app's own.
pub async fn app(config: Config) -> Result<(Host, Router), HostError> {
    let mut builder = Plugboard::builder(config)?;
    builder.handler(HealthPing::new())?;
    let chat = builder.handler(RoomChat::default())?;
    let host = builder.start().await?;
    let own = Router::new()
        .route("/", get(|| async { "my existing app" }))
        .route("/announcements", post(announce))
        .with_state(chat);
    Ok((host.clone(), own.merge(host.router())))
}
