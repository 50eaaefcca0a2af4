//! Per-socket health state behind [`HealthStore`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use parking_lot::Mutex;
use plugboard::SocketId;
use serde::Serialize;

/// A socket's health class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No ping missed.
    Healthy,
    /// Some pings missed, fewer than `max_failures`.
    Degraded,
    /// `max_failures` or more pings missed.
    Unhealthy,
}

/// What is known of one socket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SocketHealth {
    /// When the last ping arrived (or the socket connected).
    pub last_ping: Instant,
    /// The last round trip the client reported, in ms.
    pub last_rtt_ms: Option<f64>,
}

impl SocketHealth {
    /// Pings missed since the last one, for a given interval.
    pub fn missed(&self, now: Instant, interval: Duration) -> u32 {
        let since = now.saturating_duration_since(self.last_ping);
        u32::try_from(since.as_millis() / interval.as_millis().max(1)).unwrap_or(u32::MAX)
    }

    /// The health class for an interval and failure threshold.
    pub fn classify(&self, now: Instant, interval: Duration, max_failures: u32) -> Health {
        match self.missed(now, interval) {
            0 => Health::Healthy,
            n if n < max_failures.max(1) => Health::Degraded,
            _ => Health::Unhealthy,
        }
    }
}

/// Storage of per-socket health. Socket health is node-local by nature, so the memory
/// implementation also serves cluster mode.
pub trait HealthStore: Send + Sync + 'static {
    /// A socket connected.
    fn track(&self, socket: SocketId, now: Instant);
    /// A ping arrived; returns false when the socket is not tracked.
    fn ping(&self, socket: SocketId, now: Instant, rtt_ms: Option<f64>) -> bool;
    /// A socket left.
    fn forget(&self, socket: SocketId);
    /// Every tracked socket.
    fn snapshot(&self) -> Vec<(SocketId, SocketHealth)>;
    /// Recent client-reported round trips, in ms.
    fn rtts(&self) -> Vec<f64>;
}

/// The in-process [`HealthStore`].
#[derive(Debug)]
pub struct MemoryHealthStore {
    sockets: DashMap<SocketId, SocketHealth>,
    rtts: Mutex<VecDeque<f64>>,
    capacity: usize,
}

impl MemoryHealthStore {
    /// A store keeping the last `rtt_samples` round trips.
    pub fn new(rtt_samples: usize) -> Self {
        Self {
            sockets: DashMap::new(),
            rtts: Mutex::new(VecDeque::new()),
            capacity: rtt_samples.max(1),
        }
    }
}

impl HealthStore for MemoryHealthStore {
    fn track(&self, socket: SocketId, now: Instant) {
        self.sockets.insert(
            socket,
            SocketHealth {
                last_ping: now,
                last_rtt_ms: None,
            },
        );
    }

    fn ping(&self, socket: SocketId, now: Instant, rtt_ms: Option<f64>) -> bool {
        let Some(mut h) = self.sockets.get_mut(&socket) else {
            return false;
        };
        h.last_ping = now;
        if let Some(rtt) = rtt_ms {
            h.last_rtt_ms = Some(rtt);
            let mut rtts = self.rtts.lock();
            if rtts.len() == self.capacity {
                rtts.pop_front();
            }
            rtts.push_back(rtt);
        }
        true
    }

    fn forget(&self, socket: SocketId) {
        self.sockets.remove(&socket);
    }

    fn snapshot(&self) -> Vec<(SocketId, SocketHealth)> {
        self.sockets
            .iter()
            .map(|e| (*e.key(), *e.value()))
            .collect()
    }

    fn rtts(&self) -> Vec<f64> {
        self.rtts.lock().iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn health_follows_missed_pings() {
        let t0 = Instant::now();
        let h = SocketHealth {
            last_ping: t0,
            last_rtt_ms: None,
        };
        assert_eq!(h.classify(t0 + SEC / 2, SEC, 3), Health::Healthy);
        assert_eq!(h.classify(t0 + SEC, SEC, 3), Health::Degraded);
        assert_eq!(h.classify(t0 + 2 * SEC, SEC, 3), Health::Degraded);
        assert_eq!(h.classify(t0 + 3 * SEC, SEC, 3), Health::Unhealthy);
    }

    #[test]
    fn rtt_samples_are_bounded() {
        let s = MemoryHealthStore::new(2);
        let id = SocketId::new();
        s.track(id, Instant::now());
        for rtt in [1.0, 2.0, 3.0] {
            assert!(s.ping(id, Instant::now(), Some(rtt)));
        }
        assert_eq!(s.rtts(), vec![2.0, 3.0]);
        s.forget(id);
        assert!(!s.ping(id, Instant::now(), None));
        assert!(s.snapshot().is_empty());
    }
}
