//! The call operations shared by socket events, HTTP routes and the Rust host API, with
//! the store's compare-and-set first, the broadcasts ([`crate::broadcast`]) only when it
//! applied.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use crate::unsettled::Unsettled;
use crate::{
    Actor, Call, CallDeny, CallError, CallRef, CallStatus, CreateOutcome, EndReason, NewCall,
    Transition, TransitionOutcome,
};

/// Where a deny came from, for the fallback-rate counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Socket,
    Http,
    Host,
}

/// A call after an operation, and whether the operation had already happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallOutcome {
    /// The record after the operation.
    pub call: Call,
    /// True when nothing changed because it had happened before (repeated deny, cancel or
    /// end, or a request answered with the caller's open call).
    pub duplicate: bool,
}

impl CallOutcome {
    /// The ack body: `{ ok: true, callId, requestId, status, duplicate? }`.
    pub fn ack(&self) -> Value {
        let mut v = json!({
            "ok": true,
            "callId": self.call.call_id,
            "requestId": self.call.request_id,
            "status": self.call.status,
        });
        if self.duplicate {
            v["duplicate"] = json!(true);
        }
        v
    }
}

/// Now, ms since epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:032x}", rand::random::<u128>())
}

/// The Rust host API.
impl CallDeny {
    /// Creates a ringing call from `caller_id` (to `target_id`, or to every agent) and
    /// announces it; a caller's open call to the same target is returned instead
    /// (`duplicate: true`).
    pub async fn create_call(
        &self,
        caller_id: &str,
        target_id: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<CallOutcome, CallError> {
        self.check_id("callerId", caller_id)?;
        self.open_call(
            caller_id,
            target_id.map(Into::into),
            request_id.map(Into::into),
        )
        .await
    }

    /// Denies a ringing call, as `by` if given. Idempotent: a repeat answers `duplicate`.
    pub async fn deny(&self, call: &CallRef, by: Option<&str>) -> Result<CallOutcome, CallError> {
        let by = by.map(Into::into);
        self.deny_as(call, Actor::Host { by }, Via::Host).await
    }

    /// Accepts a ringing call for `agent_id`; the first accept wins.
    pub async fn accept(&self, call_id: &str, agent_id: &str) -> Result<CallOutcome, CallError> {
        self.check_id("agentId", agent_id)?;
        let by = Some(agent_id.to_owned());
        let call = self.call_ref(Some(call_id.into()), None)?;
        self.move_call(&call, CallStatus::Accepted, Actor::Host { by }, None)
            .await
    }

    /// Ends a live call (reason `hangup`), as `by` if given.
    pub async fn end(&self, call_id: &str, by: Option<&str>) -> Result<CallOutcome, CallError> {
        let by = by.map(Into::into);
        let call = self.call_ref(Some(call_id.into()), None)?;
        let reason = Some(EndReason::Hangup);
        self.move_call(&call, CallStatus::Ended, Actor::Host { by }, reason)
            .await
    }

    /// The record of a call (finished calls stay for `retention_ms`).
    pub async fn get(&self, call_id: &str) -> Result<Option<Call>, CallError> {
        let call = self.call_ref(Some(call_id.into()), None)?;
        Ok(self.store()?.get(&call).await?)
    }

    /// The calls in `status`, oldest first, at most `max_list`.
    pub async fn list(&self, status: CallStatus) -> Result<Vec<Call>, CallError> {
        Ok(self.store()?.list(status, self.cfg().max_list).await?)
    }
}

impl CallDeny {
    pub(crate) fn check_id(&self, field: &str, id: &str) -> Result<(), CallError> {
        let max = self.cfg().max_id_len;
        if id.is_empty() || id.chars().count() > max {
            return Err(CallError::Invalid(format!(
                "{field} must be a string of 1..={max} chars"
            )));
        }
        Ok(())
    }

    pub(crate) fn call_ref(
        &self,
        call_id: Option<String>,
        request_id: Option<String>,
    ) -> Result<CallRef, CallError> {
        if call_id.is_none() && request_id.is_none() {
            return Err(CallError::Invalid("callId or requestId is required".into()));
        }
        if let Some(id) = &call_id {
            self.check_id("callId", id)?;
        }
        if let Some(id) = &request_id {
            self.check_id("requestId", id)?;
        }
        Ok(CallRef {
            call_id,
            request_id,
        })
    }

    pub(crate) async fn open_call(
        &self,
        caller_id: &str,
        target_id: Option<String>,
        request_id: Option<String>,
    ) -> Result<CallOutcome, CallError> {
        if let Some(t) = &target_id {
            self.check_id("targetId", t)?;
            if t == caller_id {
                return Err(CallError::Invalid("targetId must not be the caller".into()));
            }
        }
        if let Some(r) = &request_id {
            self.check_id("requestId", r)?;
        }
        if self.io.get().is_none() {
            return Err(CallError::NotStarted);
        }
        let now = now_ms();
        let new = NewCall {
            call_id: new_id("call"),
            request_id: request_id.unwrap_or_else(|| new_id("req")),
            caller_id: caller_id.to_owned(),
            target_id,
            now_ms: now,
            ring_deadline_ms: now.saturating_add(self.cfg().ring_timeout_ms),
        };
        match self.store()?.create(new).await? {
            CreateOutcome::Created(call) => {
                tracing::info!(
                    handler = "call-deny",
                    event = "call:request",
                    user = caller_id,
                    call = call.call_id,
                    "call ringing"
                );
                self.announce(&call).await;
                Ok(CallOutcome {
                    call,
                    duplicate: false,
                })
            }
            CreateOutcome::Existing(call) => Ok(CallOutcome {
                call,
                duplicate: true,
            }),
            CreateOutcome::RequestIdTaken => Err(CallError::RequestIdTaken),
        }
    }

    pub(crate) async fn deny_as(
        &self,
        call: &CallRef,
        actor: Actor,
        via: Via,
    ) -> Result<CallOutcome, CallError> {
        let out = self
            .move_call(call, CallStatus::Denied, actor, None)
            .await?;
        self.counters.deny(via, out.duplicate);
        Ok(out)
    }

    /// One transition: the store's compare-and-set, then the broadcasts when it applied.
    pub(crate) async fn move_call(
        &self,
        call: &CallRef,
        to: CallStatus,
        actor: Actor,
        reason: Option<EndReason>,
    ) -> Result<CallOutcome, CallError> {
        if self.io.get().is_none() {
            return Err(CallError::NotStarted);
        }
        let now = now_ms();
        let max_call = self.cfg().max_call_ms;
        let t = Transition {
            to,
            actor,
            reason,
            now_ms: now,
            deadline_ms: (to == CallStatus::Accepted && max_call > 0)
                .then(|| now.saturating_add(max_call)),
        };
        let outcome = match self.store()?.transition(call, &t).await {
            Ok(outcome) => outcome,
            Err(e) => {
                // It may have been committed all the same (a reply that timed out): the
                // sweeper checks and announces it if so.
                self.unsettled.note(Unsettled::new(call, &t));
                return Err(e.into());
            }
        };
        match outcome {
            TransitionOutcome::Applied(call) => {
                tracing::info!(handler = "call-deny", call = call.call_id, status = call.status.as_str(), by = ?call.by, "call transition");
                self.counters.applied(call.status);
                self.announce(&call).await;
                Ok(CallOutcome {
                    call,
                    duplicate: false,
                })
            }
            TransitionOutcome::Duplicate(call) => Ok(CallOutcome {
                call,
                duplicate: true,
            }),
            TransitionOutcome::Conflict(call) => Err(CallError::Conflict {
                status: call.status,
            }),
            TransitionOutcome::Forbidden(_) => Err(CallError::Forbidden(format!(
                "not allowed to move this call to {}",
                to.as_str()
            ))),
            TransitionOutcome::NotFound => Err(CallError::NotFound),
        }
    }
}
