//! Bearer-key check for handler HTTP APIs.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::HttpConfig;

/// The configured API key; `check` compares a request's `Authorization: Bearer ..` with it
/// in constant time.
#[derive(Clone)]
pub struct ApiKey(Arc<[u8]>);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

impl ApiKey {
    pub(crate) fn from_config(cfg: &HttpConfig) -> Option<Self> {
        (!cfg.api_key.is_empty()).then(|| Self(Arc::from(cfg.api_key.as_bytes())))
    }

    /// A key from a string, for hosts and tests.
    pub fn new(key: &str) -> Self {
        Self(Arc::from(key.as_bytes()))
    }

    /// `Ok` when the request carries the key, else a 401 JSON response.
    #[allow(clippy::result_large_err)]
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Response> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::as_bytes)
            .unwrap_or_default();
        if constant_time_eq(given, &self.0) {
            Ok(())
        } else {
            Err(json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong bearer key",
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON error response `{ ok: false, error: { code, message } }`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "ok": false, "error": { "code": code, "message": message } })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_key_passes() {
        let key = ApiKey::new("k1");
        let mut h = HeaderMap::new();
        assert!(key.check(&h).is_err());
        h.insert(header::AUTHORIZATION, "Bearer k2".parse().unwrap());
        assert!(key.check(&h).is_err());
        h.insert(header::AUTHORIZATION, "Bearer k1".parse().unwrap());
        assert!(key.check(&h).is_ok());
    }
}
