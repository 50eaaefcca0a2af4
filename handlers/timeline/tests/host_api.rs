//! The Rust host API (`host.handler::<Timeline>()`) as subscribed clients see it.

mod support;

use plugboard_timeline::{EntityStats, TimelineError};
use serde::Serialize;
use serde_json::{Value, json};
use support::*;

/// Sends one event of each of the five kinds to `entity_type`/`entity_id`, returning the
/// reported reach of each.
async fn all_five(t: &plugboard_timeline::Timeline, ty: &str, id: &str) -> Vec<usize> {
    let item = json!({ "id": format!("{id}-i1"), "kind": "note", "text": "hi", "nested": { "n": [1, 2] } });
    let updated = json!({ "id": format!("{id}-i1"), "kind": "note", "text": "edited" });
    vec![
        t.broadcast_new_item(ty, id, &item).await.unwrap(),
        t.broadcast_item_updated(ty, id, &updated).await.unwrap(),
        t.broadcast_item_deleted(ty, id, &format!("{id}-i1"))
            .await
            .unwrap(),
        t.request_refresh(ty, id).await.unwrap(),
        t.broadcast_bulk_update(ty, id, &[json!({ "id": "b1" }), json!({ "id": "b2" })])
            .await
            .unwrap(),
    ]
}

fn expected(ty: &str, id: &str) -> Vec<(String, Value)> {
    let e = |name: &str, v: Value| (name.to_owned(), v);
    vec![
        e(
            "timeline:new_item",
            json!({ "entityType": ty, "entityId": id, "item": { "id": format!("{id}-i1"), "kind": "note", "text": "hi", "nested": { "n": [1, 2] } } }),
        ),
        e(
            "timeline:item_updated",
            json!({ "entityType": ty, "entityId": id, "item": { "id": format!("{id}-i1"), "kind": "note", "text": "edited" } }),
        ),
        e(
            "timeline:item_deleted",
            json!({ "entityType": ty, "entityId": id, "itemId": format!("{id}-i1") }),
        ),
        e(
            "timeline:refresh",
            json!({ "entityType": ty, "entityId": id }),
        ),
        e(
            "timeline:bulk_update",
            json!({ "entityType": ty, "entityId": id, "items": [{ "id": "b1" }, { "id": "b2" }] }),
        ),
    ]
}

plugboard_testkit::on_both_stores! {
    async fn two_clients_on_one_entity_and_one_on_another_receive_exactly_their_entitys_events() {
        let (server, timeline) = server("").await;
        let mut a = client(&server, "a").await;
        let mut b = client(&server, "b").await;
        let mut c = client(&server, "c").await;
        subscribe(&a, "client", "c1").await;
        subscribe(&b, "client", "c1").await;
        subscribe(&c, "contact", "k7").await;

        assert_eq!(all_five(&timeline, "client", "c1").await, vec![2; 5]);
        assert_eq!(all_five(&timeline, "contact", "k7").await, vec![1; 5]);

        assert_eq!(timeline_events(&mut a).await, expected("client", "c1"));
        assert_eq!(timeline_events(&mut b).await, expected("client", "c1"));
        assert_eq!(timeline_events(&mut c).await, expected("contact", "k7"));
        let s = stats(&timeline).await;
        assert_eq!((s.broadcasts, s.skipped_broadcasts), (10, 0));
        server.stop().await;
    }

    async fn a_broadcast_to_an_entity_without_subscribers_is_skipped_and_counted() {
        let (server, timeline) = server("").await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "client", "c1").await;
        assert_eq!(all_five(&timeline, "client", "nobody").await, vec![0; 5]);
        // Same id, other type: a different entity.
        assert_eq!(timeline.request_refresh("lead", "c1").await.unwrap(), 0);
        assert!(timeline_events(&mut a).await.is_empty());
        let s = stats(&timeline).await;
        assert_eq!((s.broadcasts, s.skipped_broadcasts), (0, 6));
        assert_eq!(http_stats(&server).await["skippedBroadcasts"], 6);
        server.stop().await;
    }

    async fn typed_items_are_sent_as_the_host_serializes_them() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Activity {
            activity_id: u32,
            created_by: &'static str,
        }
        let (server, timeline) = server("").await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "task", "t1").await;
        let act = Activity {
            activity_id: 9,
            created_by: "u1",
        };
        assert_eq!(
            timeline
                .broadcast_new_item("task", "t1", &act)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            a.recv("timeline:new_item").await,
            json!({ "entityType": "task", "entityId": "t1", "item": { "activityId": 9, "createdBy": "u1" } })
        );
        server.stop().await;
    }

    async fn invalid_entities_and_items_are_refused_and_send_nothing() {
        let (server, timeline) = server("").await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "client", "c1").await;
        let field = |r: Result<usize, TimelineError>| r.unwrap_err().field();
        assert_eq!(
            field(timeline.broadcast_new_item("user", "c1", &json!({})).await),
            Some("entityType")
        );
        assert_eq!(
            field(timeline.request_refresh("client", "").await),
            Some("entityId")
        );
        assert_eq!(
            field(timeline.request_refresh("client", &"x".repeat(129)).await),
            Some("entityId")
        );
        assert_eq!(
            field(
                timeline
                    .broadcast_new_item("client", "c1", &json!("text"))
                    .await
            ),
            Some("item")
        );
        assert_eq!(
            field(
                timeline
                    .broadcast_item_updated("client", "c1", &json!([1]))
                    .await
            ),
            Some("item")
        );
        assert_eq!(
            field(timeline.broadcast_item_deleted("client", "c1", "").await),
            Some("itemId")
        );
        assert_eq!(
            field(
                timeline
                    .broadcast_bulk_update("client", "c1", &[json!({}), json!(3)])
                    .await
            ),
            Some("items")
        );
        assert!(timeline.has_subscribers("nope", "1").await.is_err());
        assert!(timeline_events(&mut a).await.is_empty());
        let s = stats(&timeline).await;
        assert_eq!((s.broadcasts, s.skipped_broadcasts), (0, 0));
        server.stop().await;
    }

    async fn counts_and_stats_are_exact_and_the_list_is_capped_at_top_n() {
        let (server, timeline) = server("[handlers.timeline]\nstats_top_n = 2").await;
        let a = client(&server, "a").await;
        let b = client(&server, "b").await;
        let c = client(&server, "c").await;
        for s in [&a, &b, &c] {
            subscribe(s, "case", "big").await;
        }
        for s in [&a, &b] {
            subscribe(s, "case", "mid").await;
        }
        subscribe(&a, "case", "small").await;
        assert!(timeline.has_subscribers("case", "mid").await.unwrap());
        assert_eq!(timeline.subscriber_count("case", "big").await.unwrap(), 3);
        assert_eq!(timeline.subscriber_count("case", "none").await.unwrap(), 0);
        let s = stats(&timeline).await;
        assert_eq!((s.total_sockets, s.total_entities), (3, 3));
        let row = |id: &str, n| EntityStats {
            entity_type: "case".into(),
            entity_id: id.into(),
            subscribers: n,
        };
        assert_eq!(s.entities, vec![row("big", 3), row("mid", 2)]);
        assert_eq!(
            http_stats(&server).await,
            json!({
                "totalSockets": 3, "totalEntities": 3, "broadcasts": 0, "skippedBroadcasts": 0,
                "entities": [
                    { "entityType": "case", "entityId": "big", "subscribers": 3 },
                    { "entityType": "case", "entityId": "mid", "subscribers": 2 },
                ],
            })
        );
        server.stop().await;
    }
}
