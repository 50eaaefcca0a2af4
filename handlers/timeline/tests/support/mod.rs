//! Shared helpers of the timeline tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use plugboard::Plugboard;
use plugboard_testkit::{Client, TestServer, dev_auth};
use plugboard_timeline::Timeline;
use serde_json::{Value, json};

/// Long enough for a broadcast that was sent to arrive on loopback.
pub const QUIET: Duration = Duration::from_millis(150);

/// A started host with `timeline`, on the running test's store (see
/// `plugboard_testkit::config`). On Redis, hosts started in one test are nodes of one
/// cluster.
pub async fn server_with(toml: &str, timeline: Timeline) -> (TestServer, Arc<Timeline>) {
    let mut b = Plugboard::builder(plugboard_testkit::config(toml)).unwrap();
    b.handler(timeline).unwrap();
    let server = TestServer::start(b).await;
    let t = server
        .host
        .handler::<Timeline>()
        .expect("timeline registered");
    (server, t)
}

/// [`server_with`] a `Timeline::new()`.
pub async fn server(toml: &str) -> (TestServer, Arc<Timeline>) {
    server_with(toml, Timeline::new()).await
}

pub async fn client(server: &TestServer, user: &str) -> Client {
    server
        .connect(dev_auth(user, user, &["agent"]))
        .await
        .unwrap()
}

pub async fn subscribe(c: &Client, entity_type: &str, entity_id: &str) -> Value {
    c.emit_with_ack(
        "timeline:subscribe",
        json!({ "entityType": entity_type, "entityId": entity_id }),
    )
    .await
}

pub async fn unsubscribe(c: &Client, entity_type: &str, entity_id: &str) -> Value {
    c.emit_with_ack(
        "timeline:unsubscribe",
        json!({ "entityType": entity_type, "entityId": entity_id }),
    )
    .await
}

/// Every timeline event the client received, in order, after letting broadcasts settle.
pub async fn timeline_events(c: &mut Client) -> Vec<(String, Value)> {
    c.drain(QUIET)
        .await
        .into_iter()
        .filter(|(name, _)| name.starts_with("timeline:"))
        .collect()
}

/// The timeline section of `/stats`, through the HTTP endpoint.
pub async fn http_stats(server: &TestServer) -> Value {
    let (status, body) = server.get("/stats").await;
    assert_eq!(status, 200);
    serde_json::from_str::<Value>(&body).unwrap()["handlers"]["timeline"].clone()
}

/// Waits (at most 10 s) until `f` answers true; fails naming `what` otherwise.
pub async fn until<F: AsyncFn() -> bool>(what: &str, f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `timeline.stats()`, which must succeed.
pub async fn stats(t: &Timeline) -> plugboard_timeline::TimelineStats {
    t.stats().await.expect("stats")
}
