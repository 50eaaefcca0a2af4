//! The sweeper, on every node every `sweep_interval_ms`: transitions whose outcome is
//! unknown ([`crate::unsettled`]), ring and call timeouts, due departures
//! ([`crate::presence`]), and the retention purge. Every action is one atomic
//! step of the store, so when several nodes sweep at once exactly one applies each
//! transition and announces it.

use std::sync::Arc;

use plugboard::StoreError;

use crate::api::now_ms;
use crate::{CallDeny, CallStore};

/// Most calls expired, or departures claimed, in one store call.
const BATCH: usize = 1000;

impl CallDeny {
    pub(crate) async fn sweep(&self) {
        let Ok(store) = self.store() else { return };
        let now = now_ms();
        self.settle_unsettled(store).await;
        loop {
            match store.expire(now, BATCH).await {
                Ok(calls) => {
                    for call in &calls {
                        tracing::info!(
                            handler = "call-deny",
                            call = call.call_id,
                            status = call.status.as_str(),
                            "call timed out"
                        );
                        self.counters.applied(call.status);
                        self.announce(call).await;
                    }
                    if calls.len() < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    sweep_failed("timeouts", &e);
                    break;
                }
            }
        }
        self.settle_departures(now, BATCH).await;
        let before = now.saturating_sub(self.cfg().retention_ms);
        if let Err(e) = store.purge_finished(before, 10 * BATCH).await {
            sweep_failed("retention purge", &e);
        }
    }

    /// Checks the transitions whose store call failed: those the store shows committed are
    /// announced now, those it shows not committed are forgotten, and the rest (the store
    /// still does not answer) wait for the next sweep.
    async fn settle_unsettled(&self, store: &Arc<dyn CallStore>) {
        let mut pending = self.unsettled.take().into_iter();
        let mut unknown = Vec::new();
        for u in pending.by_ref() {
            match store.get(&u.call).await {
                Ok(Some(call)) if u.landed_in(&call) => {
                    tracing::info!(handler = "call-deny", call = call.call_id, status = call.status.as_str(), by = ?call.by, "call transition committed despite a failed reply; announced now");
                    self.counters.applied(call.status);
                    self.announce(&call).await;
                }
                Ok(_) => {}
                Err(e) => {
                    sweep_failed("unsettled transitions", &e);
                    unknown.push(u);
                    break;
                }
            }
        }
        unknown.extend(pending);
        self.unsettled.put_back(unknown);
    }
}

/// Logs a failed sweep step; the next sweep retries it. While Redis is down (the framework
/// already warns once about that) this is debug, not a warning every sweep.
pub(crate) fn sweep_failed(step: &str, e: &StoreError) {
    match e {
        StoreError::Unavailable(_) => {
            tracing::debug!(handler = "call-deny", step, error = %e, "sweep step failed; next sweep retries")
        }
        _ => {
            tracing::warn!(handler = "call-deny", step, error = %e, "sweep step failed; next sweep retries")
        }
    }
}
