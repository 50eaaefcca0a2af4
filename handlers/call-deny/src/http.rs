//! The HTTP API: seed 000's fallback (`PATCH /api/calls/{callId}`) and verification
//! (`GET /api/calls?status=ringing`), and `POST /api/calls` for host services.
//!
//! Authorized by `Authorization: Bearer <http.api_key>` (a host service) or, for agents,
//! `Authorization: Bearer <HS256 JWT>` signed with `auth.jwt_secret` whose `roles` hold the
//! agent role. With neither configured every route answers 404.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use plugboard::{ApiKey, InitContext, json_error};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Via;
use crate::{Actor, CallDeny, CallError, CallStatus};

/// Who may call the HTTP API.
#[derive(Clone)]
struct Auth {
    key: Option<ApiKey>,
    jwt: Option<Arc<(DecodingKey, Validation)>>,
    agent_role: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
}

impl Auth {
    /// The actor behind the request, or the error response.
    #[allow(clippy::result_large_err)]
    fn check(&self, headers: &HeaderMap) -> Result<Actor, Response> {
        if self.key.is_none() && self.jwt.is_none() {
            return Err(json_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "the call HTTP API is disabled: configure http.api_key or auth.jwt_secret",
            ));
        }
        if let Some(key) = &self.key
            && key.check(headers).is_ok()
        {
            return Ok(Actor::Host { by: None });
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let (Some(jwt), Some(token)) = (&self.jwt, bearer)
            && let Ok(data) = jsonwebtoken::decode::<Claims>(token, &jwt.0, &jwt.1)
        {
            let c = data.claims;
            if c.sub.is_empty() || !c.roles.contains(&self.agent_role) {
                return Err(json_error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the token must carry the agent role",
                ));
            }
            return Ok(Actor::User {
                id: c.sub,
                agent: true,
            });
        }
        Err(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer key or agent token",
        ))
    }
}

fn error(e: CallError) -> Response {
    let status = e.http_status();
    let body = plugboard::HandlerError::from(e).to_ack();
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: String) -> Response {
    error(CallError::Invalid(message))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, CallError> {
    serde_json::from_slice(body).map_err(|e| CallError::Invalid(format!("invalid body: {e}")))
}

/// `PATCH /api/calls/{callId}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    status: String,
}

/// `POST /api/calls` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PostBody {
    #[serde(default)]
    caller_id: Option<String>,
    #[serde(default)]
    target_id: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

async fn list(this: &CallDeny, q: &HashMap<String, String>) -> Result<Value, CallError> {
    let statuses = match q.get("status") {
        None => vec![CallStatus::Ringing, CallStatus::Accepted],
        Some(s) => vec![
            CallStatus::parse(s)
                .ok_or_else(|| CallError::Invalid(format!("unknown status `{s}`")))?,
        ],
    };
    let mut calls = Vec::new();
    for s in statuses {
        calls.extend(this.list(s).await?);
    }
    calls.truncate(this.cfg().max_list);
    Ok(json!({ "ok": true, "calls": calls }))
}

async fn patch(this: &CallDeny, actor: Actor, id: String, body: &Bytes) -> Response {
    let body: PatchBody = match parse(body) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    if body.status != "denied" {
        return bad_request(format!(
            "status must be \"denied\" (got \"{}\"); other transitions go over the socket",
            body.status
        ));
    }
    let call = match this.call_ref(Some(id), None) {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    match this.deny_as(&call, actor, Via::Http).await {
        Ok(out) => axum::Json(out.ack()).into_response(),
        Err(e) => error(e),
    }
}

async fn post(this: &CallDeny, actor: Actor, body: &Bytes) -> Response {
    let body: PostBody = match parse(body) {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    let caller = match (&actor, body.caller_id) {
        (Actor::User { id, .. }, Some(c)) if c != *id => {
            return error(CallError::Forbidden(
                "an agent token may only create calls as its own user".into(),
            ));
        }
        (Actor::User { id, .. }, _) => id.clone(),
        (_, Some(c)) => c,
        (_, None) => return bad_request("callerId is required".into()),
    };
    if let Err(e) = this.check_id("callerId", &caller) {
        return error(e);
    }
    match this
        .open_call(&caller, body.target_id, body.request_id)
        .await
    {
        Ok(out) => {
            let status = if out.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut ack = out.ack();
            ack["call"] = json!(out.call);
            (status, axum::Json(ack)).into_response()
        }
        Err(e) => error(e),
    }
}

/// Declares the routes.
pub(crate) fn routes(
    this: &Arc<CallDeny>,
    cx: &mut InitContext<'_>,
) -> Result<(), plugboard::HostError> {
    let secret = &cx.app_config().auth.jwt_secret;
    let jwt = (!secret.is_empty()).then(|| {
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims = ["sub".to_owned()].into_iter().collect();
        v.leeway = 5;
        Arc::new((DecodingKey::from_secret(secret.as_bytes()), v))
    });
    let auth = Auth {
        key: cx.api_key(),
        jwt,
        agent_role: this.cfg().agent_role.clone(),
    };

    let (t1, a1, t2, a2) = (this.clone(), auth.clone(), this.clone(), auth.clone());
    let collection = get(
        move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| {
            let (this, auth) = (t1.clone(), a1.clone());
            async move {
                if let Err(r) = auth.check(&headers) {
                    return r;
                }
                match list(&this, &q).await {
                    Ok(v) => axum::Json(v).into_response(),
                    Err(e) => error(e),
                }
            }
        },
    )
    .post(move |headers: HeaderMap, body: Bytes| {
        let (this, auth) = (t2.clone(), a2.clone());
        async move {
            match auth.check(&headers) {
                Ok(actor) => post(&this, actor, &body).await,
                Err(r) => r,
            }
        }
    });
    cx.route("/api/calls", collection)?;

    let (t1, a1, t2, a2) = (this.clone(), auth.clone(), this.clone(), auth);
    let one = get(move |headers: HeaderMap, Path(id): Path<String>| {
        let (this, auth) = (t1.clone(), a1.clone());
        async move {
            if let Err(r) = auth.check(&headers) {
                return r;
            }
            match this.get(&id).await {
                Ok(Some(call)) => axum::Json(json!({ "ok": true, "call": call })).into_response(),
                Ok(None) => error(CallError::NotFound),
                Err(e) => error(e),
            }
        }
    })
    .patch(
        move |headers: HeaderMap, Path(id): Path<String>, body: Bytes| {
            let (this, auth) = (t2.clone(), a2.clone());
            async move {
                match auth.check(&headers) {
                    Ok(actor) => patch(&this, actor, id, &body).await,
                    Err(r) => r,
                }
            }
        },
    );
    cx.route("/api/calls/{call_id}", one)?;
    Ok(())
}
