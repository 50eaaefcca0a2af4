//! [`PubSubDriver`]: socketioxide-redis's pub/sub [`Driver`] on redis'
//! [`ConnectionManager`], which reconnects after a Redis outage and subscribes again.
//!
//! socketioxide-redis' own `redis` driver sits on a multiplexed connection that never
//! reconnects: after one Redis restart no broadcast crosses nodes again, and since the
//! adapter publishes before it delivers locally, even same-node broadcasts fail. Here the
//! subscriptions live on a RESP3 connection manager with automatic resubscription, and a
//! publish that cannot reach Redis is logged and skipped, so this node's own sockets still
//! get the broadcast (delivery across nodes is at most once, as with socket.io's adapters).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::RwLock;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, FromRedisValue, PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

use super::health::Health;

type Handlers = RwLock<HashMap<String, mpsc::Sender<ChanItem>>>;

/// The connections the driver uses once the host has connected.
#[derive(Clone)]
pub(crate) struct DriverConns {
    /// Commands: PUBLISH, PUBSUB NUMSUB.
    pub(crate) cmd: ConnectionManager,
    /// SUBSCRIBE; messages arrive as RESP3 pushes.
    pub(crate) sub: ConnectionManager,
}

struct Inner {
    handlers: Arc<Handlers>,
    conns: OnceLock<DriverConns>,
    health: Arc<Health>,
    timeout: Duration,
}

/// A reconnecting pub/sub driver for socketioxide's Redis adapter.
#[derive(Clone)]
pub struct PubSubDriver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PubSubDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PubSubDriver")
    }
}

/// What the driver reports to socketioxide.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The host has not connected to Redis yet.
    #[error("redis pub/sub is not connected yet")]
    NotConnected,
    /// Redis failed or did not answer in time.
    #[error("redis pub/sub: {0}")]
    Redis(String),
}

impl PubSubDriver {
    pub(crate) fn new(health: Arc<Health>, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                handlers: Arc::default(),
                conns: OnceLock::new(),
                health,
                timeout,
            }),
        }
    }

    /// The push sender for the subscriber connection: routes messages to the adapter.
    pub(crate) fn push_sender(
        &self,
    ) -> impl Fn(PushInfo) -> Result<(), std::convert::Infallible> + use<> {
        let handlers = self.inner.handlers.clone();
        move |push: PushInfo| {
            route(&handlers, push);
            Ok(())
        }
    }

    pub(crate) fn set_conns(&self, conns: DriverConns) {
        let _ = self.inner.conns.set(conns);
    }

    /// PINGs the subscriber connection. Nothing else is sent on it, so after an outage this
    /// is what makes the connection manager reconnect (and resubscribe) once Redis is back.
    pub(crate) async fn ping_subscriber(&self) -> Result<(), DriverError> {
        let mut sub = self.conns()?.sub;
        self.bounded(redis::cmd("PING").query_async::<redis::Value>(&mut sub))
            .await
            .map(|_| ())
    }

    fn conns(&self) -> Result<DriverConns, DriverError> {
        self.inner
            .conns
            .get()
            .cloned()
            .ok_or(DriverError::NotConnected)
    }

    async fn bounded<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, DriverError> {
        match tokio::time::timeout(self.inner.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.inner.health.failed(&e.to_string());
                Err(DriverError::Redis(e.to_string()))
            }
            Err(_) => {
                self.inner.health.failed("pub/sub command timed out");
                Err(DriverError::Redis("timed out".into()))
            }
        }
    }
}

fn route(handlers: &Handlers, push: PushInfo) {
    if !matches!(push.kind, PushKind::Message | PushKind::SMessage) || push.data.len() < 2 {
        return;
    }
    let mut data = push.data.into_iter();
    let (Some(chan), Some(msg)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(chan), Ok(msg)) = (
        String::from_redis_value(chan),
        Vec::<u8>::from_redis_value(msg),
    ) else {
        tracing::warn!("undecodable pub/sub message");
        return;
    };
    let tx = handlers.read().get(&chan).cloned();
    match tx {
        Some(tx) => {
            if tx.try_send((chan, msg)).is_err() {
                tracing::warn!("pub/sub message dropped: the adapter's buffer is full");
            }
        }
        None => tracing::debug!(chan, "pub/sub message for a channel nobody listens to"),
    }
}

impl Driver for PubSubDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        if !self.inner.health.is_up() {
            tracing::debug!(chan, "redis down: broadcast delivered on this node only");
            return Ok(());
        }
        let mut cmd = self.conns()?.cmd;
        if let Err(e) = self
            .bounded(cmd.publish::<_, _, redis::Value>(chan, val))
            .await
        {
            // Skipping (instead of failing) lets the adapter still deliver to this node.
            tracing::warn!(error = %e, "broadcast not published to other nodes");
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let mut sub = self.conns()?.sub;
        let (tx, rx) = mpsc::channel(size);
        self.inner.handlers.write().insert(chan.clone(), tx);
        self.bounded(sub.subscribe(chan.as_str())).await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.inner.handlers.write().remove(&chan);
        let mut sub = self.conns()?.sub;
        self.bounded(sub.unsubscribe(chan.as_str())).await
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut cmd = self.conns()?.cmd;
        let (_, count): (String, u16) = self
            .bounded(
                redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(chan)
                    .query_async(&mut cmd),
            )
            .await?;
        Ok(count)
    }
}
