//! Match and staged-call events: `join-match`, `request-call`, `accept-call`, `end-call`.

use std::sync::Arc;

use plugboard::{HandlerError, InitContext, Reply, Socket};
use serde::Deserialize;
use serde_json::json;

use crate::LiveQueue;
use crate::handler::{Counters, HANDLER};
use crate::store::{CallError, Requested};

const MAX_ID: usize = 128;
const MAX_STAGE: usize = 64;

/// `request-call` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    /// The match (a queue match, or any id the two users share for a staged call).
    pub match_id: String,
    /// Who to ring.
    pub callee_id: String,
    /// The app's call stage (e.g. `intro`, `video`).
    pub stage: String,
}

/// `accept-call` / `end-call` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchRef {
    /// The match.
    pub match_id: String,
}

/// `join-match` payload: the seed sends the bare id; `{ matchId }` is accepted too.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum JoinMatch {
    /// `"m_..."`.
    Id(String),
    /// `{ "matchId": "m_..." }`.
    Ref(MatchRef),
}

fn check_id(field: &str, v: &str, max: usize) -> Result<(), HandlerError> {
    if v.trim().is_empty() || v.len() > max {
        return Err(HandlerError::invalid(format!(
            "{field} must be a non-empty string of at most {max} bytes"
        )));
    }
    Ok(())
}

/// The wire error for a refused call operation.
pub(crate) fn call_error(e: &CallError) -> HandlerError {
    match e {
        CallError::CallerBusy(s) | CallError::CalleeBusy(s) => {
            HandlerError::busy(e.to_string()).with_detail("status", s.status.as_str())
        }
        CallError::InProgress => HandlerError::conflict(e.to_string()),
        CallError::Forbidden => HandlerError::forbidden(e.to_string()),
        _ => HandlerError::not_found(e.to_string()),
    }
}

pub(crate) fn register(
    this: &Arc<LiveQueue>,
    cx: &mut InitContext<'_>,
) -> Result<(), plugboard::HostError> {
    let h = this.clone();
    cx.on("join-match", move |socket, req: JoinMatch| {
        let h = h.clone();
        async move { h.join_match(socket, req).await }
    })?;
    let h = this.clone();
    cx.on("request-call", move |socket, req: CallRequest| {
        let h = h.clone();
        async move { h.request_call(socket, req).await }
    })?;
    let h = this.clone();
    cx.on("accept-call", move |socket, req: MatchRef| {
        let h = h.clone();
        async move { h.accept_call(socket, req).await }
    })?;
    let h = this.clone();
    cx.on("end-call", move |socket, req: MatchRef| {
        let h = h.clone();
        async move { h.end_call(socket, req).await }
    })?;
    Ok(())
}

impl LiveQueue {
    /// A callee that went away while being rung gets the rejoin grace like any party.
    async fn guard_offline(&self, user: &str) {
        let Some(rt) = self.rt.get() else { return };
        if !rt.sessions.is_connected(user).await.unwrap_or(true) {
            self.timers.schedule(
                user,
                tokio::time::Instant::now() + self.cfg().rejoin_grace(),
            );
        }
    }

    async fn join_match(self: Arc<Self>, socket: Socket, req: JoinMatch) -> Reply {
        let match_id = match req {
            JoinMatch::Id(id) | JoinMatch::Ref(MatchRef { match_id: id }) => id,
        };
        check_id("matchId", &match_id, MAX_ID)?;
        let user = socket.user_id();
        let parties = self.store().parties(&match_id).await?;
        if !parties.is_some_and(|p| p.iter().any(|u| u == user)) {
            return Err(HandlerError::forbidden("you are not a party of this match"));
        }
        socket.join(format!("match:{match_id}"));
        self.timers.cancel(user);
        Ok(json!({ "ok": true, "matchId": match_id }))
    }

    async fn request_call(self: Arc<Self>, socket: Socket, req: CallRequest) -> Reply {
        check_id("matchId", &req.match_id, MAX_ID)?;
        check_id("calleeId", &req.callee_id, MAX_ID)?;
        check_id("stage", &req.stage, MAX_STAGE)?;
        let caller = socket.user_id();
        if req.callee_id == caller {
            return Err(HandlerError::invalid("calleeId must be another user"));
        }
        let connected = match self.rt.get() {
            Some(rt) => rt
                .sessions
                .is_connected(&req.callee_id)
                .await
                .map_err(|e| staged(e.into()))?,
            None => false,
        };
        if !connected {
            return Err(staged(HandlerError::not_found("User is offline")));
        }
        let outcome = self
            .store()
            .request_call(&req.match_id, caller, &req.callee_id, &req.stage)
            .await
            .map_err(|e| staged(e.into()))?;
        match outcome {
            Ok(Requested::Ringing) => {
                self.guard_offline(&req.callee_id).await;
                let data =
                    json!({ "matchId": req.match_id, "callerId": caller, "stage": req.stage });
                self.emit_users(&[&req.callee_id], "incoming-call", &data)
                    .await;
                Ok(json!({ "ok": true, "status": "ringing", "matchId": req.match_id }))
            }
            Ok(Requested::Merged {
                stage,
                participants,
            }) => {
                Counters::bump(&self.counters.glare_merges);
                tracing::info!(handler = HANDLER, event = "request-call", socket = %socket.id(), user = caller, match_id = %req.match_id, "simultaneous requests merged into one call");
                let data = json!({ "matchId": req.match_id, "stage": stage, "participants": participants });
                self.emit_users(&[&participants[0], &participants[1]], "call-started", &data)
                    .await;
                Ok(json!({ "ok": true, "status": "in-call", "matchId": req.match_id }))
            }
            Err(e) => {
                if matches!(
                    e,
                    CallError::CallerBusy(_) | CallError::CalleeBusy(_) | CallError::InProgress
                ) {
                    Counters::bump(&self.counters.cas_conflicts);
                }
                Err(staged(call_error(&e)))
            }
        }
    }

    async fn accept_call(self: Arc<Self>, socket: Socket, req: MatchRef) -> Reply {
        check_id("matchId", &req.match_id, MAX_ID)?;
        let user = socket.user_id();
        match self.store().accept_call(&req.match_id, user).await? {
            Ok(started) => {
                let [a, b] = &started.participants;
                let data = json!({ "matchId": req.match_id, "stage": started.stage, "participants": started.participants });
                self.emit_users(&[a, b], "call-started", &data).await;
                Ok(json!({ "ok": true, "status": "in-call", "matchId": req.match_id }))
            }
            Err(e) => {
                if matches!(e, CallError::InProgress) {
                    Counters::bump(&self.counters.cas_conflicts);
                }
                Err(call_error(&e))
            }
        }
    }

    async fn end_call(self: Arc<Self>, socket: Socket, req: MatchRef) -> Reply {
        check_id("matchId", &req.match_id, MAX_ID)?;
        let user = socket.user_id();
        let ended = self
            .store()
            .end(&req.match_id, user)
            .await?
            .map_err(|e| call_error(&e))?;
        for party in &ended.parties {
            self.timers.cancel(party);
        }
        self.announce_ended(&ended, "hangup").await;
        Ok(json!({ "ok": true, "status": "available", "matchId": req.match_id }))
    }
}

/// `request-call` errors reach the ack when the client sent one, else the frontend's own
/// `staged-call-error` `{ error, code }` event (not `plugboard:error`).
fn staged(err: HandlerError) -> HandlerError {
    let payload = json!({ "error": err.message, "code": err.code.as_str() });
    err.or_emit("staged-call-error", payload)
}
