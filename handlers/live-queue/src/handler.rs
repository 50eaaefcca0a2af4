//! The [`LiveQueue`] handler: state, lifecycle hooks and background tasks. The socket
//! events are in `queue_events.rs` and `call_events.rs`, the host API in `api.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plugboard::{
    BoxError, CancellationToken, Handler, InitContext, Io, Sessions, async_trait, user_room,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::store::Ended;
use crate::{GraceTimers, LiveQueueConfig, LiveStore, MemoryLiveStore};

pub(crate) const HANDLER: &str = "live-queue";

/// How long a background step that met an unreachable store waits before trying again.
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// Counters behind `stats()`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) matches_made: AtomicU64,
    pub(crate) glare_merges: AtomicU64,
    pub(crate) cas_conflicts: AtomicU64,
    pub(crate) zombies_cleared: AtomicU64,
    pub(crate) duplicate_connections_kicked: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What exists once the handler is initialized.
pub(crate) struct Runtime {
    pub(crate) io: Io,
    pub(crate) sessions: Sessions,
    pub(crate) matcher: mpsc::UnboundedSender<(String, Instant)>,
}

/// Live video-call matchmaking (seed 001): busy states, the queue, matches and calls.
pub struct LiveQueue {
    pub(crate) config: OnceLock<LiveQueueConfig>,
    /// Set by `with_store`, or at `initialize` from the host's backend.
    store: OnceLock<Arc<dyn LiveStore>>,
    /// True when the store was given with `with_store` (the backend does not choose).
    explicit: bool,
    pub(crate) rt: OnceLock<Runtime>,
    pub(crate) timers: GraceTimers,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for LiveQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveQueue").finish_non_exhaustive()
    }
}

impl Default for LiveQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveQueue {
    /// A handler whose store follows the host's `store` setting, chosen at `initialize`
    /// ([`crate::store_for`]: memory, or the cluster's Redis); settings come from
    /// `[handlers.live_queue]`.
    pub fn new() -> Self {
        Self {
            config: OnceLock::new(),
            store: OnceLock::new(),
            explicit: false,
            rt: OnceLock::new(),
            timers: GraceTimers::default(),
            counters: Counters::default(),
        }
    }

    /// A handler with a given store, whatever the host's backend.
    pub fn with_store(store: Arc<dyn LiveStore>) -> Self {
        let this = Self {
            explicit: true,
            ..Self::new()
        };
        let _ = this.store.set(store);
        this
    }

    /// The store. Before `initialize`, a handler built with [`new`](Self::new) has no
    /// backend yet and settles on a memory store (an error at `initialize` if the host
    /// then runs on Redis).
    pub fn store(&self) -> &Arc<dyn LiveStore> {
        self.store.get_or_init(|| Arc::new(MemoryLiveStore::new()))
    }

    /// Picks the store from the host's backend unless one was given.
    fn pick_store(&self, backend: &plugboard::Backend) -> Result<(), BoxError> {
        if self.explicit {
            return Ok(());
        }
        if self.store.get().is_some() {
            return match backend {
                plugboard::Backend::Memory => Ok(()),
                _ => Err("live-queue: its store was used before initialize, so it is in memory while the host runs on redis; build the handler with LiveQueue::with_store or read the store after start".into()),
            };
        }
        let _ = self.store.set(crate::store_for(backend)?);
        Ok(())
    }

    pub(crate) fn cfg(&self) -> &LiveQueueConfig {
        self.config.get_or_init(LiveQueueConfig::default)
    }

    /// Broadcasts `event` to every socket of each user.
    pub(crate) async fn emit_users(&self, users: &[&str], event: &str, data: &Value) {
        let Some(rt) = self.rt.get() else { return };
        let Some((first, rest)) = users.split_first() else {
            return;
        };
        let mut b = rt.io.to(user_room(first));
        for u in rest {
            b = b.to(user_room(u));
        }
        b.emit(event, data).await;
    }

    /// Tells both parties that their match ended.
    pub(crate) async fn announce_ended(&self, ended: &Ended, reason: &str) {
        let [a, b] = &ended.parties;
        let data = json!({ "matchId": ended.match_id, "reason": reason });
        self.emit_users(&[a, b], "call-ended", &data).await;
    }

    /// Queues a matching attempt for `user` (after `match_delay_ms`, so acks go first).
    pub(crate) fn request_match(&self, user: &str) {
        if let Some(rt) = self.rt.get() {
            let _ = rt.matcher.send((user.to_owned(), Instant::now()));
        }
    }

    /// One matching attempt for `user`; tried again after [`RETRY`] while the store is
    /// unreachable (a user whose attempt was lost would wait for the next joiner).
    async fn run_match(self: &Arc<Self>, user: &str) {
        let id = format!("m_{:032x}", rand::random::<u128>());
        let made = match self.store().try_match(user, &id).await {
            Ok(Some(made)) => made,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(handler = HANDLER, event = "live-call:match-found", user, error = %e, "matching attempt failed; will retry");
                let (this, user) = (self.clone(), user.to_owned());
                tokio::spawn(async move {
                    tokio::time::sleep(RETRY).await;
                    this.request_match(&user);
                });
                return;
            }
        };
        Counters::bump(&self.counters.matches_made);
        let [(a, an), (b, bn)] = &made.users;
        tracing::info!(handler = HANDLER, event = "live-call:match-found", user = %a, peer = %b, match_id = %id, "match made");
        for (to, peer, name) in [(a, b, bn), (b, a, an)] {
            let data = json!({ "matchId": id, "peer": { "userId": peer, "name": name } });
            self.emit_users(&[to], "live-call:match-found", &data).await;
        }
    }
}

#[async_trait]
impl Handler for LiveQueue {
    fn name(&self) -> &'static str {
        HANDLER
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        let cfg: LiveQueueConfig = cx.config()?;
        cfg.validate()?;
        self.pick_store(cx.backend())?;
        let _ = self.config.set(cfg.clone());
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
        let _ = self.rt.set(Runtime {
            io: cx.io(),
            sessions: cx.sessions(),
            matcher: tx,
        });
        crate::queue_events::register(&self, cx)?;
        crate::call_events::register(&self, cx)?;
        let this = self.clone();
        cx.on_connect(move |socket| {
            let this = this.clone();
            async move { this.on_connect(socket).await }
        });
        let this = self.clone();
        cx.on_disconnect(move |socket, reason| {
            let this = this.clone();
            async move { this.on_disconnect(socket, reason).await }
        });

        let this = self.clone();
        let delay = Duration::from_millis(cfg.match_delay_ms);
        cx.spawn("matcher", move |stop| async move {
            loop {
                let (user, at) = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = rx.recv() => match next { Some(n) => n, None => return },
                };
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep_until(at + delay) => {}
                }
                this.run_match(&user).await;
            }
        });
        let this = self.clone();
        cx.spawn("rejoin-grace", move |stop| async move {
            while let Some(due) = this.timers.next_due(&stop).await {
                for user in due {
                    this.grace_expired(&user).await;
                }
            }
        });
        let this = self.clone();
        let every = Duration::from_millis(cfg.zombie_sweep_ms);
        cx.spawn("zombie-sweeper", move |stop| {
            periodic(stop, every, move || {
                let this = this.clone();
                async move { this.sweep_zombies().await }
            })
        });
        Ok(())
    }

    async fn stats(&self) -> Value {
        match self.stats_now().await {
            Ok(stats) => serde_json::to_value(stats).unwrap_or_default(),
            Err(e) => {
                let e = plugboard::HandlerError::from(e);
                json!({ "error": { "code": e.code.as_str(), "message": e.message } })
            }
        }
    }
}

/// Runs `f` every `every` until `stop` is cancelled.
async fn periodic<F, Fut>(stop: CancellationToken, every: Duration, f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => f().await,
        }
    }
}

plugboard::register_handler!(LiveQueue::new);
