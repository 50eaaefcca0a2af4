//! Subscribing and unsubscribing as a client sees it.

mod support;

use plugboard_testkit::dev_auth;
use std::sync::Arc;

use plugboard_timeline::{EntityKey, MemoryTimelineStore, Timeline, TimelineStore};
use serde_json::json;
use support::*;

plugboard_testkit::on_both_stores! {
    async fn subscribe_joins_the_entity_room_and_acks_room_and_count() {
        let (server, timeline) = server("").await;
        let a = client(&server, "a").await;
        let b = client(&server, "b").await;
        assert_eq!(
            subscribe(&a, "client", "c1").await,
            json!({ "ok": true, "room": "timeline:client:c1", "subscribers": 1 })
        );
        assert_eq!(subscribe(&b, "client", "c1").await["subscribers"], 2);
        assert_eq!(timeline.subscriber_count("client", "c1").await.unwrap(), 2);
        assert_eq!(server.host.io().local_room_len("timeline:client:c1"), 2);
        server.stop().await;
    }

    async fn subscribing_twice_is_harmless_and_counted_once() {
        let (server, timeline) = server("").await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "case", "k9").await;
        assert_eq!(subscribe(&a, "case", "k9").await["subscribers"], 1);
        assert_eq!(timeline.request_refresh("case", "k9").await.unwrap(), 1);
        let got = timeline_events(&mut a).await;
        assert_eq!(got.len(), 1, "one refresh, not two: {got:?}");
        let s = stats(&timeline).await;
        assert_eq!((s.total_sockets, s.total_entities), (1, 1));
        server.stop().await;
    }

    async fn invalid_entities_are_refused_with_invalid_payload_and_join_nothing() {
        let (server, timeline) = server("").await;
        let a = client(&server, "a").await;
        let long = "x".repeat(129);
        for bad in [
            json!({}),
            json!({ "entityType": "client" }),
            json!({ "entityId": "1" }),
            json!({ "entityType": "user", "entityId": "1" }),
            json!({ "entityType": "client", "entityId": "" }),
            json!({ "entityType": "client", "entityId": long }),
            json!({ "entityType": "client", "entityId": 42 }),
            json!("client:1"),
        ] {
            let ack = a.emit_with_ack("timeline:subscribe", bad.clone()).await;
            assert_eq!(ack["ok"], false, "{bad}");
            assert_eq!(ack["error"]["code"], "invalid_payload", "{bad}");
        }
        let ack = subscribe(&a, "user", "1").await;
        assert_eq!(ack["error"]["field"], "entityType");
        assert!(
            ack["error"]["message"]
                .as_str()
                .unwrap()
                .contains("client, contact, lead"),
            "{ack}"
        );
        assert!(
            a.emit_with_ack(
                "timeline:unsubscribe",
                json!({ "entityType": "nope", "entityId": "1" })
            )
            .await["error"]["code"]
                == "invalid_payload"
        );
        assert_eq!(
            stats(&timeline).await,
            plugboard_timeline::TimelineStats {
                total_sockets: 0,
                total_entities: 0,
                broadcasts: 0,
                skipped_broadcasts: 0,
                entities: vec![],
            }
        );
        let io = server.host.io();
        for room in ["timeline:user:1", "timeline:client:", "timeline:client:42"] {
            assert_eq!(io.local_room_len(room), 0, "{room}");
        }
        server.stop().await;
    }

    async fn without_an_ack_a_refusal_arrives_as_plugboard_error() {
        let (server, _timeline) = server("").await;
        let mut a = client(&server, "a").await;
        a.emit(
            "timeline:subscribe",
            json!({ "entityType": "client", "entityId": "" }),
        )
        .await;
        let err = a.recv("plugboard:error").await;
        assert_eq!(err["event"], "timeline:subscribe");
        assert_eq!(err["code"], "invalid_payload");
        server.stop().await;
    }

    async fn the_authorizer_refuses_with_forbidden_and_nothing_is_joined() {
        let only_billing_sees_invoices =
            |who: &plugboard::Identity, t: &str, _id: &str| t != "invoice" || who.has_role("billing");
        let (server, timeline) = server_with(
            "",
            Timeline::new().with_authorizer(only_billing_sees_invoices),
        )
        .await;
        let agent = client(&server, "agent").await;
        let billing = server
            .connect(dev_auth("bill", "Bill", &["billing"]))
            .await
            .unwrap();
        let ack = subscribe(&agent, "invoice", "i1").await;
        assert_eq!(ack["ok"], false);
        assert_eq!(ack["error"]["code"], "forbidden");
        assert_eq!(subscribe(&agent, "client", "c1").await["ok"], true);
        assert_eq!(subscribe(&billing, "invoice", "i1").await["subscribers"], 1);
        assert_eq!(timeline.subscriber_count("invoice", "i1").await.unwrap(), 1);
        assert_eq!(server.host.io().local_room_len("timeline:invoice:i1"), 1);
        server.stop().await;
    }

    async fn unsubscribe_stops_delivery_and_counts_drop() {
        let (server, timeline) = server("").await;
        let mut a = client(&server, "a").await;
        let mut b = client(&server, "b").await;
        subscribe(&a, "lead", "l1").await;
        subscribe(&b, "lead", "l1").await;
        assert_eq!(
            unsubscribe(&a, "lead", "l1").await,
            json!({ "ok": true, "subscribers": 1 })
        );
        // Unsubscribing again (or from an entity never followed) changes nothing.
        assert_eq!(unsubscribe(&a, "lead", "l1").await["subscribers"], 1);
        assert_eq!(unsubscribe(&a, "lead", "other").await["subscribers"], 0);
        assert_eq!(timeline.request_refresh("lead", "l1").await.unwrap(), 1);
        assert_eq!(b.recv("timeline:refresh").await["entityId"], "l1");
        assert!(timeline_events(&mut a).await.is_empty());
        assert_eq!(unsubscribe(&b, "lead", "l1").await["subscribers"], 0);
        assert!(!timeline.has_subscribers("lead", "l1").await.unwrap());
        let s = stats(&timeline).await;
        assert_eq!((s.total_sockets, s.total_entities), (0, 0));
        server.stop().await;
    }

    async fn disconnect_drops_every_subscription_and_state_returns_to_empty() {
        let (server, timeline) = server("").await;
        let a = client(&server, "a").await;
        let mut b = client(&server, "b").await;
        for id in ["t1", "t2", "t3"] {
            subscribe(&a, "ticket", id).await;
        }
        subscribe(&b, "ticket", "t1").await;
        let before = http_stats(&server).await;
        assert_eq!(before["totalSockets"], 2);
        assert_eq!(before["totalEntities"], 3);
        assert_eq!(
            before["entities"][0],
            json!({ "entityType": "ticket", "entityId": "t1", "subscribers": 2 })
        );
        a.close().await;
        // The disconnect hook runs after the close; wait for its effect, not for time.
        until("a's subscriptions are dropped", async || {
            stats(&timeline).await.total_entities == 1
        })
        .await;
        assert_eq!(timeline.subscriber_count("ticket", "t1").await.unwrap(), 1);
        assert_eq!(timeline.request_refresh("ticket", "t2").await.unwrap(), 0);
        assert_eq!(timeline.request_refresh("ticket", "t1").await.unwrap(), 1);
        b.recv("timeline:refresh").await;
        b.close().await;
        until("b's subscriptions are dropped", async || {
            stats(&timeline).await.total_sockets == 0
        })
        .await;
        let after = http_stats(&server).await;
        assert_eq!(after["totalEntities"], 0);
        assert_eq!(after["entities"], json!([]));
        server.stop().await;
    }

    async fn a_socket_over_its_subscription_limit_is_refused_with_forbidden() {
        let (server, timeline) = server("[handlers.timeline]\nmax_subscriptions_per_socket = 2").await;
        let a = client(&server, "a").await;
        subscribe(&a, "task", "1").await;
        subscribe(&a, "task", "2").await;
        let ack = subscribe(&a, "task", "3").await;
        assert_eq!(ack["error"]["code"], "forbidden");
        assert_eq!(ack["error"]["limit"], 2);
        assert_eq!(server.host.io().local_room_len("timeline:task:3"), 0);
        assert_eq!(stats(&timeline).await.total_entities, 2);
        unsubscribe(&a, "task", "1").await;
        assert_eq!(subscribe(&a, "task", "3").await["ok"], true);
        server.stop().await;
    }

    async fn configured_entity_types_replace_the_default_allow_list() {
        let (server, _timeline) =
            server("[handlers.timeline]\nentity_types = [\"deal\"]\nmax_entity_id_chars = 4").await;
        let a = client(&server, "a").await;
        assert_eq!(subscribe(&a, "deal", "d1").await["ok"], true);
        assert_eq!(
            subscribe(&a, "client", "c1").await["error"]["field"],
            "entityType"
        );
        assert_eq!(
            subscribe(&a, "deal", "12345").await["error"]["field"],
            "entityId"
        );
        server.stop().await;
    }

    async fn an_invalid_config_section_stops_start_up_with_the_key_named() {
        let config = plugboard_testkit::config("[handlers.timeline]\nentity_types = []");
        let mut b = plugboard::Plugboard::builder(config).unwrap();
        b.handler(Timeline::new()).unwrap();
        let err = b.start().await.unwrap_err().to_string();
        assert!(err.contains("entity_types"), "{err}");
        let config = plugboard_testkit::config("[handlers.timeline]\ntypo = 1");
        let mut b = plugboard::Plugboard::builder(config).unwrap();
        b.handler(Timeline::new()).unwrap();
        assert!(b.start().await.is_err());
    }

    async fn a_store_given_with_with_store_is_used_whatever_the_backend() {
        let store = Arc::new(MemoryTimelineStore::new());
        let (server, timeline) = server_with("", Timeline::with_store(store.clone())).await;
        let a = client(&server, "a").await;
        assert_eq!(subscribe(&a, "case", "k1").await["subscribers"], 1);
        let entity = EntityKey {
            entity_type: "case".into(),
            entity_id: "k1".into(),
        };
        assert_eq!(store.subscriber_count(&entity).await.unwrap(), 1);
        assert_eq!(timeline.subscriber_count("case", "k1").await.unwrap(), 1);
        server.stop().await;
    }
}
