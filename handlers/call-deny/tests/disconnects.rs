//! Seed 003: nothing stays "calling" when a party goes away, and calling back is clean.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn caller_leaving_cancels_the_ringing_call_for_every_agent() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        caller.close().await;
        let removed = a1.recv("call:removed").await;
        assert_eq!(
            removed,
            json!({ "callId": id, "reason": "cancelled", "by": "u1" })
        );
        assert_eq!(stats(&server).await["ringing"], 0);
        server.stop().await;
    }

    async fn a_second_tab_keeps_the_call_until_the_last_one_closes() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let tab1 = user(&server, "u1").await;
        let tab2 = user(&server, "u1").await;
        let id = ring(&tab1, json!({})).await;
        tab1.close().await;
        assert!(a1.try_recv("call:removed", QUIET).await.is_none());
        assert_eq!(stats(&server).await["ringing"], 1);
        tab2.close().await;
        assert_eq!(
            a1.recv("call:removed").await["callId"].as_str(),
            Some(id.as_str())
        );
        server.stop().await;
    }

    async fn peer_disconnect_during_a_call_ends_it_for_the_other_party_at_once() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        caller.close().await;
        let ended = a1.recv("call:ended").await;
        assert_eq!(
            ended,
            json!({ "callId": id, "reason": "peer_disconnected", "by": "u1" })
        );
        assert_eq!(stats(&server).await["active"], 0);
        server.stop().await;
    }

    async fn agent_disconnect_during_a_call_ends_it_for_the_caller() {
        let server = server("", "").await;
        let a1 = agent(&server, "a1").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        a1.close().await;
        let ended = caller.recv("call:ended").await;
        assert_eq!(
            ended,
            json!({ "callId": id, "reason": "peer_disconnected", "by": "a1" })
        );
        server.stop().await;
    }

    async fn calling_back_after_a_disconnect_gives_one_clean_new_call() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let first = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": first }))
            .await;
        caller.close().await;
        a1.recv("call:ended").await;
        let caller = user(&server, "u1").await;
        let second = caller.emit_with_ack("call:request", json!({})).await;
        assert_ne!(second["callId"].as_str(), Some(first.as_str()));
        assert_eq!(
            (second["status"].as_str(), second.get("duplicate")),
            (Some("ringing"), None)
        );
        let again = caller.emit_with_ack("call:request", json!({})).await;
        assert_eq!(again["callId"], second["callId"]);
        let events = a1.drain(QUIET).await;
        assert_eq!(
            count(&events, "call:incoming"),
            2,
            "first call and the call back only"
        );
        let s = stats(&server).await;
        assert_eq!(
            (s["ringing"].as_u64(), s["active"].as_u64()),
            (Some(1), Some(0))
        );
        server.stop().await;
    }

    async fn reconnect_within_the_grace_keeps_the_call_and_leaving_for_good_cancels_it() {
        let server = server("", "disconnect_grace_ms = 300").await;
        let mut a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        caller.close().await;
        stats_until(&server, |s| s["pendingDisconnects"] == 1).await;
        let back = user(&server, "u1").await;
        assert!(
            a1.try_recv("call:removed", Duration::from_millis(500))
                .await
                .is_none()
        );
        assert_eq!(stats(&server).await["ringing"], 1);
        assert_eq!(stats(&server).await["pendingDisconnects"], 0);
        back.close().await;
        let removed = a1.recv("call:removed").await;
        assert_eq!(
            (removed["callId"].as_str(), removed["reason"].as_str()),
            (Some(id.as_str()), Some("cancelled"))
        );
        stats_until(&server, |s| s["pendingDisconnects"] == 0).await;
        server.stop().await;
    }

    async fn state_returns_to_empty_after_every_client_leaves() {
        let server = server("", "").await;
        let a1 = agent(&server, "a1").await;
        let callers = [user(&server, "u1").await, user(&server, "u2").await];
        let live = ring(&callers[0], json!({})).await;
        ring(&callers[1], json!({ "targetId": "a1" })).await;
        a1.emit_with_ack("call:accept", json!({ "callId": live }))
            .await;
        let s = stats(&server).await;
        assert_eq!(
            (s["ringing"].as_u64(), s["active"].as_u64()),
            (Some(1), Some(1))
        );
        for c in callers {
            c.close().await;
        }
        a1.close().await;
        stats_until(&server, |s| {
            s["ringing"] == 0
                && s["active"] == 0
                && s["usersWithOpenCalls"] == 0
                && s["pendingDisconnects"] == 0
        })
        .await;
        server.stop().await;
    }

    async fn shutdown_does_not_wait_for_a_pending_grace_and_ends_no_call() {
        let server = server("", "disconnect_grace_ms = 60000").await;
        let a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        caller.close().await;
        stats_until(&server, |s| s["pendingDisconnects"] == 1).await;
        let handler = server
            .host
            .handler::<plugboard_call_deny::CallDeny>()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(3), server.stop())
            .await
            .expect("shutdown does not wait for the 60 s grace");
        let call = handler.get(&id).await.unwrap().unwrap();
        assert_eq!(call.status, plugboard_call_deny::CallStatus::Accepted);
    }
}
