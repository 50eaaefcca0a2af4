//! Failures on Redis: a node that dies holding a party's socket, and Redis itself going
//! away. Redis only.

mod common;

use std::time::Duration;

use axum::http::Method;
use common::*;
use plugboard::{Plugboard, RedisStore};
use plugboard_call_deny::{CallDeny, CallStatus};
use plugboard_testkit::{RedisServer, TestServer};
use serde_json::json;

/// Fast node failure detection: dead after about a second.
const FAST: &str = "[cluster]\nheartbeat_ms = 100\nnode_timeout_ms = 1000\n";

/// Writes a node that stopped heartbeating, holding socket `sid` of `user`, as a crashed
/// node leaves it (its registration and its sessions hash).
async fn crashed_node(redis: &RedisStore, node: &str, user: &str, sid: &str) {
    let identity = plugboard::Identity {
        user_id: user.into(),
        name: user.into(),
        roles: vec![],
    };
    plugboard_testkit::crashed_node(redis, node, &[(identity, sid.parse().unwrap())])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_on_a_dead_node_ends_the_live_call_with_peer_disconnected_for_the_other_party() {
    plugboard_testkit::run_on("redis", async {
        let a = server(FAST, "disconnect_grace_ms = 200").await;
        let Some(redis) = plugboard_testkit::backend().await.redis().cloned() else {
            unreachable!("run_on(\"redis\") runs on Redis")
        };
        let handler = a.host.handler::<CallDeny>().unwrap();
        let mut a1 = agent(&a, "a1").await;
        let mut t1 = user(&a, "t1").await;
        // u1 called from a node that then crashed: its calls are here, its socket there.
        let live = handler.create_call("u1", None, None).await.unwrap().call;
        a1.emit_with_ack("call:accept", json!({ "callId": live.call_id }))
            .await;
        let ringing = handler
            .create_call("u1", Some("t1"), None)
            .await
            .unwrap()
            .call;
        assert_eq!(
            t1.recv("call:incoming").await["call"]["callId"],
            ringing.call_id
        );
        let sid = plugboard::SocketId::new().to_string();
        crashed_node(&redis, "crashed", "u1", &sid).await;
        assert!(a.host.sessions().is_connected("u1").await.unwrap());

        // The reaper reports the socket gone (node_down); after the grace the calls end.
        assert_eq!(
            a1.recv("call:ended").await,
            json!({ "callId": live.call_id, "reason": "peer_disconnected", "by": "u1" })
        );
        assert_eq!(
            t1.recv("call:removed").await,
            json!({ "callId": ringing.call_id, "reason": "cancelled", "by": "u1" })
        );
        let s = stats_until(&a, |s| s["pendingDisconnects"] == 0).await;
        assert_eq!(
            (s["ringing"].as_u64(), s["active"].as_u64()),
            (Some(0), Some(0))
        );
        a.stop().await;
    })
    .await
}

/// A Redis of the test's own, with every write durable (killed and restarted by the test);
/// `None` (test skipped) when redis-server cannot be started, except under CI=true.
fn own_redis() -> Option<RedisServer> {
    let redis = RedisServer::start(true);
    if redis.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true and redis-server cannot be started"
        );
        eprintln!("redis-server cannot be started here: test skipped");
    }
    redis
}

/// A host on its own Redis; `section` goes under `[handlers.call_deny]`.
async fn host_on(redis: &RedisServer, section: &str) -> TestServer {
    let cluster = format!("test-{}", plugboard::SocketId::new());
    let toml = format!(
        "store = \"redis\"\nredis_url = \"{}\"\n[http]\napi_key = \"k1\"\n\
         [cluster]\nname = \"{cluster}\"\nheartbeat_ms = 100\nnode_timeout_ms = 1000\nredis_timeout_ms = 300\n\
         [handlers.call_deny]\nsweep_interval_ms = 20\n{section}",
        redis.url()
    );
    let mut b = Plugboard::builder(plugboard::Config::from_toml(&toml).unwrap()).unwrap();
    b.handler(CallDeny::new()).unwrap();
    TestServer::start(b).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_unreachable_events_answer_unavailable_http_answers_503_and_nothing_changes()
{
    let Some(mut redis) = own_redis() else { return };
    let server = host_on(&redis, "").await;
    let mut a1 = agent(&server, "a1").await;
    let mut caller = user(&server, "u1").await;
    let id = ring(&caller, json!({ "requestId": "r1" })).await;
    a1.recv("call:incoming").await;
    let path = format!("/api/calls/{id}");

    redis.kill();
    for (event, payload) in [
        ("call:deny", json!({ "callId": id })),
        ("call:accept", json!({ "callId": id })),
        ("call:cancel", json!({ "callId": id })),
        ("call:request", json!({ "targetId": "t9" })),
    ] {
        let ack = a1.emit_with_ack(event, payload).await;
        assert_eq!(ack["error"]["code"], "unavailable", "{event}: {ack}");
    }
    let (status, body) = http(
        &server,
        Method::PATCH,
        &path,
        Some("k1"),
        Some(r#"{"status":"denied"}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable"))
    );
    assert_eq!(
        http(&server, Method::GET, &path, Some("k1"), None).await.0,
        503
    );
    assert!(stats(&server).await["storeError"].is_string());

    redis.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let call = loop {
        let (status, body) = http(&server, Method::GET, &path, Some("k1"), None).await;
        if status == 200 {
            break body["call"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never served again: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(call["status"], "ringing", "nothing changed: {call}");
    assert_eq!(
        a1.drain(QUIET).await.len(),
        0,
        "no broadcast while Redis was down"
    );
    assert_eq!(caller.drain(QUIET).await.len(), 0);
    let ack = a1
        .emit_with_ack("call:deny", json!({ "requestId": "r1" }))
        .await;
    assert_eq!(ack["status"], "denied", "{ack}");
    assert_eq!(caller.recv("call:denied").await, json!({ "callId": id }));
    let handler = server.host.handler::<CallDeny>().unwrap();
    assert_eq!(
        handler.get(&id).await.unwrap().unwrap().status,
        CallStatus::Denied
    );
    server.stop().await;
}

/// A live call between agent `a1` and caller `u1` on `server`; returns the agent's client,
/// the caller's and the call id.
async fn live_call(
    server: &TestServer,
) -> (plugboard_testkit::Client, plugboard_testkit::Client, String) {
    let mut a1 = agent(server, "a1").await;
    let caller = user(server, "u1").await;
    let id = ring(&caller, json!({})).await;
    a1.emit_with_ack("call:accept", json!({ "callId": id }))
        .await;
    assert_eq!(a1.recv("call:removed").await["reason"], "accepted");
    (a1, caller, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_leaving_while_redis_is_down_keeps_the_call_until_redis_is_back_then_it_ends() {
    let Some(mut redis) = own_redis() else { return };
    let server = host_on(&redis, "").await;
    let (mut a1, caller, id) = live_call(&server).await;
    redis.kill();
    caller.close().await;
    assert!(
        a1.try_recv("call:ended", QUIET).await.is_none(),
        "not assumed gone"
    );
    redis.restart();
    assert_eq!(
        a1.recv("call:ended").await,
        json!({ "callId": id, "reason": "peer_disconnected", "by": "u1" })
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_ending_while_redis_is_down_ends_the_call_once_redis_is_back() {
    let Some(mut redis) = own_redis() else { return };
    let server = host_on(&redis, "disconnect_grace_ms = 200").await;
    let (mut a1, caller, id) = live_call(&server).await;
    caller.close().await;
    stats_until(&server, |s| s["pendingDisconnects"] == 1).await;
    redis.kill();
    // The grace ends during the outage: every sweep meanwhile fails and keeps it.
    assert!(
        a1.try_recv("call:ended", Duration::from_millis(600))
            .await
            .is_none()
    );
    redis.restart();
    assert_eq!(
        a1.recv("call:ended").await,
        json!({ "callId": id, "reason": "peer_disconnected", "by": "u1" })
    );
    stats_until(&server, |s| s["pendingDisconnects"] == 0).await;
    server.stop().await;
}
