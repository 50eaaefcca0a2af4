//! Small handlers used by the framework's behaviour tests.

#![allow(dead_code, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use plugboard::{
    BoxError, Handler, HandlerError, HostBuilder, InitContext, Plugboard, Reply, Socket,
    async_trait,
};
use serde_json::{Value, json};

pub fn builder(toml: &str) -> HostBuilder {
    Plugboard::builder(plugboard_testkit::config(toml)).expect("builder")
}

/// Records every event it sees, in the order it handled them.
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<(String, Value)>>,
    pub disconnects: AtomicUsize,
    pub runs: AtomicUsize,
    pub shutdowns: AtomicUsize,
    pub log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Handler for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        for event in ["a", "b"] {
            let this = self.clone();
            cx.on(event, move |_s: Socket, v: Value| {
                let this = this.clone();
                async move {
                    // Yield a varying number of times so out-of-order execution would show.
                    let n = v.get("n").and_then(Value::as_u64).unwrap_or(0);
                    for _ in 0..(n % 3) {
                        tokio::task::yield_now().await;
                    }
                    this.seen.lock().push((event.to_owned(), v));
                    Ok(json!({ "ok": true }))
                }
            })?;
        }
        let this = self.clone();
        cx.on("count", move |_s: Socket, _v: Value| {
            let this = this.clone();
            async move {
                let n = this.runs.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(json!({ "ok": true, "run": n }))
            }
        })?;
        cx.on("refuse", |_s: Socket, _v: Value| async {
            Err::<Value, _>(HandlerError::forbidden("not for you"))
        })?;
        cx.on("flood", |s: Socket, _v: Value| async move {
            // Emits 64 KiB messages until the socket's send buffer refuses one.
            let chunk = "x".repeat(64 * 1024);
            let mut sent = 0u32;
            while sent < 2_000 && s.emit("chunk", &chunk) {
                sent += 1;
            }
            Ok(json!({ "sent": sent }))
        })?;
        cx.on("refuse-own", |_s: Socket, _v: Value| async {
            let e = HandlerError::busy("You are busy");
            let payload = json!({ "error": e.message, "code": "busy" });
            Err::<Value, _>(e.or_emit("own-error", payload))
        })?;
        cx.on("typed", |_s: Socket, v: Typed| async move {
            Ok(json!({ "ok": true, "id": v.id })) as Reply
        })?;
        cx.on("whoami", |s: Socket, _v: Value| async move {
            let id = s.identity();
            Ok(json!({ "userId": id.user_id, "name": id.name, "roles": id.roles }))
        })?;
        let this = self.clone();
        cx.on_disconnect(move |_s, _r| {
            this.disconnects.fetch_add(1, Ordering::SeqCst);
            this.log.lock().push("recorder".into());
            std::future::ready(())
        });
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), BoxError> {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
        self.log.lock().push("recorder:shutdown".into());
        Ok(())
    }

    async fn stats(&self) -> Value {
        json!({ "seen": self.seen.lock().len() })
    }
}

#[derive(serde::Deserialize)]
pub struct Typed {
    pub id: String,
}

/// A second handler with its own disconnect hook and a background task.
pub struct Second {
    pub log: Arc<Mutex<Vec<String>>>,
    pub task_ended: Arc<AtomicUsize>,
    pub claim: &'static str,
    pub fail: bool,
}

impl Second {
    pub fn new(log: Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            log,
            task_ended: Arc::default(),
            claim: "second:ev",
            fail: false,
        }
    }
}

#[async_trait]
impl Handler for Second {
    fn name(&self) -> &'static str {
        "second"
    }

    async fn initialize(self: Arc<Self>, cx: &mut InitContext<'_>) -> Result<(), BoxError> {
        cx.on(self.claim, |_s: Socket, _v: Value| async {
            Ok(json!({ "ok": true }))
        })?;
        let log = self.log.clone();
        cx.on_disconnect(move |_s, _r| {
            log.lock().push("second".into());
            std::future::ready(())
        });
        let ended = self.task_ended.clone();
        cx.spawn("ticker", move |stop| async move {
            stop.cancelled().await;
            ended.fetch_add(1, Ordering::SeqCst);
        });
        if self.fail {
            return Err("database unreachable".into());
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), BoxError> {
        self.log.lock().push("second:shutdown".into());
        Ok(())
    }
}
