//! health-ping as a client sees it.

use std::time::Duration;

use plugboard::{Config, Plugboard};
use plugboard_health_ping::HealthPing;
use plugboard_testkit::{TestServer, dev_auth};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

async fn server(toml: &str) -> TestServer {
    let mut b = Plugboard::builder(Config::from_toml(toml).unwrap()).unwrap();
    b.handler(HealthPing::new()).unwrap();
    TestServer::start(b).await
}

#[tokio::test]
async fn ping_is_answered_with_pong_to_the_sender_and_the_same_object_in_the_ack() {
    let server = server("").await;
    let mut c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
    let ack = c
        .emit_with_ack("health-ping", json!({ "id": "p1", "timestamp": 1000 }))
        .await;
    let pong = c.recv("health-pong").await;
    assert_eq!(ack, pong);
    assert_eq!(pong["id"], "p1");
    assert_eq!(pong["timestamp"], 1000.0);
    assert!(pong["serverTime"].as_u64().unwrap() > 1_600_000_000_000);
    server.stop().await;
}

#[tokio::test]
async fn ping_without_ack_still_gets_a_pong() {
    let server = server("").await;
    let mut c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
    c.emit("health-ping", json!({ "id": 7, "timestamp": 5, "rtt": 12 }))
        .await;
    assert_eq!(c.recv("health-pong").await["id"], 7);
    let stats = server.host.handler::<HealthPing>().unwrap();
    let s = plugboard::Handler::stats(&*stats).await;
    assert_eq!(s["pingsTotal"], 1);
    assert_eq!(s["rtt"]["p50"], 12.0);
    server.stop().await;
}

#[tokio::test]
async fn invalid_pings_are_refused_and_count_nothing() {
    let server = server("").await;
    let mut c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
    for bad in [
        json!({}),
        json!({"timestamp": 1}),
        json!({"id": "x"}),
        json!({"id": "x", "timestamp": "now"}),
        json!("ping"),
        json!({"id": "x", "timestamp": 1, "rtt": -5}),
    ] {
        let ack = c.emit_with_ack("health-ping", bad.clone()).await;
        assert_eq!(ack["ok"], false, "{bad}");
        assert_eq!(ack["error"]["code"], "invalid_payload", "{bad}");
    }
    c.emit("health-ping", json!({ "id": "x" })).await;
    let err = c.recv("plugboard:error").await;
    assert_eq!(
        (err["event"].as_str(), err["code"].as_str()),
        (Some("health-ping"), Some("invalid_payload"))
    );
    assert!(
        err["message"].as_str().unwrap().contains("timestamp"),
        "{err}"
    );
    assert!(
        c.try_recv("health-pong", Duration::from_millis(100))
            .await
            .is_none()
    );
    assert_eq!(
        server.host.stats().await["handlers"]["health-ping"]["pingsTotal"],
        0
    );
    server.stop().await;
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("timestamp".to_owned()),
                    Just("rtt".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_json_never_breaks_the_server_nor_its_state() {
    let server = server("[limits]\nevents_per_second = 0").await;
    let c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
    let mut runner = TestRunner::deterministic();
    let strategy = any_json();
    let mut valid = 0u64;
    for _ in 0..400 {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        let ack = c.emit_with_ack("health-ping", value.clone()).await;
        if ack.get("ok") == Some(&Value::Bool(false)) {
            assert_eq!(ack["error"]["code"], "invalid_payload", "{value} -> {ack}");
        } else {
            assert!(ack.get("serverTime").is_some(), "{value} -> {ack}");
            valid += 1;
        }
    }
    // Still serving, and the state only moved for the pings that were valid.
    let ok = c
        .emit_with_ack("health-ping", json!({ "id": "after", "timestamp": 1 }))
        .await;
    assert_eq!(ok["id"], "after");
    let stats = &server.host.stats().await["handlers"]["health-ping"];
    assert_eq!(stats["pingsTotal"], valid + 1);
    assert_eq!(
        stats["sockets"],
        json!({"healthy": 1, "degraded": 0, "unhealthy": 0})
    );
    server.stop().await;
}

#[tokio::test]
async fn a_silent_socket_turns_degraded_then_unhealthy_and_is_disconnected_when_configured() {
    let server = server(
        "[handlers.health_ping]\ninterval_ms = 100\nmax_failures = 3\ndisconnect_unhealthy = true",
    )
    .await;
    let mut quiet = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
    let mut degraded_seen = false;
    for _ in 0..100 {
        let s = server.host.stats().await["handlers"]["health-ping"]["sockets"].clone();
        if s["degraded"] == 1 {
            degraded_seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(degraded_seen, "socket became degraded after a missed ping");
    assert!(
        quiet.wait_disconnect(Duration::from_secs(3)).await,
        "unhealthy socket disconnected"
    );
    assert_eq!(
        server.host.stats().await["handlers"]["health-ping"]["disconnectedUnhealthy"],
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_socket_that_leaves_leaves_no_health_entry() {
    let server = server("").await;
    let c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
    c.emit_with_ack("health-ping", json!({ "id": "p", "timestamp": 1 }))
        .await;
    c.close().await;
    for _ in 0..200 {
        if server.host.stats().await["handlers"]["health-ping"]["sockets"]
            == json!({"healthy": 0, "degraded": 0, "unhealthy": 0})
        {
            server.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("health entry left behind");
}
