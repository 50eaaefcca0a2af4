//! Shared test support: a host with call-deny on the running test's store (memory or
//! Redis, see `plugboard_testkit::on_both_stores!`), HTTP requests through its router.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use plugboard::{Backend, Plugboard};
use plugboard_call_deny::{CallDeny, CallStore, MemoryCallStore, RedisCallStore};
use plugboard_testkit::{Client, TestServer, dev_auth};
use serde_json::Value;
use tower::ServiceExt;

/// Settle time for "nothing more arrives" checks.
pub const QUIET: Duration = Duration::from_millis(300);

/// A server with call-deny; `section` goes under `[handlers.call_deny]`, `extra` at the top.
/// Two servers made in one test on Redis are two nodes of one cluster.
pub async fn server(extra: &str, section: &str) -> TestServer {
    let toml = format!("{extra}\n[handlers.call_deny]\nsweep_interval_ms = 20\n{section}");
    let mut b = Plugboard::builder(plugboard_testkit::config(&toml)).unwrap();
    b.handler(CallDeny::new()).unwrap();
    TestServer::start(b).await
}

pub async fn agent(server: &TestServer, id: &str) -> Client {
    ready(server.connect(dev_auth(id, id, &["agent"])).await.unwrap()).await
}

pub async fn user(server: &TestServer, id: &str) -> Client {
    ready(server.connect(dev_auth(id, id, &[])).await.unwrap()).await
}

/// Waits until the server finished connecting the socket: its connect hooks (an agent
/// joins `agents` there) run just after the client saw CONNECT, and a socket's events
/// run after them, so the answer to a refused event is the sign.
pub async fn ready(c: Client) -> Client {
    let ack = c.emit_with_ack("call:cancel", serde_json::json!({})).await;
    assert_eq!(ack["error"]["code"], "invalid_payload", "{ack}");
    c
}

pub async fn stats(server: &TestServer) -> Value {
    server.host.stats().await["handlers"]["call-deny"].clone()
}

/// Requests a call from `caller` and returns its id.
pub async fn ring(caller: &Client, payload: Value) -> String {
    let ack = caller.emit_with_ack("call:request", payload).await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack["callId"].as_str().unwrap().to_owned()
}

/// How many of `events` are named `name`.
pub fn count(events: &[(String, Value)], name: &str) -> usize {
    events.iter().filter(|(n, _)| n == name).count()
}

/// One HTTP request through the host's router: (status, JSON body).
pub async fn http(
    server: &TestServer,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    let res = server.host.router().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Waits (up to 5 s) until the handler's stats satisfy `ok`; for server-side effects no
/// connected client can observe (every client left).
pub async fn stats_until(server: &TestServer, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = stats(server).await;
        if ok(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stats never matched: {s}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The call store of the running test's backend (a Redis one on a cluster of its own).
pub async fn call_store() -> Arc<dyn CallStore> {
    match plugboard_testkit::backend().await {
        Backend::Redis(redis) => Arc::new(RedisCallStore::new(redis)),
        _ => Arc::new(MemoryCallStore::new()),
    }
}
