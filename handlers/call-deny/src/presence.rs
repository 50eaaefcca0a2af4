//! Seed 003: when a party's last socket goes away (tabs counted), after the configured
//! grace, its ringing calls are cancelled and its live calls end with
//! `peer_disconnected`; a reconnect within the grace keeps them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use plugboard::{DisconnectReason, Socket};

use crate::{Actor, CallDeny, CallError, CallRef, CallStatus, EndReason};

impl CallDeny {
    /// A socket left. When it was its user's last one, the user's calls are cancelled or
    /// ended, at once or after the grace (a reconnect within it keeps them).
    ///
    /// Not on server shutdown: the clients reconnect (to this node restarted or, with a
    /// shared store, to another one) and their calls must survive that.
    pub(crate) async fn on_socket_gone(self: Arc<Self>, socket: Socket, reason: DisconnectReason) {
        if reason == DisconnectReason::ClosingServer {
            return;
        }
        let user = socket.user_id().to_owned();
        let Some(sessions) = self.sessions.get().cloned() else {
            return;
        };
        if sessions.is_connected(&user).await.unwrap_or(true) {
            return;
        }
        match self.store.open_calls_of(&user).await {
            Ok(calls) if calls.is_empty() => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(handler = "call-deny", user, error = %e, "cannot read calls of a leaving user");
                return;
            }
        }
        let grace = self.cfg().disconnect_grace_ms;
        if grace == 0 {
            self.party_gone(&user).await;
            return;
        }
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
        self.pending.lock().insert(user.clone(), epoch);
        let stop = self.stop.get().cloned().unwrap_or_default();
        let this = self.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_millis(grace)) => {}
            }
            let mine = {
                let mut p = this.pending.lock();
                let mine = p.get(&user) == Some(&epoch);
                if mine {
                    p.remove(&user);
                }
                mine
            };
            if mine && !stop.is_cancelled() && !sessions.is_connected(&user).await.unwrap_or(true) {
                this.party_gone(&user).await;
            }
        });
    }

    /// Cancels the ringing calls of a user who is gone and ends their live calls
    /// (`peer_disconnected`, the other party told at once).
    async fn party_gone(&self, user: &str) {
        let calls = match self.store.open_calls_of(user).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(handler = "call-deny", user, error = %e, "cannot read calls of a leaving user");
                return;
            }
        };
        let actor = Actor::User {
            id: user.to_owned(),
            agent: false,
        };
        for call in calls {
            let (to, reason) = match call.status {
                CallStatus::Ringing if call.caller_id == user => (CallStatus::Cancelled, None),
                CallStatus::Accepted => (CallStatus::Ended, Some(EndReason::PeerDisconnected)),
                _ => continue,
            };
            let r = CallRef::id(call.call_id.clone());
            match self.move_call(&r, to, actor.clone(), reason).await {
                Ok(_) | Err(CallError::Conflict { .. }) | Err(CallError::NotFound) => {}
                Err(e) => {
                    tracing::warn!(handler = "call-deny", user, call = call.call_id, error = %e, "clean-up of a leaving user's call failed");
                }
            }
        }
    }
}
