//! Viewing, leaving, tabs and disconnects as clients see them.

mod common;

use common::*;
use plugboard_testkit::dev_auth;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn a_view_is_acked_with_the_viewers_and_broadcast_to_the_room() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let ack = ann
            .emit_with_ack(
                "ticket:view",
                json!({ "ticketId": "T1", "agentName": "Ann S." }),
            )
            .await;
        assert_eq!(ack["ok"], true);
        assert_eq!(ack["ticketId"], "T1");
        let v = &ack["viewers"][0];
        assert_eq!(
            (v["agentId"].as_str(), v["agentName"].as_str()),
            (Some("a1"), Some("Ann S."))
        );
        assert_eq!(v["status"], "viewing");
        assert!(v["since"].as_u64().unwrap() > 1_600_000_000_000);
        let upd = ann.recv("viewers:updated").await;
        assert_eq!(upd["ticketId"], "T1");
        assert_eq!(upd["viewers"], ack["viewers"]);
        assert!(
            ann.try_recv("collision:warning", QUIET).await.is_none(),
            "alone: no warning"
        );
        assert!(tc.viewers("T1").await.unwrap()[0].agent_name == "Ann S.");
        server.stop().await;
    }

    async fn second_agent_viewing_gets_collision_warning_and_the_first_hears_agent_joined() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let mut bob = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        ann.recv("viewers:updated").await;
        let ack = view(&bob, "T1").await;
        assert_eq!(ids(&ack["viewers"]), ["a1", "b1"]);

        let warning = bob.recv("collision:warning").await;
        assert_eq!(warning["type"], "viewing");
        assert_eq!(warning["ticketId"], "T1");
        assert_eq!(ids(&warning["agents"]), ["a1"]);
        assert_eq!(warning["message"], "Ann is also viewing this ticket");

        let joined = ann.recv("agent:joined").await;
        assert_eq!(
            joined,
            json!({ "ticketId": "T1", "agentId": "b1", "agentName": "Bob" })
        );
        assert_eq!(
            ids(&ann.recv("viewers:updated").await["viewers"]),
            ["a1", "b1"]
        );
        assert!(
            bob.try_recv("agent:joined", QUIET).await.is_none(),
            "not about oneself"
        );
        assert!(ann.try_recv("collision:warning", QUIET).await.is_none());
        assert!(tc.is_collision("T1").await.unwrap());
        server.stop().await;
    }

    async fn a_second_tab_of_an_agent_is_the_same_viewer_and_closing_one_tab_keeps_it() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let tab1 = agent(&server, "b1", "Bob").await;
        let tab2 = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&tab1, "T1").await;
        ann.recv("agent:joined").await;
        let ack = view(&tab2, "T1").await;
        assert_eq!(ids(&ack["viewers"]), ["a1", "b1"]);
        assert!(
            ann.try_recv("agent:joined", QUIET).await.is_none(),
            "a tab is no new agent"
        );
        assert_eq!(tc.stats().await.unwrap().total_viewers, 2);

        tab1.close().await;
        assert!(ann.try_recv("agent:left", QUIET).await.is_none());
        let s = stats_until(&tc, |s| s.tracked_sockets == 2).await;
        assert_eq!(s.total_viewers, 2);
        assert_eq!(
            ids(&serde_json::to_value(tc.viewers("T1").await.unwrap()).unwrap()),
            ["a1", "b1"]
        );

        tab2.close().await;
        let left = ann.recv("agent:left").await;
        assert_eq!(
            left,
            json!({ "ticketId": "T1", "agentId": "b1", "reason": "disconnected" })
        );
        server.stop().await;
    }

    async fn leaving_tells_the_others_and_leaves_the_room() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let mut bob = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&bob, "T1").await;
        ann.drain(QUIET).await;
        let ack = bob
            .emit_with_ack("ticket:leave", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(ack, json!({ "ok": true, "ticketId": "T1" }));
        let left = ann.recv("agent:left").await;
        assert_eq!(
            left,
            json!({ "ticketId": "T1", "agentId": "b1", "reason": "left" })
        );
        assert_eq!(ids(&ann.recv("viewers:updated").await["viewers"]), ["a1"]);

        bob.drain(QUIET).await;
        ann.emit("ticket:typing", json!({ "ticketId": "T1" })).await;
        assert!(
            bob.try_recv("agent:typing", QUIET).await.is_none(),
            "bob left the room"
        );
        let again = bob
            .emit_with_ack("ticket:leave", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(again["ok"], true, "leaving twice is harmless");
        assert!(!tc.is_collision("T1").await.unwrap());
        server.stop().await;
    }

    async fn a_disconnect_leaves_every_ticket_at_once_and_no_state_behind() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let bob = agent(&server, "b1", "Bob").await;
        for t in ["T1", "T2"] {
            view(&ann, t).await;
            view(&bob, t).await;
        }
        bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T2" }))
            .await;
        ann.drain(QUIET).await;
        bob.close().await;
        let mut tickets = vec![];
        for _ in 0..2 {
            let left = ann.recv("agent:left").await;
            assert_eq!(
                (left["agentId"].as_str(), left["reason"].as_str()),
                (Some("b1"), Some("disconnected"))
            );
            tickets.push(left["ticketId"].as_str().unwrap().to_owned());
        }
        tickets.sort();
        assert_eq!(tickets, ["T1", "T2"]);
        let s = tc.stats().await.unwrap();
        assert_eq!(
            (s.active_tickets, s.total_viewers, s.typing_count),
            (2, 2, 0)
        );
        ann.close().await;
        until_empty(&tc).await;
        server.stop().await;
    }

    async fn the_host_can_kick_an_agent_off_a_ticket() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let mut bob = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&bob, "T1").await;
        ann.drain(QUIET).await;
        bob.drain(QUIET).await;
        assert!(tc.kick("T1", "b1").await.unwrap());
        assert!(!tc.kick("T1", "b1").await.unwrap());
        let told = json!({ "ticketId": "T1", "agentId": "b1", "reason": "left" });
        assert_eq!(ann.recv("agent:left").await, told);
        assert_eq!(
            bob.recv("agent:left").await,
            told,
            "the kicked agent learns it"
        );
        assert_eq!(ids(&ann.recv("viewers:updated").await["viewers"]), ["a1"]);
        ann.emit("ticket:typing", json!({ "ticketId": "T1" })).await;
        assert!(
            bob.try_recv("agent:typing", QUIET).await.is_none(),
            "out of the room"
        );
        let ack = bob
            .emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(ack["error"]["code"], "not_found");
        server.stop().await;
    }

    async fn stats_count_tickets_viewers_and_typers_and_cap_the_list() {
        let (server, tc) = server("[handlers.ticket_collision]\nstats_top = 2").await;
        let ann = agent(&server, "a1", "Ann").await;
        let bob = server.connect(dev_auth("b1", "Bob", &[])).await.unwrap();
        for t in ["T1", "T2", "T3"] {
            view(&ann, t).await;
        }
        view(&bob, "T2").await;
        ann.emit_with_ack("ticket:typing", json!({ "ticketId": "T2" }))
            .await;
        let s = tc.stats().await.unwrap();
        assert_eq!(
            (s.active_tickets, s.total_viewers, s.typing_count),
            (3, 4, 1)
        );
        assert_eq!(s.tickets.len(), 2);
        assert_eq!(
            (
                s.tickets[0].ticket_id.as_str(),
                s.tickets[0].viewer_count,
                s.tickets[0].typing_count
            ),
            ("T2", 2, 1)
        );
        let (status, body) = server.get("/stats").await;
        assert_eq!(status, 200);
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mine = &doc["handlers"]["ticket-collision"];
        assert_eq!(
            (
                mine["activeTickets"].as_u64(),
                mine["totalViewers"].as_u64(),
                mine["typingCount"].as_u64()
            ),
            (Some(3), Some(4), Some(1))
        );
        assert_eq!(
            mine["tickets"][0],
            json!({ "ticketId": "T2", "viewerCount": 2, "typingCount": 1 })
        );
        ann.close().await;
        bob.close().await;
        until_empty(&tc).await;
        server.stop().await;
    }

    async fn concurrent_views_leave_every_client_with_the_final_list_last() {
        let (server, _tc) = server("").await;
        let mut clients = Vec::new();
        for i in 0..5 {
            clients.push(agent(&server, &format!("a{i}"), &format!("A{i}")).await);
        }
        let acks = futures_util::future::join_all(clients.iter().map(|c| view(c, "T1"))).await;
        assert!(
            acks.iter()
                .any(|a| a["viewers"].as_array().unwrap().len() == 5)
        );
        for c in &mut clients {
            let seen = c.drain(QUIET).await;
            let last = seen
                .iter()
                .rev()
                .find(|(e, _)| e == "viewers:updated")
                .map(|(_, v)| v.clone())
                .unwrap();
            assert_eq!(ids(&last["viewers"]).len(), 5, "{last}");
        }
        server.stop().await;
    }
}
