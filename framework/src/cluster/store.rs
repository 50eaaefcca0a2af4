//! [`RedisStore`]: the cluster's Redis as handler stores use it. Every call is bounded
//! by `cluster.redis_timeout_ms`, fails fast while Redis is known to be down, and reports
//! to the node's [`Health`], so a handler store never hangs on an outage and the
//! framework knows which cleanups to run again once Redis is back.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation};

use super::driver::{DriverConns, PubSubDriver};
use super::health::Health;
use crate::StoreError;

pub(crate) struct Inner {
    pub(crate) url: String,
    pub(crate) cluster: String,
    pub(crate) prefix: String,
    pub(crate) node_id: String,
    pub(crate) timeout: Duration,
    pub(crate) health: Arc<Health>,
    pub(crate) driver: PubSubDriver,
    pub(crate) cmd: OnceLock<ConnectionManager>,
}

/// The cluster's Redis, for handler stores: namespaced keys and bounded calls.
///
/// Keys of a cluster share the prefix `plugboard:{<cluster>}:` (the braces make them one
/// hash slot, so multi-key scripts stay valid on Redis Cluster too). A call answers
/// [`StoreError::Unavailable`] when Redis is down or slower than `cluster.redis_timeout_ms`;
/// check-and-set operations belong in one Lua script ([`invoke`](Self::invoke)), never a
/// read followed by a write from Rust.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("cluster", &self.inner.cluster)
            .field("node", &self.inner.node_id)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    pub(crate) fn new(
        url: &str,
        cluster: &str,
        node_id: String,
        timeout: Duration,
        health: Arc<Health>,
    ) -> Self {
        let driver = PubSubDriver::new(health.clone(), timeout);
        Self {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                cluster: cluster.to_owned(),
                prefix: format!("plugboard:{{{cluster}}}:"),
                node_id,
                timeout,
                health,
                driver,
                cmd: OnceLock::new(),
            }),
        }
    }

    /// A store of cluster `cluster` on its own connections, outside any host: for tools,
    /// migrations and store tests. It takes no part in the cluster (no heartbeat).
    pub async fn open(url: &str, cluster: &str, timeout: Duration) -> Result<Self, StoreError> {
        let store = Self::new(
            url,
            cluster,
            format!("tool-{}", crate::SocketId::new()),
            timeout,
            Arc::new(Health::default()),
        );
        store.connect().await?;
        Ok(store)
    }

    /// Connects the command and subscriber connections; fails when Redis does not answer
    /// a PING within the timeout.
    pub(crate) async fn connect(&self) -> Result<(), StoreError> {
        let unavailable = |e: redis::RedisError| {
            StoreError::Unavailable(format!("cannot reach redis at {}: {e}", self.safe_url()))
        };
        let info = redis::IntoConnectionInfo::into_connection_info(self.inner.url.as_str())
            .map_err(|e| StoreError::Backend(format!("invalid redis_url: {e}")))?;
        // Without TCP_NODELAY (redis-rs leaves it off) small requests sat up to 40 ms in
        // Nagle's buffer: ticket:view had a 44 ms p99 on Redis against 0.8 ms p50.
        let nodelay = info.tcp_settings().clone().set_nodelay(true);
        let info = info.set_tcp_settings(nodelay);
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let sub_info = info.clone().set_redis_settings(resp3);
        let client = redis::Client::open(info).map_err(unavailable)?;
        let sub_client = redis::Client::open(sub_info).map_err(unavailable)?;
        let cfg = || {
            redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.inner.timeout))
                .set_response_timeout(Some(self.inner.timeout))
                .set_number_of_retries(2)
                .set_min_delay(Duration::from_millis(50))
                .set_max_delay(Duration::from_millis(500))
        };
        let connect = async {
            let cmd = ConnectionManager::new_with_config(client, cfg()).await?;
            let sub_cfg = cfg()
                .set_push_sender(self.inner.driver.push_sender())
                .set_automatic_resubscription();
            let sub = ConnectionManager::new_with_config(sub_client, sub_cfg).await?;
            Ok::<_, redis::RedisError>((cmd, sub))
        };
        let (cmd, sub) = tokio::time::timeout(self.inner.timeout * 3, connect)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "cannot reach redis at {}: timed out",
                    self.safe_url()
                ))
            })?
            .map_err(unavailable)?;
        let mut ping = cmd.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut ping)
            .await
            .map_err(unavailable)?;
        self.inner.driver.set_conns(DriverConns {
            cmd: cmd.clone(),
            sub,
        });
        let _ = self.inner.cmd.set(cmd);
        self.inner.health.succeeded();
        Ok(())
    }

    /// The Redis URL without its password, for messages.
    pub fn safe_url(&self) -> String {
        match self.inner.url.split_once('@') {
            Some((scheme_auth, host)) => {
                let scheme = scheme_auth.split("://").next().unwrap_or("redis");
                format!("{scheme}://***@{host}")
            }
            None => self.inner.url.clone(),
        }
    }

    /// The cluster name (`cluster.name`).
    pub fn cluster(&self) -> &str {
        &self.inner.cluster
    }

    /// This node's id, unique in the cluster.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The prefix of every key of this cluster: `plugboard:{<cluster>}:`.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// A key of this cluster: `plugboard:{<cluster>}:<suffix>`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.inner.prefix)
    }

    /// True while this node reaches Redis.
    pub fn is_up(&self) -> bool {
        self.inner.health.is_up()
    }

    /// Runs one command.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        self.bounded(cmd.query_async(&mut conn)).await
    }

    /// Runs a pipeline (atomic when built with `.atomic()`).
    pub async fn pipeline<T: FromRedisValue>(&self, p: &Pipeline) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        self.bounded(p.query_async(&mut conn)).await
    }

    /// Runs a Lua script (loaded on first use and again after a Redis restart).
    pub async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        self.bounded(script.invoke_async(&mut conn)).await
    }

    /// The raw connection manager, for what the helpers above do not cover. Calls on it
    /// bypass the timeout and health tracking.
    pub fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.inner
            .cmd
            .get()
            .cloned()
            .ok_or_else(|| StoreError::Unavailable("redis is not connected yet".into()))
    }

    fn conn(&self) -> Result<ConnectionManager, StoreError> {
        if !self.inner.health.is_up() {
            let why = self
                .inner
                .health
                .last_error()
                .unwrap_or_else(|| "unreachable".into());
            return Err(StoreError::Unavailable(format!("redis is down ({why})")));
        }
        self.connection()
    }

    async fn bounded<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.inner.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if is_connectivity(&e) => {
                self.inner.health.failed(&e.to_string());
                Err(StoreError::Unavailable(e.to_string()))
            }
            Ok(Err(e)) => Err(StoreError::Backend(e.to_string())),
            Err(_) => {
                let msg = format!("no answer within {} ms", self.inner.timeout.as_millis());
                self.inner.health.failed(&msg);
                Err(StoreError::Unavailable(msg))
            }
        }
    }

    /// A call that bypasses the fail-fast check (the heartbeat probes a down Redis).
    pub(crate) async fn probe<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.connection()?;
        match tokio::time::timeout(self.inner.timeout, script.invoke_async(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.inner.health.failed(&e.to_string());
                Err(StoreError::Unavailable(e.to_string()))
            }
            Err(_) => {
                self.inner.health.failed("heartbeat timed out");
                Err(StoreError::Unavailable("heartbeat timed out".into()))
            }
        }
    }

    pub(crate) fn health(&self) -> &Arc<Health> {
        &self.inner.health
    }

    pub(crate) fn driver(&self) -> &PubSubDriver {
        &self.inner.driver
    }
}

fn is_connectivity(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_unrecoverable_error()
        || matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
                | redis::ErrorKind::Server(redis::ServerErrorKind::TryAgain)
                | redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown)
        )
}
