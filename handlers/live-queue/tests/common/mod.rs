//! Shared test helpers.

#![allow(dead_code)]

pub mod props;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use plugboard::Plugboard;
use plugboard_live_queue::LiveQueue;
use plugboard_testkit::{Client, TestServer, dev_auth};
use serde_json::{Value, json};

/// A server with only the live-queue handler and fast timers, on the running test's
/// store (two of them in one test are two nodes of one cluster on Redis).
pub async fn server(extra: &str) -> (TestServer, Arc<LiveQueue>) {
    server_toml(&format!(
        "[handlers.live_queue]\nmatch_delay_ms = 5\n{extra}"
    ))
    .await
}

/// A server whose config is a full TOML (with its own `[handlers.live_queue]`).
pub async fn server_toml(toml: &str) -> (TestServer, Arc<LiveQueue>) {
    let mut b = Plugboard::builder(plugboard_testkit::config(toml)).unwrap();
    let lq = b.handler(LiveQueue::new()).unwrap();
    (TestServer::start(b).await, lq)
}

pub async fn user(server: &TestServer, id: &str) -> Client {
    connect(server, dev_auth(id, &id.to_uppercase(), &[])).await
}

/// Connects and waits until the server handles the socket's events.
///
/// A connected client. (The framework holds events that arrive between socketioxide's
/// CONNECT answer and the connect handler, so a first event sent at once is never lost.)
pub async fn connect(server: &TestServer, auth: Value) -> Client {
    server.connect(auth).await.unwrap()
}

pub async fn join(c: &Client, prefs: Value) -> Value {
    c.emit_with_ack("live-call:join-queue", prefs).await
}

/// Two users matched through the queue; returns the match id.
pub async fn matched(a: &mut Client, b: &mut Client) -> String {
    assert_eq!(join(a, Value::Null).await["ok"], true);
    assert_eq!(join(b, Value::Null).await["ok"], true);
    let fa = a.recv("live-call:match-found").await;
    let fb = b.recv("live-call:match-found").await;
    assert_eq!(fa["matchId"], fb["matchId"]);
    fa["matchId"].as_str().unwrap().to_owned()
}

/// Users `a` and `b` (clients `ca`, `cb`) of match `m` press "call" at once: one answer
/// rings, the other merges, and each gets exactly one `call-started` (and no
/// `staged-call-error`).
pub async fn request_each_other_at_once(
    (a, ca): (&str, &mut Client),
    (b, cb): (&str, &mut Client),
    m: &str,
) {
    let (ra, rb) = tokio::join!(
        ca.emit_with_ack("request-call", call(m, b)),
        cb.emit_with_ack("request-call", call(m, a))
    );
    let statuses = [ra["status"].clone(), rb["status"].clone()];
    assert!(
        statuses.contains(&json!("ringing")) && statuses.contains(&json!("in-call")),
        "{ra} {rb}"
    );
    for c in [ca, cb] {
        let events = c.drain(Duration::from_millis(300)).await;
        let started: Vec<_> = events.iter().filter(|(n, _)| n == "call-started").collect();
        assert_eq!(started.len(), 1, "exactly one call-started: {events:?}");
        assert_eq!(started[0].1["matchId"], m);
        assert!(
            !events.iter().any(|(n, _)| n == "staged-call-error"),
            "{events:?}"
        );
    }
}

/// Polls `cond` (host state has no event to await) until true or 5 s pass.
pub async fn eventually<F, Fut>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..500 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never became true: {what}");
}

pub fn call(match_id: &str, callee: &str) -> Value {
    json!({ "matchId": match_id, "calleeId": callee, "stage": "video" })
}
