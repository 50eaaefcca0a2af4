//! Seed 000's HTTP fallback and verification: the same deny as the socket, same
//! idempotency, same broadcasts once; bearer key or agent JWT.

mod common;

use axum::http::Method;
use common::*;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

const KEYS: &str = "[http]\napi_key = \"k1\"\n[auth]\njwt_secret = \"s3cret\"";

fn token(sub: &str, roles: &[&str]) -> String {
    let claims = json!({ "sub": sub, "roles": roles });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"s3cret"),
    )
    .unwrap()
}

async fn patch(
    server: &plugboard_testkit::TestServer,
    id: &str,
    bearer: &str,
    body: &str,
) -> (u16, Value) {
    let path = format!("/api/calls/{id}");
    http(server, Method::PATCH, &path, Some(bearer), Some(body)).await
}

const DENY: &str = r#"{"status":"denied"}"#;

plugboard_testkit::on_both_stores! {
    async fn the_api_needs_the_bearer_key_or_an_agent_token() {
        let server = server(KEYS, "").await;
        let (status, body) = http(&server, Method::GET, "/api/calls", None, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized"))
        );
        assert_eq!(
            http(&server, Method::GET, "/api/calls", Some("k2"), None)
                .await
                .0,
            401
        );
        let user_token = token("u1", &[]);
        assert_eq!(
            http(&server, Method::GET, "/api/calls", Some(&user_token), None)
                .await
                .0,
            403
        );
        let forged = jsonwebtoken::encode(
            &Header::default(),
            &json!({ "sub": "a1", "roles": ["agent"] }),
            &EncodingKey::from_secret(b"other"),
        )
        .unwrap();
        assert_eq!(
            http(&server, Method::GET, "/api/calls", Some(&forged), None)
                .await
                .0,
            401
        );
        assert_eq!(
            http(&server, Method::GET, "/api/calls", Some("k1"), None)
                .await
                .0,
            200
        );
        let agent_token = token("a1", &["agent"]);
        assert_eq!(
            http(&server, Method::GET, "/api/calls", Some(&agent_token), None)
                .await
                .0,
            200
        );
        server.stop().await;

        let bare = common::server("", "").await;
        let (status, _) = http(&bare, Method::GET, "/api/calls", Some("k1"), None).await;
        assert_eq!(status, 404, "no key and no JWT secret: the API is off");
        bare.stop().await;
    }

    async fn deny_over_the_socket_then_patch_answers_duplicate_and_broadcasts_nothing_again() {
        let server = server(KEYS, "").await;
        let (a1, mut a2) = (agent(&server, "a1").await, agent(&server, "a2").await);
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        a1.emit_with_ack("call:deny", json!({ "callId": id })).await;
        let (status, body) = patch(&server, &id, &token("a2", &["agent"]), DENY).await;
        assert_eq!(status, 200);
        assert_eq!(
            (body["status"].as_str(), body["duplicate"].as_bool()),
            (Some("denied"), Some(true))
        );
        assert_eq!(count(&a2.drain(QUIET).await, "call:removed"), 1);
        assert_eq!(count(&caller.drain(QUIET).await, "call:denied"), 1);
        let s = stats(&server).await;
        assert_eq!(
            (s["deniesViaSocket"].as_u64(), s["deniesViaHttp"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(s["httpFallbackRate"], 0.5);
        server.stop().await;
    }

    async fn patch_then_socket_deny_answers_duplicate_over_the_socket() {
        let server = server(KEYS, "").await;
        let mut a1 = agent(&server, "a1").await;
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        let (status, body) = patch(&server, &id, "k1", DENY).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("denied")));
        assert_eq!(body.get("duplicate"), None);
        assert_eq!(
            a1.recv("call:removed").await,
            json!({ "callId": id, "reason": "denied" })
        );
        let ack = a1.emit_with_ack("call:deny", json!({ "callId": id })).await;
        assert_eq!(ack["duplicate"], true);
        assert_eq!(count(&a1.drain(QUIET).await, "call:removed"), 0);
        assert_eq!(count(&caller.drain(QUIET).await, "call:denied"), 1);
        server.stop().await;
    }

    async fn patch_answers_404_409_and_400_and_changes_nothing() {
        let server = server(KEYS, "").await;
        let a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        assert_eq!(patch(&server, "nope", "k1", DENY).await.0, 404);
        for bad in [
            "not json",
            "{}",
            r#"{"status":"accepted"}"#,
            r#"{"status":"denied","x":1}"#,
        ] {
            let (status, body) = patch(&server, &id, "k1", bad).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (400, Some("invalid_payload")),
                "{bad}"
            );
        }
        assert_eq!(stats(&server).await["ringing"], 1);
        a1.emit_with_ack("call:accept", json!({ "callId": id }))
            .await;
        let (status, body) = patch(&server, &id, "k1", DENY).await;
        assert_eq!(
            (status, body["error"]["status"].as_str()),
            (409, Some("accepted"))
        );
        server.stop().await;
    }

    async fn get_reads_fresh_server_truth() {
        let server = server(KEYS, "").await;
        let a1 = agent(&server, "a1").await;
        let caller = user(&server, "u1").await;
        let id = ring(&caller, json!({ "requestId": "r1" })).await;
        let (_, list) = http(
            &server,
            Method::GET,
            "/api/calls?status=ringing",
            Some("k1"),
            None,
        )
        .await;
        assert_eq!(list["calls"].as_array().unwrap().len(), 1);
        assert_eq!(list["calls"][0]["callId"].as_str(), Some(id.as_str()));
        a1.emit_with_ack("call:deny", json!({ "requestId": "r1" }))
            .await;
        let (_, list) = http(
            &server,
            Method::GET,
            "/api/calls?status=ringing",
            Some("k1"),
            None,
        )
        .await;
        assert_eq!(list["calls"], json!([]));
        let (status, one) = http(
            &server,
            Method::GET,
            &format!("/api/calls/{id}"),
            Some("k1"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (one["call"]["status"].as_str(), one["call"]["by"].as_str()),
            (Some("denied"), Some("a1"))
        );
        assert_eq!(
            http(&server, Method::GET, "/api/calls/nope", Some("k1"), None)
                .await
                .0,
            404
        );
        let (status, _) = http(
            &server,
            Method::GET,
            "/api/calls?status=lost",
            Some("k1"),
            None,
        )
        .await;
        assert_eq!(status, 400);
        server.stop().await;
    }

    async fn post_creates_a_ringing_call_from_a_host_service_once() {
        let server = server(KEYS, "").await;
        let mut a1 = agent(&server, "a1").await;
        let body = r#"{"callerId":"u9","requestId":"ext-1"}"#;
        let (status, created) = http(&server, Method::POST, "/api/calls", Some("k1"), Some(body)).await;
        assert_eq!((status, created["status"].as_str()), (201, Some("ringing")));
        assert_eq!(a1.recv("call:incoming").await["call"]["callerId"], "u9");
        let (status, again) = http(&server, Method::POST, "/api/calls", Some("k1"), Some(body)).await;
        assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));
        assert_eq!(again["callId"], created["callId"]);
        let (status, _) = http(&server, Method::POST, "/api/calls", Some("k1"), Some("{}")).await;
        assert_eq!(status, 400);
        let as_other = r#"{"callerId":"someone-else"}"#;
        let agent_token = token("a5", &["agent"]);
        let (status, _) = http(
            &server,
            Method::POST,
            "/api/calls",
            Some(&agent_token),
            Some(as_other),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(count(&a1.drain(QUIET).await, "call:incoming"), 0);
        server.stop().await;
    }
}
