//! Typing indicators, typing collisions and typing expiry.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn typing_is_announced_to_the_other_agents_not_to_the_typers_own_tabs() {
        let (server, _tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let bob = agent(&server, "b1", "Bob").await;
        let mut bob_tab2 = agent(&server, "b1", "Bob").await;
        for c in [&ann, &bob, &bob_tab2] {
            view(c, "T1").await;
        }
        ann.drain(QUIET).await;
        bob_tab2.drain(QUIET).await;
        let ack = bob
            .emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(
            ack,
            json!({ "ok": true, "ticketId": "T1", "status": "typing" })
        );
        let typing = ann.recv("agent:typing").await;
        assert_eq!(
            typing,
            json!({ "ticketId": "T1", "agentId": "b1", "agentName": "Bob" })
        );
        let upd = ann.recv("viewers:updated").await;
        let bob_row = upd["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["agentId"] == "b1")
            .unwrap()
            .clone();
        assert_eq!(bob_row["status"], "typing");
        assert_eq!(bob_tab2.recv("viewers:updated").await, upd);
        assert!(bob_tab2.try_recv("agent:typing", QUIET).await.is_none());

        bob.emit("ticket:typing", json!({ "ticketId": "T1" })).await;
        assert!(
            ann.try_recv("agent:typing", QUIET).await.is_none(),
            "still typing: no repeat"
        );

        let ack = bob_tab2
            .emit_with_ack("ticket:stop_typing", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(ack["status"], "viewing");
        let stopped = ann.recv("agent:stopped_typing").await;
        assert_eq!(
            stopped,
            json!({ "ticketId": "T1", "agentId": "b1", "agentName": "Bob" })
        );
        let upd = ann.recv("viewers:updated").await;
        assert!(
            upd["viewers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["status"] == "viewing")
        );
        bob.emit("ticket:stop_typing", json!({ "ticketId": "T1" }))
            .await;
        assert!(
            ann.try_recv("agent:stopped_typing", QUIET).await.is_none(),
            "not typing: no event"
        );
        server.stop().await;
    }

    async fn two_agents_typing_at_once_both_get_a_typing_collision_warning() {
        let (server, _tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let mut bob = agent(&server, "b1", "Bob").await;
        let mut cid = agent(&server, "c1", "Cid").await;
        for c in [&ann, &bob, &cid] {
            view(c, "T1").await;
        }
        for c in [&mut ann, &mut bob, &mut cid] {
            c.drain(QUIET).await;
        }
        ann.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert!(
            ann.try_recv("collision:warning", QUIET).await.is_none(),
            "one typer is fine"
        );
        bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        let to_bob = bob.recv("collision:warning").await;
        assert_eq!(to_bob["type"], "typing");
        assert_eq!(ids(&to_bob["agents"]), ["a1"]);
        assert_eq!(to_bob["agents"][0]["status"], "typing");
        assert_eq!(
            to_bob["message"],
            "Ann is also typing a reply on this ticket"
        );
        let to_ann = ann.recv("collision:warning").await;
        assert_eq!(ids(&to_ann["agents"]), ["b1"]);
        assert!(
            cid.try_recv("collision:warning", QUIET).await.is_none(),
            "cid only views"
        );

        cid.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(
            ids(&cid.recv("collision:warning").await["agents"]),
            ["a1", "b1"]
        );
        assert_eq!(
            ids(&ann.recv("collision:warning").await["agents"]),
            ["b1", "c1"]
        );
        assert_eq!(
            ids(&bob.recv("collision:warning").await["agents"]),
            ["a1", "c1"]
        );
        server.stop().await;
    }

    async fn typing_ends_by_itself_after_the_configured_time() {
        let (server, tc) = server("[handlers.ticket_collision]\ntyping_timeout_ms = 300").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let bob = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&bob, "T1").await;
        ann.drain(QUIET).await;
        let started = std::time::Instant::now();
        bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        ann.recv("agent:typing").await;
        ann.recv("viewers:updated").await;
        let stopped = ann.recv("agent:stopped_typing").await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(stopped["agentId"], "b1");
        let upd = ann.recv("viewers:updated").await;
        assert!(
            upd["viewers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["status"] == "viewing")
        );
        assert_eq!(tc.stats().await.unwrap().typing_count, 0);
        server.stop().await;
    }

    async fn a_new_typing_event_pushes_the_expiry_back() {
        let (server, _tc) = server("[handlers.ticket_collision]\ntyping_timeout_ms = 400").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let bob = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&bob, "T1").await;
        bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        let started = std::time::Instant::now();
        // Keep typing past the first deadline (a user typing steadily).
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
                .await;
        }
        let last = std::time::Instant::now();
        assert!(
            ann.try_recv("agent:stopped_typing", Duration::ZERO)
                .await
                .is_none()
        );
        ann.recv("agent:stopped_typing").await;
        assert!(started.elapsed() >= Duration::from_millis(900));
        assert!(last.elapsed() >= Duration::from_millis(400));
        server.stop().await;
    }
}
