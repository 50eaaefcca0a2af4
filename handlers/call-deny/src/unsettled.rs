//! Transitions whose outcome is unknown: the store call failed (Redis unreachable, or its
//! reply timed out), so the transition may or may not have been committed. The caller got
//! `unavailable`; if the commit did land, its retry answers `duplicate` and would announce
//! nothing, so nobody would ever hear of the transition. Each such transition is noted
//! here, and the sweeper reads the call again once the store answers: when the record shows
//! this very transition (same status, same `by`, same `updatedAt`), it is announced then.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::{Call, CallRef, CallStatus, Transition};

/// Most transitions kept waiting for their outcome; the oldest are dropped beyond it.
const MAX_UNSETTLED: usize = 10_000;

/// A transition sent to the store whose outcome is unknown.
#[derive(Debug, Clone)]
pub(crate) struct Unsettled {
    /// The call it was for.
    pub(crate) call: CallRef,
    to: CallStatus,
    by: Option<String>,
    now_ms: u64,
}

impl Unsettled {
    pub(crate) fn new(call: &CallRef, t: &Transition) -> Self {
        Self {
            call: call.clone(),
            to: t.to,
            by: t.actor.by(),
            now_ms: t.now_ms,
        }
    }

    /// True when `record` is this transition applied (see [`crate::apply`]) and nothing
    /// since.
    pub(crate) fn landed_in(&self, record: &Call) -> bool {
        record.status == self.to
            && record.by == self.by
            && record.updated_at == self.now_ms.max(record.created_at)
    }
}

/// The node's transitions waiting for their outcome, oldest first.
#[derive(Debug, Default)]
pub(crate) struct UnsettledTransitions {
    queue: Mutex<VecDeque<Unsettled>>,
}

impl UnsettledTransitions {
    /// Notes a transition whose outcome is unknown.
    pub(crate) fn note(&self, u: Unsettled) {
        let mut q = self.queue.lock();
        if q.len() >= MAX_UNSETTLED {
            let dropped = q.pop_front();
            tracing::warn!(handler = "call-deny", call = ?dropped.map(|d| d.call), "too many unsettled transitions; the oldest is no longer checked");
        }
        q.push_back(u);
    }

    /// Takes every noted transition (to check them); [`Self::put_back`] returns those
    /// still unknown.
    pub(crate) fn take(&self) -> Vec<Unsettled> {
        self.queue.lock().drain(..).collect()
    }

    /// Returns transitions still unknown, ahead of any noted since.
    pub(crate) fn put_back(&self, rest: Vec<Unsettled>) {
        let mut q = self.queue.lock();
        for u in rest.into_iter().rev() {
            q.push_front(u);
        }
        while q.len() > MAX_UNSETTLED {
            q.pop_front();
        }
    }

    /// How many are waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }
}
