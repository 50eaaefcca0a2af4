//! Shared set-up for the ticket-collision behaviour tests.

#![allow(dead_code, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use plugboard::Plugboard;
use plugboard_testkit::{Client, TestServer, dev_auth};
use plugboard_ticket_collision::{TicketCollision, ViewerStats};
use serde_json::{Value, json};

pub const QUIET: Duration = Duration::from_millis(150);

pub async fn server(toml: &str) -> (TestServer, Arc<TicketCollision>) {
    server_with(toml, TicketCollision::new()).await
}

pub async fn server_with(
    toml: &str,
    handler: TicketCollision,
) -> (TestServer, Arc<TicketCollision>) {
    let mut b = Plugboard::builder(plugboard_testkit::config(toml)).unwrap();
    let tc = b.handler(handler).unwrap();
    (TestServer::start(b).await, tc)
}

pub async fn agent(server: &TestServer, id: &str, name: &str) -> Client {
    server
        .connect(dev_auth(id, name, &["agent"]))
        .await
        .unwrap()
}

/// `ticket:view` with an ack that must be `ok`.
pub async fn view(c: &Client, ticket: &str) -> Value {
    let ack = c
        .emit_with_ack("ticket:view", json!({ "ticketId": ticket }))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack
}

/// The agent ids of a viewers list.
pub fn ids(viewers: &Value) -> Vec<String> {
    viewers
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["agentId"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the handler's stats satisfy `cond` (cleanup after a disconnect runs
/// after the client is gone, with nobody left to tell).
pub async fn stats_until(tc: &TicketCollision, cond: impl Fn(&ViewerStats) -> bool) -> ViewerStats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = tc.stats().await.unwrap();
        if cond(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stats never matched: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn until_empty(tc: &TicketCollision) {
    stats_until(tc, |s| *s == ViewerStats::default()).await;
}
