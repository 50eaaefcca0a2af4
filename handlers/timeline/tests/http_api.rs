//! `POST /api/timeline/{entityType}/{entityId}`: the publish API for non-Rust services.

mod support;

use axum::body::Body;
use axum::http::{Request, header};
use plugboard_testkit::TestServer;
use serde_json::{Value, json};
use support::*;
use tower::ServiceExt;

const KEY: &str = "[http]\napi_key = \"s3cret\"";

async fn post(server: &TestServer, path: &str, bearer: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let res = server
        .host
        .router()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn publish(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    post(server, path, Some("s3cret"), &body.to_string()).await
}

plugboard_testkit::on_both_stores! {
    async fn every_kind_reaches_exactly_the_entitys_subscribers_and_answers_delivered() {
        let (server, timeline) = server(KEY).await;
        let mut a = client(&server, "a").await;
        let mut b = client(&server, "b").await;
        let mut c = client(&server, "c").await;
        subscribe(&a, "client", "c1").await;
        subscribe(&b, "client", "c1").await;
        subscribe(&c, "invoice", "i-2").await;
        let bodies = [
            json!({ "type": "new_item", "item": { "id": "x", "v": 1 } }),
            json!({ "type": "item_updated", "item": { "id": "x", "v": 2 } }),
            json!({ "type": "item_deleted", "itemId": "x" }),
            json!({ "type": "refresh" }),
            json!({ "type": "bulk_update", "items": [{ "id": "y" }] }),
        ];
        for body in &bodies {
            assert_eq!(
                publish(&server, "/api/timeline/client/c1", body.clone()).await,
                (200, json!({ "ok": true, "delivered": 2 }))
            );
        }
        assert_eq!(
            publish(&server, "/api/timeline/invoice/i-2", bodies[3].clone()).await,
            (200, json!({ "ok": true, "delivered": 1 }))
        );
        let want: Vec<(String, Value)> = vec![
            (
                "timeline:new_item".into(),
                json!({ "entityType": "client", "entityId": "c1", "item": { "id": "x", "v": 1 } }),
            ),
            (
                "timeline:item_updated".into(),
                json!({ "entityType": "client", "entityId": "c1", "item": { "id": "x", "v": 2 } }),
            ),
            (
                "timeline:item_deleted".into(),
                json!({ "entityType": "client", "entityId": "c1", "itemId": "x" }),
            ),
            (
                "timeline:refresh".into(),
                json!({ "entityType": "client", "entityId": "c1" }),
            ),
            (
                "timeline:bulk_update".into(),
                json!({ "entityType": "client", "entityId": "c1", "items": [{ "id": "y" }] }),
            ),
        ];
        assert_eq!(timeline_events(&mut a).await, want);
        assert_eq!(timeline_events(&mut b).await, want);
        assert_eq!(
            timeline_events(&mut c).await,
            vec![(
                "timeline:refresh".into(),
                json!({ "entityType": "invoice", "entityId": "i-2" })
            )]
        );
        assert_eq!(stats(&timeline).await.broadcasts, 6);
        server.stop().await;
    }

    async fn an_entity_without_subscribers_answers_delivered_zero() {
        let (server, timeline) = server(KEY).await;
        assert_eq!(
            publish(
                &server,
                "/api/timeline/lead/l1",
                json!({ "type": "refresh" })
            )
            .await,
            (200, json!({ "ok": true, "delivered": 0 }))
        );
        assert_eq!(stats(&timeline).await.skipped_broadcasts, 1);
        server.stop().await;
    }

    async fn a_missing_or_wrong_key_is_refused_with_401_and_delivers_nothing() {
        let (server, timeline) = server(KEY).await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "client", "c1").await;
        let body = json!({ "type": "refresh" }).to_string();
        for key in [None, Some("wrong"), Some("s3cret ")] {
            let (status, res) = post(&server, "/api/timeline/client/c1", key, &body).await;
            assert_eq!(status, 401, "{key:?}");
            assert_eq!(res["error"]["code"], "unauthorized");
        }
        // The key is checked before the body: a bad body without a key is still a 401.
        assert_eq!(
            post(&server, "/api/timeline/client/c1", None, "nope")
                .await
                .0,
            401
        );
        assert!(timeline_events(&mut a).await.is_empty());
        let s = stats(&timeline).await;
        assert_eq!((s.broadcasts, s.skipped_broadcasts), (0, 0));
        server.stop().await;
    }

    async fn without_a_configured_key_the_route_answers_404() {
        let (server, _timeline) = server("").await;
        let (status, res) = post(
            &server,
            "/api/timeline/client/c1",
            Some(""),
            &json!({ "type": "refresh" }).to_string(),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(res["error"]["code"], "not_found");
        server.stop().await;
    }

    async fn bad_bodies_and_entities_answer_400_naming_the_field() {
        let (server, timeline) = server(KEY).await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "client", "c1").await;
        let long = format!("/api/timeline/client/{}", "x".repeat(129));
        let cases: [(&str, &str, &str); 12] = [
            ("/api/timeline/client/c1", "{oops", "body"),
            ("/api/timeline/client/c1", "[1]", "body"),
            ("/api/timeline/client/c1", "{}", "type"),
            ("/api/timeline/client/c1", r#"{"type":"purge"}"#, "type"),
            ("/api/timeline/client/c1", r#"{"type":"new_item"}"#, "item"),
            (
                "/api/timeline/client/c1",
                r#"{"type":"item_updated","item":"x"}"#,
                "item",
            ),
            (
                "/api/timeline/client/c1",
                r#"{"type":"item_deleted"}"#,
                "itemId",
            ),
            (
                "/api/timeline/client/c1",
                r#"{"type":"bulk_update","items":[1]}"#,
                "items",
            ),
            (
                "/api/timeline/client/c1",
                r#"{"type":"bulk_update"}"#,
                "items",
            ),
            (
                "/api/timeline/user/c1",
                r#"{"type":"refresh"}"#,
                "entityType",
            ),
            (&long, r#"{"type":"refresh"}"#, "entityId"),
            (
                "/api/timeline/client/%20",
                r#"{"type":"item_deleted","itemId":""}"#,
                "itemId",
            ),
        ];
        for (path, body, field) in cases {
            let (status, res) = post(&server, path, Some("s3cret"), body).await;
            assert_eq!(status, 400, "{path} {body} -> {res}");
            assert_eq!(res["error"]["code"], "invalid_payload", "{body}");
            assert_eq!(res["error"]["field"], field, "{path} {body} -> {res}");
        }
        assert!(timeline_events(&mut a).await.is_empty());
        assert_eq!(stats(&timeline).await.broadcasts, 0);
        server.stop().await;
    }

    async fn a_body_over_the_configured_limit_is_refused_with_413() {
        let (server, _timeline) = server("[http]\napi_key = \"s3cret\"\nmax_body_bytes = 256").await;
        let mut a = client(&server, "a").await;
        subscribe(&a, "client", "c1").await;
        let big = json!({ "type": "new_item", "item": { "text": "x".repeat(300) } }).to_string();
        let (status, _) = post(&server, "/api/timeline/client/c1", Some("s3cret"), &big).await;
        assert_eq!(status, 413);
        assert!(timeline_events(&mut a).await.is_empty());
        let small = json!({ "type": "new_item", "item": { "text": "x" } }).to_string();
        assert_eq!(
            post(&server, "/api/timeline/client/c1", Some("s3cret"), &small)
                .await
                .0,
            200
        );
        server.stop().await;
    }
}
