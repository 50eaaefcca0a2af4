//! Queue events: `live-call:join-queue`, `live-call:leave-queue`, `live-call:queue-heartbeat`.

use std::sync::Arc;

use plugboard::{HandlerError, InitContext, Reply, Socket};
use serde_json::{Value, json};

use crate::handler::{Counters, HANDLER};
use crate::store::Preferences;
use crate::{BusyState, LiveQueue, Status};

/// Longest accepted `language` preference.
const MAX_LANGUAGE: usize = 35;

pub(crate) fn register(
    this: &Arc<LiveQueue>,
    cx: &mut InitContext<'_>,
) -> Result<(), plugboard::HostError> {
    let h = this.clone();
    cx.on(
        "live-call:join-queue",
        move |socket, prefs: Option<Preferences>| {
            let h = h.clone();
            async move { h.join_queue(socket, prefs.unwrap_or_default()).await }
        },
    )?;
    let h = this.clone();
    cx.on("live-call:leave-queue", move |socket, _: Value| {
        let h = h.clone();
        async move { h.leave_queue(socket).await }
    })?;
    let h = this.clone();
    cx.on("live-call:queue-heartbeat", move |socket, _: Value| {
        let h = h.clone();
        async move { h.heartbeat(socket).await }
    })?;
    Ok(())
}

/// Checks and normalizes preferences; an empty language means "any".
pub(crate) fn validate(mut prefs: Preferences) -> Result<Preferences, HandlerError> {
    if let Some(lang) = prefs.language.take() {
        let lang = lang.trim().to_owned();
        if lang.chars().count() > MAX_LANGUAGE
            || !lang
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(HandlerError::invalid(format!(
                "preferences.language must be at most {MAX_LANGUAGE} letters, digits, '-' or '_'"
            )));
        }
        prefs.language = (!lang.is_empty()).then_some(lang);
    }
    Ok(prefs)
}

/// `busy` naming the status that blocks the user.
pub(crate) fn busy(state: &BusyState) -> HandlerError {
    HandlerError::busy(format!("you are {}", state.status.as_str()))
        .with_detail("status", state.status.as_str())
}

impl LiveQueue {
    async fn join_queue(self: Arc<Self>, socket: Socket, prefs: Preferences) -> Reply {
        let prefs = validate(prefs)?;
        let user = socket.user_id();
        let name = &socket.identity().name;
        match self.store().join(user, name, &prefs).await? {
            Ok(joined) => {
                self.timers.cancel(user);
                self.request_match(user);
                tracing::debug!(handler = HANDLER, event = "live-call:join-queue", socket = %socket.id(), user, position = joined.position, new = joined.new, "queueing");
                Ok(json!({ "ok": true, "status": "queueing", "position": joined.position }))
            }
            Err(state) => {
                Counters::bump(&self.counters.cas_conflicts);
                Err(busy(&state))
            }
        }
    }

    async fn leave_queue(self: Arc<Self>, socket: Socket) -> Reply {
        let user = socket.user_id();
        match self.store().leave(user).await? {
            Ok(_) => {
                self.timers.cancel(user);
                Ok(json!({ "ok": true, "status": "available" }))
            }
            Err(state) => {
                Counters::bump(&self.counters.cas_conflicts);
                Err(HandlerError::conflict(format!(
                    "not in the queue: you are {}",
                    state.status.as_str()
                ))
                .with_detail("status", state.status.as_str()))
            }
        }
    }

    async fn heartbeat(self: Arc<Self>, socket: Socket) -> Reply {
        let user = socket.user_id();
        let store = self.store();
        // The epoch first (it moves no user): an unreachable store is found out before
        // the refresh and the resume, so a failed heartbeat changed nothing.
        let epoch = store.epoch().await?;
        store.touch(user).await?;
        if store.resume(user).await? {
            self.timers.cancel(user);
            self.request_match(user);
        }
        let state = store.state(user).await?;
        let position = match state.status {
            Status::Queueing => store.position(user).await?,
            _ => None,
        };
        let mut status = json!({
            "inQueue": position.is_some(),
            "status": state.status.as_str(),
            "serverEpoch": epoch,
        });
        if let Some(p) = position {
            status["position"] = json!(p);
        }
        socket.emit("live-call:queue-status", &status);
        status["ok"] = json!(true);
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_is_trimmed_and_checked() {
        let ok = validate(Preferences {
            language: Some(" en-US ".into()),
        })
        .unwrap();
        assert_eq!(ok.language.as_deref(), Some("en-US"));
        let any = validate(Preferences {
            language: Some("  ".into()),
        })
        .unwrap();
        assert_eq!(any.language, None);
        let bad = validate(Preferences {
            language: Some("en; drop".into()),
        })
        .unwrap_err();
        assert!(
            bad.message.contains("preferences.language"),
            "{}",
            bad.message
        );
    }
}
