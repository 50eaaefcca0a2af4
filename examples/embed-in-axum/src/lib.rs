//! An existing axum application (a small CRM) that mounts plugboard next to its own routes.
//!
//! The app keeps its own routes (`GET /`, `POST /crm/{entity_type}/{entity_id}/notes`);
//! plugboard adds Socket.IO, `/healthz`, `/stats`, `/metrics` and the handlers' routes.
//! Creating a note calls the timeline handler's Rust API, fetched by type once at start-up,
//! so every frontend following that entity gets `timeline:new_item` at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use plugboard::{Config, Host, HostError, Plugboard};
use plugboard_health_ping::HealthPing;
use plugboard_timeline::Timeline;
use serde::Deserialize;
use serde_json::{Value, json};

/// The app's own state: the timeline handler and a note counter.
#[derive(Clone)]
struct Crm {
    timeline: Arc<Timeline>,
    next_id: Arc<AtomicU64>,
}

/// Body of `POST /crm/{entity_type}/{entity_id}/notes`.
#[derive(Deserialize)]
struct NewNote {
    text: String,
}

async fn create_note(
    State(crm): State<Crm>,
    Path((entity_type, entity_id)): Path<(String, String)>,
    Json(body): Json<NewNote>,
) -> (StatusCode, Json<Value>) {
    let id = crm.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let note = json!({ "id": format!("note-{id}"), "kind": "note", "text": body.text, "createdAt": created_at });
    // The app would store the note here; then it tells the entity's followers.
    match crm
        .timeline
        .broadcast_new_item(&entity_type, &entity_id, &note)
        .await
    {
        Ok(delivered) => (
            StatusCode::CREATED,
            Json(json!({ "ok": true, "note": note, "delivered": delivered })),
        ),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "ok": false, "error": e.to_string() })),
        ),
    }
}

/// Builds the host and the app router that merges plugboard's router with the app's own.
pub async fn app(config: Config) -> Result<(Host, Router), HostError> {
    let mut builder = Plugboard::builder(config)?;
    builder.handler(HealthPing::new())?;
    let timeline = builder.handler(Timeline::new())?;
    let host = builder.start().await?;
    let own = Router::new()
        .route("/", get(|| async { "my existing CRM" }))
        .route("/crm/{entity_type}/{entity_id}/notes", post(create_note))
        .with_state(Crm {
            timeline,
            next_id: Arc::default(),
        });
    Ok((host.clone(), own.merge(host.router())))
}
