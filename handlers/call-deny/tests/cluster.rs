//! call-deny on a cluster: several hosts built from `plugboard_testkit::config(..)` in one
//! test are nodes of one cluster on Redis. Redis only: on memory they would not meet.

mod common;

use axum::http::Method;
use common::*;
use futures_util::future::join_all;
use plugboard_call_deny::{CallDeny, CallStatus};
use serde_json::json;

const KEYS: &str = "[http]\napi_key = \"k1\"\n";
const DENY: &str = r#"{"status":"denied"}"#;

/// Runs `test` on Redis (skipped without one, except under CI=true).
async fn on_redis(test: impl Future<Output = ()>) {
    plugboard_testkit::run_on("redis", test).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_denied_through_node_b_is_removed_on_node_c_and_a_patch_through_node_a_answers_duplicate()
 {
    on_redis(async {
        let (a, b, c) = (
            server(KEYS, "").await,
            server(KEYS, "").await,
            server(KEYS, "").await,
        );
        let mut caller = user(&a, "u1").await;
        let on_b = agent(&b, "a1").await;
        let mut on_c = agent(&c, "a2").await;
        let id = ring(&caller, json!({})).await;
        assert_eq!(on_c.recv("call:incoming").await["call"]["callId"], id);
        let ack = on_b
            .emit_with_ack("call:deny", json!({ "callId": id }))
            .await;
        assert_eq!(
            (ack["status"].as_str(), ack.get("duplicate")),
            (Some("denied"), None)
        );
        assert_eq!(
            on_c.recv("call:removed").await,
            json!({ "callId": id, "reason": "denied", "by": "a1" })
        );
        assert_eq!(caller.recv("call:denied").await, json!({ "callId": id }));
        let path = format!("/api/calls/{id}");
        let (status, body) = http(&a, Method::PATCH, &path, Some("k1"), Some(DENY)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["status"].as_str(), body["duplicate"].as_bool()),
            (Some("denied"), Some(true))
        );
        assert_eq!(count(&on_c.drain(QUIET).await, "call:removed"), 0);
        assert_eq!(count(&caller.drain(QUIET).await, "call:denied"), 0);
        let (_, one) = http(&c, Method::GET, &path, Some("k1"), None).await;
        assert_eq!(
            (one["call"]["status"].as_str(), one["call"]["by"].as_str()),
            (Some("denied"), Some("a1"))
        );
        for s in [a, b, c] {
            s.stop().await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_denies_and_accepts_from_two_nodes_apply_once_with_one_set_of_broadcasts() {
    on_redis(async {
        let (a, b) = (server("", "").await, server("", "").await);
        let mut agents = Vec::new();
        for i in 0..10 {
            let node = if i % 2 == 0 { &a } else { &b };
            agents.push(agent(node, &format!("a{i}")).await);
        }
        let mut caller = user(&a, "u1").await;
        let id = ring(&caller, json!({})).await;
        let requests = agents.iter().enumerate().flat_map(|(i, ag)| {
            let id = id.clone();
            (0..5).map(move |k| {
                let event = if (i + k) % 2 == 0 {
                    "call:accept"
                } else {
                    "call:deny"
                };
                ag.emit_with_ack(event, json!({ "callId": id }))
            })
        });
        let acks = join_all(requests).await;
        assert_eq!(acks.len(), 50);
        let firsts: Vec<_> = acks
            .iter()
            .filter(|a| a["ok"] == true && a.get("duplicate").is_none())
            .collect();
        assert_eq!(firsts.len(), 1, "{acks:?}");
        let won = firsts[0]["status"].as_str().unwrap().to_owned();
        for ack in &acks {
            let status = ack["status"].as_str().or(ack["error"]["status"].as_str());
            assert_eq!(status, Some(won.as_str()), "{ack}");
        }
        for ag in &mut agents {
            assert_eq!(count(&ag.drain(QUIET).await, "call:removed"), 1);
        }
        let told = caller.drain(QUIET).await;
        assert_eq!(
            count(&told, "call:accepted") + count(&told, "call:denied"),
            1,
            "{told:?}"
        );
        let handler = b.host.handler::<CallDeny>().unwrap();
        let call = handler.get(&id).await.unwrap().unwrap();
        assert_eq!(call.status.as_str(), won);
        a.stop().await;
        b.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_running_when_its_node_stops_is_finished_by_another_node() {
    on_redis(async {
        let section = "disconnect_grace_ms = 300";
        let (a, b) = (server("", section).await, server("", section).await);
        let mut a1 = agent(&b, "a1").await;
        let caller = user(&a, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        caller.close().await;
        stats_until(&a, |s| s["pendingDisconnects"] == 1).await;
        // The node that saw the disconnect goes away while the grace runs.
        a.stop().await;
        assert_eq!(
            a1.recv("call:ended").await,
            json!({ "callId": id, "reason": "peer_disconnected", "by": "u1" })
        );
        stats_until(&b, |s| s["pendingDisconnects"] == 0 && s["active"] == 0).await;
        b.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_node_shuts_down_a_caller_back_on_another_node_keeps_the_call_and_one_not_back_is_gone()
 {
    on_redis(async {
        let section = "shutdown_grace_ms = 1500";
        let (a, b) = (server("", section).await, server("", section).await);
        let mut a1 = agent(&b, "a1").await;
        let (u1, u2) = (user(&a, "u1").await, user(&a, "u2").await);
        let live = ring(&u1, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": live }))
            .await;
        assert_eq!(a1.recv("call:removed").await["reason"], "accepted");
        let ringing = ring(&u2, json!({})).await;
        a.stop().await;
        let _back = user(&b, "u1").await;
        let removed = a1.recv("call:removed").await;
        assert_eq!(
            removed,
            json!({ "callId": ringing, "reason": "cancelled", "by": "u2" })
        );
        let events = a1.drain(QUIET).await;
        assert_eq!(count(&events, "call:ended"), 0, "{events:?}");
        let handler = b.host.handler::<CallDeny>().unwrap();
        let call = handler.get(&live).await.unwrap().unwrap();
        assert_eq!(call.status, CallStatus::Accepted);
        drop((u1, u2));
        b.stop().await;
    })
    .await
}
