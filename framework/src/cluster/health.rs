//! [`Health`]: whether this node reaches Redis now, and since when.
//!
//! Every Redis call of the framework and of handler stores goes through
//! [`RedisStore`](crate::RedisStore), which reports here: the first failure marks Redis
//! down (later calls answer `unavailable` at once instead of waiting), and the heartbeat,
//! which keeps trying, marks it up again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// Redis reachability as this node sees it.
#[derive(Debug)]
pub(crate) struct Health {
    up: AtomicBool,
    failures: AtomicU64,
    up_since: Mutex<Option<Instant>>,
    last_error: Mutex<Option<String>>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            up: AtomicBool::new(false),
            failures: AtomicU64::new(0),
            up_since: Mutex::new(None),
            last_error: Mutex::new(Some("not connected yet".into())),
        }
    }
}

impl Health {
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// How many Redis calls failed since start; a change means some call failed.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Acquire)
    }

    /// A call failed: Redis is down until the heartbeat succeeds again.
    pub(crate) fn failed(&self, error: &str) {
        self.failures.fetch_add(1, Ordering::AcqRel);
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                error,
                "redis unreachable; stateful events answer `unavailable` until it is back"
            );
        }
        *self.up_since.lock() = None;
        *self.last_error.lock() = Some(error.to_owned());
    }

    /// A heartbeat succeeded. Returns true when this ends an outage.
    pub(crate) fn succeeded(&self) -> bool {
        let recovered = !self.up.swap(true, Ordering::AcqRel);
        if recovered {
            *self.up_since.lock() = Some(Instant::now());
            *self.last_error.lock() = None;
        }
        recovered
    }

    /// How long Redis has been reachable without a failure.
    pub(crate) fn up_for(&self) -> Option<std::time::Duration> {
        self.up_since.lock().map(|t| t.elapsed())
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }
}
