//! `POST /api/timeline/{entityType}/{entityId}`: the publish API for host services not
//! written in Rust.
//!
//! Body: `{ type: "new_item" | "item_updated" | "item_deleted" | "refresh" | "bulk_update",
//! item?, itemId?, items? }`, authorized by `Authorization: Bearer <http.api_key>`.
//! Answers `200 { ok: true, delivered }`; `400` with `error.field` naming the bad field;
//! `401` on a missing or wrong key; `404` when no key is configured (the API is off);
//! `413` when the body exceeds `http.max_body_bytes`; `503` (`unavailable`) when the
//! store is unreachable (Redis down), `500` (`internal`) when it answers an error.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use plugboard::{ApiKey, json_error};
use serde_json::{Value, json};

use crate::{StoreError, Timeline, TimelineError};

/// The route path (axum syntax).
pub(crate) const PUBLISH_PATH: &str = "/api/timeline/{entity_type}/{entity_id}";

/// One publish request, validated.
#[derive(Debug, Clone, PartialEq)]
enum Publish {
    NewItem(Value),
    ItemUpdated(Value),
    ItemDeleted(String),
    Refresh,
    BulkUpdate(Vec<Value>),
}

/// A 400 naming the field at fault.
fn bad_field(field: &str, message: &str) -> Response {
    let body = json!({
        "ok": false,
        "error": { "code": "invalid_payload", "message": message, "field": field },
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn parse(body: &[u8]) -> Result<Publish, (&'static str, String)> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ("body", format!("body must be a JSON object: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(("body", "body must be a JSON object".into()));
    };
    let kind = match obj.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(("type", "type must be a string".into())),
        None => return Err(("type", "missing field `type`".into())),
    };
    let object = |obj: &mut serde_json::Map<String, Value>| match obj.remove("item") {
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(("item", "item must be a JSON object".to_owned())),
        None => Err((
            "item",
            format!("missing field `item` (required for type `{kind}`)"),
        )),
    };
    match kind.as_str() {
        "new_item" => object(&mut obj).map(Publish::NewItem),
        "item_updated" => object(&mut obj).map(Publish::ItemUpdated),
        "item_deleted" => match obj.remove("itemId") {
            Some(Value::String(s)) if !s.is_empty() => Ok(Publish::ItemDeleted(s)),
            Some(_) => Err(("itemId", "itemId must be a non-empty string".into())),
            None => Err((
                "itemId",
                "missing field `itemId` (required for type `item_deleted`)".into(),
            )),
        },
        "refresh" => Ok(Publish::Refresh),
        "bulk_update" => match obj.remove("items") {
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => {
                Ok(Publish::BulkUpdate(items))
            }
            Some(_) => Err(("items", "items must be an array of JSON objects".into())),
            None => Err((
                "items",
                "missing field `items` (required for type `bulk_update`)".into(),
            )),
        },
        _ => Err((
            "type",
            "type must be one of: new_item, item_updated, item_deleted, refresh, bulk_update"
                .into(),
        )),
    }
}

async fn publish(
    timeline: &Timeline,
    key: Option<&ApiKey>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(key) = key else {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the timeline publish API is off: configure http.api_key to enable it",
        );
    };
    if let Err(unauthorized) = key.check(headers) {
        return unauthorized;
    }
    let Path((entity_type, entity_id)) = match path {
        Ok(p) => p,
        Err(e) => return bad_field("path", &e.body_text()),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return json_error(e.status(), "invalid_payload", &e.body_text()),
    };
    let request = match parse(&body) {
        Ok(r) => r,
        Err((field, message)) => return bad_field(field, &message),
    };
    let (t, id) = (entity_type.as_str(), entity_id.as_str());
    let result = match &request {
        Publish::NewItem(item) => timeline.broadcast_new_item(t, id, item).await,
        Publish::ItemUpdated(item) => timeline.broadcast_item_updated(t, id, item).await,
        Publish::ItemDeleted(item_id) => timeline.broadcast_item_deleted(t, id, item_id).await,
        Publish::Refresh => timeline.request_refresh(t, id).await,
        Publish::BulkUpdate(items) => timeline.broadcast_bulk_update(t, id, items).await,
    };
    match result {
        Ok(delivered) => Json(json!({ "ok": true, "delivered": delivered })).into_response(),
        Err(TimelineError::Store(e)) => {
            tracing::warn!(handler = "timeline", event = "http:publish", error = %e, "publish failed");
            let (status, code) = match e {
                StoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            };
            json_error(status, code, &e.to_string())
        }
        Err(e) => bad_field(e.field().unwrap_or("body"), &e.to_string()),
    }
}

/// The POST route; `key` is `None` when no API key is configured (every call answers 404).
pub(crate) fn publish_route(timeline: Arc<Timeline>, key: Option<ApiKey>) -> MethodRouter {
    post(
        move |path: Result<Path<(String, String)>, PathRejection>,
              headers: HeaderMap,
              body: Result<Bytes, BytesRejection>| {
            let timeline = timeline.clone();
            let key = key.clone();
            async move { publish(&timeline, key.as_ref(), path, &headers, body).await }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> &'static str {
        parse(body.as_bytes()).unwrap_err().0
    }

    #[test]
    fn each_type_needs_its_own_field() {
        assert_eq!(
            parse(br#"{"type":"new_item","item":{"a":1}}"#).unwrap(),
            Publish::NewItem(json!({"a":1}))
        );
        assert_eq!(
            parse(br#"{"type":"item_deleted","itemId":"i1"}"#).unwrap(),
            Publish::ItemDeleted("i1".into())
        );
        assert_eq!(parse(br#"{"type":"refresh"}"#).unwrap(), Publish::Refresh);
        assert_eq!(
            parse(br#"{"type":"bulk_update","items":[]}"#).unwrap(),
            Publish::BulkUpdate(vec![])
        );
        assert_eq!(field(r#"{"type":"new_item"}"#), "item");
        assert_eq!(field(r#"{"type":"item_updated","item":[1]}"#), "item");
        assert_eq!(field(r#"{"type":"item_deleted","itemId":""}"#), "itemId");
        assert_eq!(field(r#"{"type":"item_deleted","itemId":5}"#), "itemId");
        assert_eq!(field(r#"{"type":"bulk_update","items":{}}"#), "items");
        assert_eq!(field(r#"{"type":"bulk_update","items":[1]}"#), "items");
    }

    #[test]
    fn bodies_without_a_known_type_are_refused() {
        assert_eq!(field("not json"), "body");
        assert_eq!(field("[]"), "body");
        assert_eq!(field("{}"), "type");
        assert_eq!(field(r#"{"type":3}"#), "type");
        assert_eq!(field(r#"{"type":"delete_all"}"#), "type");
    }
}
