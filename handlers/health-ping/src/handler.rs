//! The [`HealthPing`] handler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plugboard::{BoxError, Handler, HandlerError, InitContext, Reply, Socket, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Health, HealthPingConfig, HealthStore, MemoryHealthStore};

/// A ping id: the frontends send strings; numbers are accepted too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PingId {
    /// A string id.
    Text(String),
    /// A numeric id.
    Number(serde_json::Number),
}

/// `health-ping` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingRequest {
    /// Client's ping id, echoed back.
    pub id: PingId,
    /// Client's send time (ms since epoch), echoed back.
    pub timestamp: f64,
    /// Round trip the client measured for its previous ping, in ms.
    #[serde(default)]
    pub rtt: Option<f64>,
}

/// Answers health pings and tracks each socket's connection health.
pub struct HealthPing {
    config: OnceLock<HealthPingConfig>,
    store: Arc<dyn HealthStore>,
    pings: AtomicU64,
    disconnected_unhealthy: AtomicU64,
}

impl Default for HealthPing {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthPing {
    /// A handler with the in-memory store; settings come from `[handlers.health_ping]`.
    pub fn new() -> Self {
        Self::with_store(Arc::new(MemoryHealthStore::new(
            HealthPingConfig::default().rtt_samples,
        )))
    }

    /// A handler with a given store.
    pub fn with_store(store: Arc<dyn HealthStore>) -> Self {
        Self {
            config: OnceLock::new(),
            store,
            pings: AtomicU64::new(0),
            disconnected_unhealthy: AtomicU64::new(0),
        }
    }

    fn cfg(&self) -> &HealthPingConfig {
        self.config.get_or_init(HealthPingConfig::default)
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.cfg().interval_ms.max(1))
    }

    /// The health of one socket, if tracked.
    pub fn health_of(&self, socket: plugboard::SocketId) -> Option<Health> {
        let now = Instant::now();
        self.store
            .snapshot()
            .into_iter()
            .find(|(id, _)| *id == socket)
            .map(|(_, h)| h.classify(now, self.interval(), self.cfg().max_failures))
    }

    async fn on_ping(self: Arc<Self>, socket: Socket, req: PingRequest) -> Reply {
        if !req.timestamp.is_finite() {
            return Err(HandlerError::invalid("timestamp must be a finite number"));
        }
        let rtt = match req.rtt {
            Some(r) if !r.is_finite() || r < 0.0 => {
                return Err(HandlerError::invalid("rtt must be a non-negative number"));
            }
            other => other,
        };
        self.store.ping(socket.id(), Instant::now(), rtt);
        self.pings.fetch_add(1, Ordering::Relaxed);
        let pong = json!({ "id": req.id, "timestamp": req.timestamp, "serverTime": now_ms() });
        socket.emit("health-pong", &pong);
        Ok(pong)
    }

    async fn sweep(self: Arc<Self>, io: plugboard::Io) {
        let cfg = self.cfg();
        if !cfg.disconnect_unhealthy {
            return;
        }
        let now = Instant::now();
        for (id, h) in self.store.snapshot() {
            if h.classify(now, self.interval(), cfg.max_failures) == Health::Unhealthy {
                self.store.forget(id);
                self.disconnected_unhealthy.fetch_add(1, Ordering::Relaxed);
                tracing::info!(handler = "health-ping", socket = %id, "disconnecting unhealthy socket");
                io.disconnect_socket(id);
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[async_trait]
impl Handler for HealthPing {
    fn name(&self) -> &'static str {
        "health-ping"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        let cfg: HealthPingConfig = cx.config()?;
        if cfg.interval_ms == 0 || cfg.max_failures == 0 {
            return Err("interval_ms and max_failures must be positive".into());
        }
        let _ = self.config.set(cfg);
        let this = self.clone();
        cx.on("health-ping", move |socket, req: PingRequest| {
            this.clone().on_ping(socket, req)
        })?;
        let this = self.clone();
        cx.on_connect(move |socket| {
            this.store.track(socket.id(), Instant::now());
            std::future::ready(())
        });
        let this = self.clone();
        cx.on_disconnect(move |socket, _reason| {
            this.store.forget(socket.id());
            std::future::ready(())
        });
        let this = self.clone();
        let io = cx.io();
        let every = self.interval();
        cx.spawn("unhealthy-sweeper", move |stop| async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => this.clone().sweep(io.clone()).await,
                }
            }
        });
        Ok(())
    }

    async fn stats(&self) -> Value {
        let now = Instant::now();
        let (mut healthy, mut degraded, mut unhealthy) = (0u64, 0u64, 0u64);
        for (_, h) in self.store.snapshot() {
            match h.classify(now, self.interval(), self.cfg().max_failures) {
                Health::Healthy => healthy += 1,
                Health::Degraded => degraded += 1,
                Health::Unhealthy => unhealthy += 1,
            }
        }
        let mut rtts = self.store.rtts();
        rtts.sort_by(f64::total_cmp);
        json!({
            "sockets": { "healthy": healthy, "degraded": degraded, "unhealthy": unhealthy },
            "pingsTotal": self.pings.load(Ordering::Relaxed),
            "disconnectedUnhealthy": self.disconnected_unhealthy.load(Ordering::Relaxed),
            "rtt": { "samples": rtts.len(), "p50": percentile(&rtts, 50.0), "p99": percentile(&rtts, 99.0) },
        })
    }
}

plugboard::register_handler!(HealthPing::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn ping_payload_needs_id_and_numeric_timestamp() {
        assert!(serde_json::from_value::<PingRequest>(json!({"timestamp": 1})).is_err());
        assert!(
            serde_json::from_value::<PingRequest>(json!({"id": "a", "timestamp": "x"})).is_err()
        );
        assert!(
            serde_json::from_value::<PingRequest>(json!({"id": {"a": 1}, "timestamp": 1})).is_err()
        );
        let ok =
            serde_json::from_value::<PingRequest>(json!({"id": 7, "timestamp": 1, "rtt": 12.5}))
                .unwrap();
        assert_eq!(ok.rtt, Some(12.5));
    }
}
