//! Shared helpers of the timeline tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use plugboard::{Config, Plugboard};
use plugboard_testkit::{Client, TestServer, dev_auth};
use plugboard_timeline::Timeline;
use serde_json::{Value, json};

/// Long enough for a broadcast that was sent to arrive on loopback.
pub const QUIET: Duration = Duration::from_millis(150);

pub async fn server_with(toml: &str, timeline: Timeline) -> (TestServer, Arc<Timeline>) {
    let mut b = Plugboard::builder(Config::from_toml(toml).unwrap()).unwrap();
    b.handler(timeline).unwrap();
    let server = TestServer::start(b).await;
    let t = server
        .host
        .handler::<Timeline>()
        .expect("timeline registered");
    (server, t)
}

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
