//! The rest of a call's life as socket clients see it: accept (first wins), end, cancel,
//! ring timeout and call timeout.

mod common;

use common::*;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn first_accept_wins_and_deny_after_accept_is_a_conflict() {
        let server = server("", "").await;
        let (a1, mut a2) = (agent(&server, "a1").await, agent(&server, "a2").await);
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        let ack = a1
            .emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        assert_eq!(ack["status"], "accepted");
        assert_eq!(
            caller.recv("call:accepted").await,
            json!({ "callId": id, "by": "a1" })
        );
        assert_eq!(a2.recv("call:removed").await["reason"], "accepted");
        let late = a2
            .emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        assert_eq!(
            (
                late["error"]["code"].as_str(),
                late["error"]["status"].as_str()
            ),
            (Some("conflict"), Some("accepted"))
        );
        let deny = a2.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(
            (
                deny["error"]["code"].as_str(),
                deny["error"]["status"].as_str()
            ),
            (Some("conflict"), Some("accepted"))
        );
        assert_eq!(stats(&server).await["active"], 1);
        server.stop().await;
    }

    async fn either_party_ends_a_live_call_and_both_are_told() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        let outsider = agent(&server, "a2").await;
        let refused = outsider
            .emit_with_ack("call:end", json!({ "callId": id }))
            .await;
        assert_eq!(refused["error"]["code"], "forbidden");
        let ack = caller
            .emit_with_ack("call:end", json!({ "callId": id }))
            .await;
        assert_eq!(ack["status"], "ended");
        let expected = json!({ "callId": id, "reason": "hangup", "by": "u1" });
        assert_eq!(a1.recv("call:ended").await, expected);
        assert_eq!(caller.recv("call:ended").await, expected);
        let again = a1.emit_with_ack("call:end", json!({ "callId": id })).await;
        assert_eq!(again["duplicate"], true);
        assert_eq!(count(&a1.drain(QUIET).await, "call:ended"), 0);
        let s = stats(&server).await;
        assert_eq!(
            (s["active"].as_u64(), s["ended"].as_u64()),
            (Some(0), Some(1))
        );
        server.stop().await;
    }

    async fn caller_cancels_while_ringing_and_agents_drop_the_call() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        let not_caller = a1
            .emit_with_ack("call:cancel", json!({ "callId": id }))
            .await;
        assert_eq!(not_caller["error"]["code"], "forbidden");
        let ack = caller
            .emit_with_ack("call:cancel", json!({ "callId": id }))
            .await;
        assert_eq!(ack["status"], "cancelled");
        let removed = a1.recv("call:removed").await;
        assert_eq!(
            removed,
            json!({ "callId": id, "reason": "cancelled", "by": "u1" })
        );
        let deny = a1.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(deny["error"]["status"], "cancelled");
        server.stop().await;
    }

    async fn unanswered_call_becomes_missed_and_everyone_is_told() {
        let server = server("", "ring_timeout_ms = 150").await;
        let mut a1 = agent(&server, "a1").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        let removed = a1.recv("call:removed").await;
        assert_eq!(removed, json!({ "callId": id, "reason": "missed" }));
        assert_eq!(caller.recv("call:missed").await, json!({ "callId": id }));
        let s = stats(&server).await;
        assert_eq!(
            (s["ringing"].as_u64(), s["missed"].as_u64()),
            (Some(0), Some(1))
        );
        server.stop().await;
    }

    async fn live_call_ends_with_timeout_after_max_call_ms() {
        let server = server("", "max_call_ms = 150").await;
        let a1 = agent(&server, "a1").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        let ended = caller.recv("call:ended").await;
        assert_eq!(ended, json!({ "callId": id, "reason": "timeout" }));
        server.stop().await;
    }
}
