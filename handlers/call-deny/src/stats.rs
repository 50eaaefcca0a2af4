//! The counters behind `stats()`: transitions applied on this node and where denies came
//! from (seed 000 asks to watch the HTTP fallback rate).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::CallStatus;
use crate::api::Via;

/// Counters behind `stats()`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    denied: AtomicU64,
    missed: AtomicU64,
    accepted: AtomicU64,
    cancelled: AtomicU64,
    ended: AtomicU64,
    denies_via_socket: AtomicU64,
    denies_via_http: AtomicU64,
    denies_via_host: AtomicU64,
    duplicate_denies: AtomicU64,
}

impl Counters {
    pub(crate) fn applied(&self, status: CallStatus) {
        let c = match status {
            CallStatus::Denied => &self.denied,
            CallStatus::Missed => &self.missed,
            CallStatus::Accepted => &self.accepted,
            CallStatus::Cancelled => &self.cancelled,
            CallStatus::Ended => &self.ended,
            CallStatus::Ringing => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn deny(&self, via: Via, duplicate: bool) {
        let c = match via {
            Via::Socket => &self.denies_via_socket,
            Via::Http => &self.denies_via_http,
            Via::Host => &self.denies_via_host,
        };
        c.fetch_add(1, Ordering::Relaxed);
        if duplicate {
            self.duplicate_denies.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (socket, http) = (get(&self.denies_via_socket), get(&self.denies_via_http));
        let rate = if socket + http == 0 {
            0.0
        } else {
            http as f64 / (socket + http) as f64
        };
        json!({
            "denied": get(&self.denied),
            "missed": get(&self.missed),
            "accepted": get(&self.accepted),
            "cancelled": get(&self.cancelled),
            "ended": get(&self.ended),
            "deniesViaSocket": socket,
            "deniesViaHttp": http,
            "deniesViaHost": get(&self.denies_via_host),
            "duplicateDenies": get(&self.duplicate_denies),
            "httpFallbackRate": rate,
        })
    }
}
