//! Seed 003: when a party's last socket goes away (tabs counted, on every node), after the
//! configured grace, its ringing calls are cancelled and its live calls end with
//! `peer_disconnected`; a reconnect within the grace keeps them.
//!
//! The grace is not a timer of the node that saw the disconnect: it is a departure kept
//! in the store ([`CallStore::schedule_departure`](crate::CallStore::schedule_departure)),
//! claimed by whichever node sweeps first once it is due. So:
//!
//! - a node that dies while a grace runs loses nothing: another node's sweep handles the
//!   departure (its claim, if it had one, lapses after [`CLAIM_LEASE_MS`]);
//! - a node that dies with sockets on it: the framework's reaper on a live node runs this
//!   hook for each of them with reason `node_down`, which schedules the departure like
//!   any disconnect;
//! - a departure whose handling meets a store error is not settled: its claim lapses and
//!   the next sweep after [`CLAIM_LEASE_MS`] tries again, until it succeeds;
//! - a store error while the hook itself runs (is the user still connected? which calls?)
//!   keeps the calls: the framework runs the hook again once Redis is back; a clean-up
//!   without grace that fails half-way is scheduled as a departure due at once.
//!
//! Ringing calls also end by their ring deadline and live calls by `max_call_ms` (when
//! set) whatever happens to any node.

use std::sync::Arc;

use plugboard::{DisconnectReason, Socket};

use crate::api::now_ms;
use crate::{Actor, CallDeny, CallError, CallRef, CallStatus, Departure, EndReason};

/// How long a node holds a claimed departure before another node may take it over (it
/// died or met an error): also the retry delay after an error.
pub(crate) const CLAIM_LEASE_MS: u64 = 5_000;

impl CallDeny {
    /// A socket left. When it was its user's last one (in the cluster), the user's calls
    /// are cancelled or ended at once, or a departure is scheduled after the grace.
    ///
    /// Server shutdown (`closing_server`) schedules the departure after
    /// `shutdown_grace_ms` instead: the clients reconnect (to this node restarted or, with
    /// a shared store, to another one) and their calls must survive that; a party that
    /// does not come back is treated as gone.
    pub(crate) async fn on_socket_gone(self: Arc<Self>, socket: Socket, reason: DisconnectReason) {
        let user = socket.user_id().to_owned();
        let cfg = self.cfg();
        let wait = match reason {
            DisconnectReason::ClosingServer if cfg.shutdown_grace_ms == 0 => return,
            DisconnectReason::ClosingServer => cfg.shutdown_grace_ms.max(cfg.disconnect_grace_ms),
            _ => cfg.disconnect_grace_ms,
        };
        let (Ok(store), Some(sessions)) = (self.store(), self.sessions.get()) else {
            return;
        };
        match sessions.is_connected(&user).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(handler = "call-deny", user, %reason, error = %e, "cannot tell whether a leaving user is still connected; calls kept until the store answers");
                return;
            }
        }
        match store.open_calls_of(&user).await {
            Ok(calls) if calls.is_empty() => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(handler = "call-deny", user, %reason, error = %e, "cannot read calls of a leaving user; calls kept until the store answers");
                return;
            }
        }
        if wait == 0 {
            match self.party_gone(&user).await {
                Ok(()) => return,
                // Handed to the sweep, which retries until it succeeds.
                Err(e) => {
                    tracing::warn!(handler = "call-deny", user, %reason, error = %e, "clean-up of a leaving user failed; the sweep retries")
                }
            }
        }
        let due = now_ms().saturating_add(wait);
        match store.schedule_departure(&user, due).await {
            Ok(()) => {
                tracing::debug!(handler = "call-deny", user, %reason, wait_ms = wait, "departure scheduled")
            }
            Err(e) => {
                tracing::warn!(handler = "call-deny", user, %reason, error = %e, "departure not scheduled; the framework runs this clean-up again when the store answers")
            }
        }
    }

    /// Handles the departures due at `now`: a user still gone has their calls cleaned up,
    /// a user back keeps them. A departure that meets an error stays claimed and comes
    /// back after [`CLAIM_LEASE_MS`].
    pub(crate) async fn settle_departures(&self, now: u64, limit: usize) {
        let (Ok(store), Some(sessions)) = (self.store(), self.sessions.get()) else {
            return;
        };
        let due = match store.claim_departures(now, CLAIM_LEASE_MS, limit).await {
            Ok(due) => due,
            Err(e) => {
                crate::sweep::sweep_failed("departures", &e);
                return;
            }
        };
        for d in due {
            let done = match sessions.is_connected(&d.user).await {
                Ok(true) => Ok(()),
                Ok(false) => self.party_gone(&d.user).await,
                Err(e) => Err(e.into()),
            };
            self.settle(d, done).await;
        }
    }

    async fn settle(&self, d: Departure, done: Result<(), CallError>) {
        let Departure { user, .. } = &d;
        if let Err(e) = done {
            tracing::warn!(handler = "call-deny", user, error = %e, retry_ms = CLAIM_LEASE_MS, "departure not handled; retried");
            return;
        }
        if let Ok(store) = self.store()
            && let Err(e) = store.settle_departure(&d).await
        {
            tracing::warn!(handler = "call-deny", user, error = %e, "departure handled but not settled; it is checked again");
        }
    }

    /// Cancels the ringing calls of a user who is gone and ends their live calls
    /// (`peer_disconnected`, the other party told at once). Fails on the first store error
    /// (what applied before it stays applied and announced; a retry skips it).
    async fn party_gone(&self, user: &str) -> Result<(), CallError> {
        let calls = self.store()?.open_calls_of(user).await?;
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
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
