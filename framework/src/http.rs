//! Built-in HTTP endpoints (`/healthz`, `/stats`, `/metrics`) and the router assembly.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::core::Core;

/// Produces the `/stats` document.
pub(crate) type StatsFn = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send>> + Send + Sync,
>;

pub(crate) fn router(
    core: &Arc<Core>,
    handler_routes: Router,
    layer: crate::adapter::AnyLayer,
    stats: StatsFn,
) -> Router {
    let limited = handler_routes.layer(RequestBodyLimitLayer::new(core.config.http.max_body_bytes));
    let builtin = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(core.clone())
        .route(
            "/stats",
            get(move || {
                let stats = stats.clone();
                async move { Json(stats().await) }
            }),
        );
    let merged = limited.merge(builtin);
    let mut router = match layer {
        crate::adapter::Either::Local(layer) => merged.layer(layer),
        crate::adapter::Either::Redis(layer) => merged.layer(layer),
    };
    if let Some(cors) = cors(&core.config.cors_origins) {
        router = router.layer(cors);
    }
    router
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods(Any)
            .allow_headers(Any),
    )
}

/// `200 { status: "ok" }`; `503 { status: "shutting_down" }` while stopping; on a
/// cluster whose Redis is unreachable `503 { status: "degraded", redis: { up: false,
/// error } }`: the node still serves its sockets (stateless events work, stateful ones
/// answer `unavailable`) and reconnects by itself.
async fn healthz(State(core): State<Arc<Core>>) -> impl IntoResponse {
    if core.is_shutting_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "shutting_down" })),
        );
    }
    match &core.node {
        None => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Some(node) if node.redis.is_up() => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "node": node.redis.node_id(), "redis": { "up": true } })),
        ),
        Some(node) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "degraded",
                "node": node.redis.node_id(),
                "redis": { "up": false, "error": node.redis.health().last_error() },
            })),
        ),
    }
}

async fn metrics(State(core): State<Arc<Core>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        core.metrics.encode(),
    )
}
