//! The [`CallDeny`] handler: socket events, the agents room, the store picked from the
//! backend, disconnect clean-up and the sweeper.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plugboard::{
    Backend, BoxError, Handler, InitContext, Io, Reply, Sessions, Socket, async_trait,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Via;
use crate::stats::Counters;
use crate::unsettled::UnsettledTransitions;
use crate::{
    Actor, CallDenyConfig, CallError, CallStatus, CallStore, EndReason, MemoryCallStore,
    RedisCallStore,
};

/// The room every socket of an agent joins: `call:incoming` and `call:removed` go there.
pub const AGENTS_ROOM: &str = "agents";

/// `call:request` payload (an event without payload counts as `{}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPayload {
    /// The caller's own id for this request (a retry with it returns the same call).
    #[serde(default)]
    pub request_id: Option<String>,
    /// The user called; absent: every agent.
    #[serde(default)]
    pub target_id: Option<String>,
}

/// `call:deny` payload: at least one of the ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DenyPayload {
    /// The call id.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The caller's request id.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// `call:accept`, `call:end`, `call:cancel` payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallIdPayload {
    /// The call id.
    pub call_id: String,
}

/// Incoming calls for agents, idempotent deny over socket and HTTP, and a call lifecycle
/// that leaves nothing ringing when a party goes away.
pub struct CallDeny {
    /// Given by [`CallDeny::with_store`], or picked from the backend at initialize.
    store: OnceLock<Arc<dyn CallStore>>,
    pub(crate) config: OnceLock<CallDenyConfig>,
    pub(crate) io: OnceLock<Io>,
    pub(crate) sessions: OnceLock<Sessions>,
    pub(crate) counters: Counters,
    /// Transitions whose store call failed, checked again by the sweeper.
    pub(crate) unsettled: UnsettledTransitions,
}

impl Default for CallDeny {
    fn default() -> Self {
        Self::new()
    }
}

impl CallDeny {
    /// A handler whose store follows the host's backend: [`MemoryCallStore`] by default,
    /// [`RedisCallStore`] with `store = "redis"`. Settings come from
    /// `[handlers.call_deny]`.
    pub fn new() -> Self {
        Self {
            store: OnceLock::new(),
            config: OnceLock::new(),
            io: OnceLock::new(),
            sessions: OnceLock::new(),
            counters: Counters::default(),
            unsettled: UnsettledTransitions::default(),
        }
    }

    /// A handler on a given store, whatever the backend.
    pub fn with_store(store: Arc<dyn CallStore>) -> Self {
        let this = Self::new();
        let _ = this.store.set(store);
        this
    }

    /// The store, once given or picked at initialize.
    pub(crate) fn store(&self) -> Result<&Arc<dyn CallStore>, CallError> {
        self.store.get().ok_or(CallError::NotStarted)
    }

    /// The store for `backend`; finished records outlive the retention purge by their TTL
    /// only when no node purges.
    fn store_for(backend: &Backend, cfg: &CallDenyConfig) -> Arc<dyn CallStore> {
        match backend.redis() {
            Some(redis) => {
                let ttl = cfg.retention_ms.saturating_mul(2).saturating_add(60_000);
                Arc::new(
                    RedisCallStore::new(redis.clone())
                        .with_finished_ttl(Duration::from_millis(ttl)),
                )
            }
            None => Arc::new(MemoryCallStore::new()),
        }
    }

    pub(crate) fn cfg(&self) -> &CallDenyConfig {
        self.config.get_or_init(CallDenyConfig::default)
    }

    pub(crate) fn actor(&self, socket: &Socket) -> Actor {
        Actor::User {
            id: socket.user_id().to_owned(),
            agent: socket.identity().has_role(&self.cfg().agent_role),
        }
    }

    async fn on_request(self: Arc<Self>, socket: Socket, p: Option<RequestPayload>) -> Reply {
        let p = p.unwrap_or_default();
        let out = self
            .open_call(socket.user_id(), p.target_id, p.request_id)
            .await?;
        Ok(out.ack())
    }

    async fn on_deny(self: Arc<Self>, socket: Socket, p: DenyPayload) -> Reply {
        let call = self.call_ref(p.call_id, p.request_id)?;
        let out = self
            .deny_as(&call, self.actor(&socket), Via::Socket)
            .await?;
        Ok(out.ack())
    }

    async fn on_move(self: Arc<Self>, socket: Socket, p: CallIdPayload, to: CallStatus) -> Reply {
        let call = self.call_ref(Some(p.call_id), None)?;
        let reason = (to == CallStatus::Ended).then_some(EndReason::Hangup);
        let out = self
            .move_call(&call, to, self.actor(&socket), reason)
            .await?;
        Ok(out.ack())
    }
}

#[async_trait]
impl Handler for CallDeny {
    fn name(&self) -> &'static str {
        "call-deny"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        let cfg: CallDenyConfig = cx.config()?;
        cfg.validate()?;
        let _ = self
            .store
            .get_or_init(|| Self::store_for(cx.backend(), &cfg));
        let _ = self.config.set(cfg);
        let _ = self.io.set(cx.io());
        let _ = self.sessions.set(cx.sessions());

        let this = self.clone();
        cx.on("call:request", move |s, p: Option<RequestPayload>| {
            this.clone().on_request(s, p)
        })?;
        let this = self.clone();
        cx.on("call:deny", move |s, p: DenyPayload| {
            this.clone().on_deny(s, p)
        })?;
        for (event, to) in [
            ("call:accept", CallStatus::Accepted),
            ("call:end", CallStatus::Ended),
            ("call:cancel", CallStatus::Cancelled),
        ] {
            let this = self.clone();
            cx.on(event, move |s, p: CallIdPayload| {
                this.clone().on_move(s, p, to)
            })?;
        }

        let this = self.clone();
        cx.on_connect(move |socket| {
            if socket.identity().has_role(&this.cfg().agent_role) {
                socket.join(AGENTS_ROOM);
            }
            std::future::ready(())
        });
        let this = self.clone();
        cx.on_disconnect(move |socket, reason| this.clone().on_socket_gone(socket, reason));

        crate::http::routes(&self, cx)?;

        let this = self.clone();
        let every = Duration::from_millis(self.cfg().sweep_interval_ms);
        cx.spawn("call-sweeper", move |stop| async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => this.sweep().await,
                }
            }
        });
        Ok(())
    }

    async fn stats(&self) -> Value {
        let mut v = self.counters.snapshot();
        v["unsettledTransitions"] = json!(self.unsettled.len());
        let counts = match self.store() {
            Ok(store) => store.counts().await.map_err(CallError::from),
            Err(e) => Err(e),
        };
        match counts {
            Ok(c) => {
                v["ringing"] = json!(c.ringing);
                v["active"] = json!(c.active);
                v["records"] = json!(c.records);
                v["usersWithOpenCalls"] = json!(c.users_with_open_calls);
                v["pendingDisconnects"] = json!(c.pending_departures);
            }
            Err(e) => v["storeError"] = json!(e.to_string()),
        }
        v
    }
}

plugboard::register_handler!(CallDeny::new);
