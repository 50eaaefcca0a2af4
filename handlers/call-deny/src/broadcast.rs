//! Server -> client events: what each applied transition (or new call) tells whom,
//! exactly once per transition.

use plugboard::user_room;
use serde_json::{Value, json};

use crate::handler::AGENTS_ROOM;
use crate::{Call, CallDeny, CallStatus};

/// Adds `by` when known (the wire omits it otherwise).
fn with_by(mut v: Value, by: &Option<String>) -> Value {
    if let Some(by) = by {
        v["by"] = json!(by);
    }
    v
}

impl CallDeny {
    /// The broadcasts of a transition that just applied (or of a new call).
    pub(crate) async fn announce(&self, call: &Call) {
        let Some(io) = self.io.get() else { return };
        let listeners = match &call.target_id {
            Some(t) => user_room(t),
            None => AGENTS_ROOM.to_owned(),
        };
        let caller = user_room(&call.caller_id);
        let id = &call.call_id;
        let removed = |reason: &str| with_by(json!({ "callId": id, "reason": reason }), &call.by);
        match call.status {
            CallStatus::Ringing => {
                io.to(listeners)
                    .emit("call:incoming", &json!({ "call": call }))
                    .await;
            }
            CallStatus::Accepted => {
                io.to(listeners)
                    .emit("call:removed", &removed("accepted"))
                    .await;
                let body = json!({ "callId": id, "by": call.agent_id });
                io.to(caller).emit("call:accepted", &body).await;
            }
            CallStatus::Denied => {
                io.to(listeners)
                    .emit("call:removed", &removed("denied"))
                    .await;
                io.to(caller)
                    .emit("call:denied", &json!({ "callId": id }))
                    .await;
            }
            CallStatus::Missed => {
                io.to(listeners)
                    .emit("call:removed", &removed("missed"))
                    .await;
                io.to(caller)
                    .emit("call:missed", &json!({ "callId": id }))
                    .await;
            }
            CallStatus::Cancelled => {
                io.to(listeners)
                    .emit("call:removed", &removed("cancelled"))
                    .await;
            }
            CallStatus::Ended => {
                let mut parties = io.to(caller);
                if let Some(agent) = &call.agent_id {
                    parties = parties.to(user_room(agent));
                }
                let body = json!({ "callId": id, "reason": call.ended_reason });
                let body = with_by(body, &call.by);
                parties.emit("call:ended", &body).await;
            }
        }
    }
}
