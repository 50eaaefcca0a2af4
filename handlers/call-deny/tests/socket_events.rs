//! call-deny as socket clients see it: request and deny (accept, end, cancel and the
//! timeouts are in `call_lifecycle.rs`).

mod common;

use common::*;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn request_rings_every_agent_and_acks_the_ringing_call() {
        let server = server("", "").await;
        let (mut a1, mut a2) = (agent(&server, "a1").await, agent(&server, "a2").await);
        let mut other = user(&server, "bystander").await;
        let caller = user(&server, "u1").await;
        let ack = caller
            .emit_with_ack("call:request", json!({ "requestId": "r-1" }))
            .await;
        assert_eq!(
            (ack["ok"].as_bool(), ack["status"].as_str()),
            (Some(true), Some("ringing"))
        );
        assert_eq!(ack["requestId"], "r-1");
        for a in [&mut a1, &mut a2] {
            let incoming = a.recv("call:incoming").await;
            assert_eq!(incoming["call"]["callId"], ack["callId"]);
            assert_eq!(incoming["call"]["callerId"], "u1");
            assert_eq!(incoming["call"]["status"], "ringing");
        }
        assert_eq!(count(&other.drain(QUIET).await, "call:incoming"), 0);
        server.stop().await;
    }

    async fn duplicate_request_returns_the_same_call_and_rings_once() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let first = caller.emit_with_ack("call:request", json!({})).await;
        let again = caller
            .emit_with_ack("call:request", serde_json::Value::Null)
            .await;
        assert_eq!(again["callId"], first["callId"]);
        assert_eq!(again["duplicate"], true);
        assert_eq!(count(&a1.drain(QUIET).await, "call:incoming"), 1);
        assert_eq!(stats(&server).await["ringing"], 1);
        server.stop().await;
    }

    async fn targeted_call_rings_only_the_target_who_may_deny_it() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let mut target = user(&server, "therapist").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({ "targetId": "therapist" })).await;
        assert_eq!(
            target.recv("call:incoming").await["call"]["targetId"],
            "therapist"
        );
        let ack = target
            .emit_with_ack("call:deny", json!({ "callId": id }))
            .await;
        assert_eq!(ack["status"], "denied");
        assert_eq!(target.recv("call:removed").await["reason"], "denied");
        assert_eq!(
            caller.recv("call:denied").await["callId"].as_str(),
            Some(id.as_str())
        );
        assert!(a1.drain(QUIET).await.is_empty());
        let self_call = caller
            .emit_with_ack("call:request", json!({ "targetId": "u1" }))
            .await;
        assert_eq!(self_call["error"]["code"], "invalid_payload");
        server.stop().await;
    }

    async fn deny_removes_the_call_from_every_agent_and_tells_the_caller_once() {
        let server = server("", "").await;
        let (a1, mut a2) = (agent(&server, "a1").await, agent(&server, "a2").await);
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        let ack = a1.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(
            ack,
            json!({ "ok": true, "callId": id, "requestId": ack["requestId"], "status": "denied" })
        );
        let removed = a2.recv("call:removed").await;
        assert_eq!(
            removed,
            json!({ "callId": id, "reason": "denied", "by": "a1" })
        );
        assert_eq!(caller.recv("call:denied").await, json!({ "callId": id }));
        let again = a2.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(
            (again["status"].as_str(), again["duplicate"].as_bool()),
            (Some("denied"), Some(true))
        );
        assert_eq!(count(&a2.drain(QUIET).await, "call:removed"), 0);
        assert_eq!(count(&caller.drain(QUIET).await, "call:denied"), 0);
        let s = stats(&server).await;
        assert_eq!(
            (s["denied"].as_u64(), s["duplicateDenies"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(s["deniesViaSocket"], 2);
        server.stop().await;
    }

    async fn rapid_ten_denies_give_one_transition_and_one_broadcast() {
        let server = server("", "").await;
        let mut a1 = agent(&server, "a1").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        for _ in 0..10 {
            a1.emit("call:deny", json!({ "callId": id })).await;
        }
        let events = a1.drain(QUIET).await;
        assert_eq!(count(&events, "call:removed"), 1, "{events:?}");
        assert_eq!(count(&events, "plugboard:error"), 0, "{events:?}");
        assert_eq!(count(&caller.drain(QUIET).await, "call:denied"), 1);
        let s = stats(&server).await;
        assert_eq!(
            (s["denied"].as_u64(), s["duplicateDenies"].as_u64()),
            (Some(1), Some(9))
        );
        server.stop().await;
    }

    async fn deny_by_request_id_needs_an_id_and_a_known_call() {
        let server = server("", "").await;
        let a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({ "requestId": "req-7" })).await;
        let missing = a1.emit_with_ack("call:deny", json!({})).await;
        assert_eq!(missing["error"]["code"], "invalid_payload");
        assert!(
            missing["error"]["message"]
                .as_str()
                .unwrap()
                .contains("callId or requestId")
        );
        let wrong_type = a1.emit_with_ack("call:deny", json!({ "callId": 5 })).await;
        assert_eq!(wrong_type["error"]["code"], "invalid_payload");
        let long = a1
            .emit_with_ack("call:deny", json!({ "callId": "x".repeat(129) }))
            .await;
        assert_eq!(long["error"]["code"], "invalid_payload");
        assert!(
            long["error"]["message"]
                .as_str()
                .unwrap()
                .contains("callId")
        );
        let unknown = a1
            .emit_with_ack("call:deny", json!({ "callId": "nope" }))
            .await;
        assert_eq!(unknown["error"]["code"], "not_found");
        let mismatch = a1
            .emit_with_ack("call:deny", json!({ "callId": id, "requestId": "other" }))
            .await;
        assert_eq!(mismatch["error"]["code"], "not_found");
        assert_eq!(
            stats(&server).await["ringing"],
            1,
            "bad input changes nothing"
        );
        let ok = a1
            .emit_with_ack("call:deny", json!({ "requestId": "req-7" }))
            .await;
        assert_eq!(
            (ok["callId"].as_str(), ok["status"].as_str()),
            (Some(id.as_str()), Some("denied"))
        );
        server.stop().await;
    }

    async fn only_agents_may_deny_or_accept_and_never_their_own_call() {
        let server = server("", "").await;
        let caller_agent = agent(&server, "a-caller").await;
        let stranger = user(&server, "u2").await;
        let id = ring(&caller_agent, json!({})).await;
        for (who, event) in [
            (&stranger, "call:deny"),
            (&stranger, "call:accept"),
            (&caller_agent, "call:deny"),
        ] {
            let ack = who.emit_with_ack(event, json!({ "callId": id })).await;
            assert_eq!(ack["error"]["code"], "forbidden", "{event}: {ack}");
        }
        assert_eq!(stats(&server).await["ringing"], 1);
        server.stop().await;
    }
}
