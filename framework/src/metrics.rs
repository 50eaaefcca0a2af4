//! Prometheus metrics: connections, events by handler and event, errors by code, handler
//! latency. Each host owns its registry (no global recorder), so several hosts can live in
//! one process (tests, embedding).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::ErrorCode;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EventLabels {
    pub(crate) handler: String,
    pub(crate) event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CodeLabels {
    pub(crate) code: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~1.6 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_05, 2.0, 16,
    ))
}

/// The host's metric set.
pub struct Metrics {
    registry: Registry,
    connections: Gauge,
    connects: Counter,
    events: Family<EventLabels, Counter>,
    latency: Family<EventLabels, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabels, Counter>,
    replays: Counter,
    slow_clients: Counter,
    replays_seen: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Pre-resolved metric handles of one event route, so the hot path does no label hashing.
#[derive(Clone)]
pub(crate) struct RouteMetrics {
    pub(crate) events: Counter,
    pub(crate) latency: Histogram,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("plugboard");
        let connections = Gauge::default();
        let connects = Counter::default();
        let events = Family::<EventLabels, Counter>::default();
        let latency = Family::<EventLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let errors = Family::<CodeLabels, Counter>::default();
        let replays = Counter::default();
        let slow_clients = Counter::default();
        registry.register("connections", "Sockets connected now", connections.clone());
        registry.register("connects", "Sockets accepted since start", connects.clone());
        registry.register(
            "events",
            "Client events handled, by handler and event",
            events.clone(),
        );
        registry.register(
            "handler_duration_seconds",
            "Time handlers took per event, by handler and event",
            latency.clone(),
        );
        registry.register(
            "errors",
            "Errors answered to clients, by code",
            errors.clone(),
        );
        registry.register(
            "idempotent_replays",
            "Repeated messageIds answered from cache",
            replays.clone(),
        );
        registry.register(
            "slow_client",
            "Messages a full send buffer refused",
            slow_clients.clone(),
        );
        for code in ErrorCode::ALL {
            let _ = errors.get_or_create(&CodeLabels {
                code: code.as_str().into(),
            });
        }
        Self {
            registry,
            connections,
            connects,
            events,
            latency,
            errors,
            replays,
            slow_clients,
            replays_seen: AtomicU64::new(0),
        }
    }

    pub(crate) fn route(&self, handler: &str, event: &str) -> RouteMetrics {
        let labels = EventLabels {
            handler: handler.into(),
            event: event.into(),
        };
        RouteMetrics {
            events: self.events.get_or_create(&labels).clone(),
            latency: self.latency.get_or_create(&labels).clone(),
        }
    }

    pub(crate) fn connected(&self) {
        self.connections.inc();
        self.connects.inc();
    }

    pub(crate) fn disconnected(&self) {
        self.connections.dec();
    }

    pub(crate) fn error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&CodeLabels {
                code: code.as_str().into(),
            })
            .inc();
    }

    pub(crate) fn replay(&self) {
        self.replays.inc();
        self.replays_seen.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn replays(&self) -> u64 {
        self.replays_seen.load(Ordering::Relaxed)
    }

    pub(crate) fn slow_client(&self) {
        self.slow_clients.inc();
    }

    /// Sockets connected now.
    pub fn connections(&self) -> i64 {
        self.connections.get()
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
