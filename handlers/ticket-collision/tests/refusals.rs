//! Bad input, unknown tickets, authorization and limits: clear errors, no state change.

mod common;

use common::*;
use plugboard_ticket_collision::TicketCollision;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn invalid_payloads_are_refused_and_change_nothing() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let long = "x".repeat(257);
        for event in [
            "ticket:view",
            "ticket:typing",
            "ticket:stop_typing",
            "ticket:leave",
        ] {
            for bad in [
                json!({}),
                json!({ "ticketId": 42 }),
                json!({ "ticketId": null }),
                json!({ "ticketId": "" }),
                json!({ "ticketId": long }),
                json!({ "ticketId": ["T1"] }),
                json!("T1"),
            ] {
                let ack = ann.emit_with_ack(event, bad.clone()).await;
                assert_eq!(ack["ok"], false, "{event} {bad}");
                assert_eq!(
                    ack["error"]["code"], "invalid_payload",
                    "{event} {bad}: {ack}"
                );
            }
        }
        let bad_name = ann
            .emit_with_ack("ticket:view", json!({ "ticketId": "T1", "agentName": 7 }))
            .await;
        assert_eq!(bad_name["error"]["code"], "invalid_payload");
        let long_name = ann
            .emit_with_ack(
                "ticket:view",
                json!({ "ticketId": "T1", "agentName": long }),
            )
            .await;
        assert_eq!(long_name["error"]["code"], "invalid_payload");
        assert!(
            long_name["error"]["message"]
                .as_str()
                .unwrap()
                .contains("agentName")
        );

        ann.emit("ticket:view", json!({ "ticketid": "T1" })).await;
        let err = ann.recv("plugboard:error").await;
        assert_eq!(
            (err["event"].as_str(), err["code"].as_str()),
            (Some("ticket:view"), Some("invalid_payload"))
        );
        assert!(
            err["message"].as_str().unwrap().contains("ticketId"),
            "{err}"
        );
        assert!(ann.try_recv("viewers:updated", QUIET).await.is_none());
        assert_eq!(tc.stats().await.unwrap(), Default::default());
        server.stop().await;
    }

    async fn typing_on_a_ticket_the_socket_does_not_view_is_not_found() {
        let (server, tc) = server("").await;
        let ann = agent(&server, "a1", "Ann").await;
        let ann_tab2 = agent(&server, "a1", "Ann").await;
        view(&ann, "T1").await;
        for (c, ticket) in [(&ann, "T2"), (&ann_tab2, "T1")] {
            for event in ["ticket:typing", "ticket:stop_typing"] {
                let ack = c.emit_with_ack(event, json!({ "ticketId": ticket })).await;
                assert_eq!(ack["error"]["code"], "not_found", "{event} {ticket}");
                assert!(
                    ack["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("ticket:view")
                );
            }
        }
        let s = tc.stats().await.unwrap();
        assert_eq!((s.active_tickets, s.typing_count), (1, 0));
        server.stop().await;
    }

    async fn the_host_can_refuse_views_with_can_view() {
        let handler = TicketCollision::new()
            .with_can_view(|who, ticket| who.has_role("agent") && !ticket.starts_with("secret-"));
        let (server, tc) = server_with("", handler).await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let guest = server
            .connect(plugboard_testkit::dev_auth("g1", "Guest", &[]))
            .await
            .unwrap();
        let ack = ann
            .emit_with_ack("ticket:view", json!({ "ticketId": "secret-1" }))
            .await;
        assert_eq!(ack["error"]["code"], "forbidden");
        let ack = guest
            .emit_with_ack("ticket:view", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(ack["error"]["code"], "forbidden");
        assert!(ann.try_recv("viewers:updated", QUIET).await.is_none());
        assert_eq!(tc.stats().await.unwrap(), Default::default());
        view(&ann, "T1").await;
        server.stop().await;
    }

    async fn a_socket_may_view_only_so_many_tickets() {
        let (server, tc) = server("[handlers.ticket_collision]\nmax_tickets_per_socket = 2").await;
        let ann = agent(&server, "a1", "Ann").await;
        view(&ann, "T1").await;
        view(&ann, "T2").await;
        let ack = ann
            .emit_with_ack("ticket:view", json!({ "ticketId": "T3" }))
            .await;
        assert_eq!(ack["error"]["code"], "forbidden");
        assert_eq!(ack["error"]["limit"], 2);
        assert!(tc.viewers("T3").await.unwrap().is_empty());
        ann.emit_with_ack("ticket:leave", json!({ "ticketId": "T1" }))
            .await;
        view(&ann, "T3").await;
        server.stop().await;
    }

    async fn zero_durations_in_config_fail_start_up() {
        let mut b = plugboard::Plugboard::builder(
            plugboard_testkit::config("[handlers.ticket_collision]\ntyping_timeout_ms = 0"),
        )
        .unwrap();
        b.handler(TicketCollision::new()).unwrap();
        let err = b.start().await.unwrap_err().to_string();
        assert!(err.contains("typing_timeout_ms"), "{err}");
    }
}
