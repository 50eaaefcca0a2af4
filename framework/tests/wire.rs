//! What clients see: identity, errors, replays, sessions, limits, renames, HTTP.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use plugboard_testkit::{ConnectError, TestServer, dev_auth};
use serde_json::{Value, json};
use support::{Recorder, builder};

fn token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn server(toml: &str) -> (TestServer, std::sync::Arc<Recorder>) {
    let mut b = builder(toml);
    let rec = b.handler(Recorder::default()).unwrap();
    (TestServer::start(b).await, rec)
}

/// Waits until `user` holds `n` sockets in the sessions index (a socket is added by its
/// connect job and removed by its cleanup, both just after the client saw the event).
async fn sockets_until(server: &TestServer, user: &str, n: usize) {
    for _ in 0..500 {
        if server.host.sessions().sockets_of(user).await.unwrap().len() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let now = server.host.sessions().sockets_of(user).await.unwrap();
    panic!("{user} holds {} sockets, not {n}", now.len());
}

plugboard_testkit::on_both_stores! {
    async fn jwt_identity_comes_from_the_token_not_the_payload() {
        let (server, _) = server("[auth]\nmode = \"jwt\"\njwt_secret = \"k\"").await;
        let t = token(
            "k",
            json!({"sub": "agent-7", "name": "Ann", "roles": ["agent"]}),
        );
        let c = server
            .connect(json!({ "token": t, "userId": "spoofed" }))
            .await
            .unwrap();
        let me = c
            .emit_with_ack("whoami", json!({ "userId": "spoofed" }))
            .await;
        assert_eq!(
            me,
            json!({"userId": "agent-7", "name": "Ann", "roles": ["agent"]})
        );
        server.stop().await;
    }

    async fn bad_or_missing_token_is_refused_at_connect_with_a_clear_message() {
        let (server, _) = server("[auth]\nmode = \"jwt\"\njwt_secret = \"k\"").await;
        let bad = token("other", json!({"sub": "x"}));
        match server.connect(json!({ "token": bad })).await {
            Err(ConnectError::Refused(m)) => assert!(m.starts_with("invalid token"), "{m}"),
            other => panic!("expected refusal, got {:?}", other.map(|c| c.sid)),
        }
        match server.connect(json!({})).await {
            Err(ConnectError::Refused(m)) => assert!(m.contains("auth.token"), "{m}"),
            other => panic!("expected refusal, got {:?}", other.map(|c| c.sid)),
        }
        server.stop().await;
    }

    async fn refusal_goes_to_the_ack_or_else_to_a_plugboard_error_event() {
        let (server, _) = server("").await;
        let mut c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let ack = c.emit_with_ack("refuse", json!({})).await;
        assert_eq!(
            ack,
            json!({"ok": false, "error": {"code": "forbidden", "message": "not for you"}})
        );
        c.emit("typed", json!({"id": 5})).await;
        let err = c.recv("plugboard:error").await;
        assert_eq!(err["event"], "typed");
        assert_eq!(err["code"], "invalid_payload");
        assert!(
            err["message"].as_str().unwrap().contains("invalid type"),
            "{err}"
        );
        let missing = c.emit_with_ack("typed", json!({})).await;
        assert!(
            missing["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing field `id`"),
            "{missing}"
        );
        server.stop().await;
    }

    async fn a_repeated_message_id_gets_the_first_answer_and_runs_once() {
        let (server, rec) = server("").await;
        let c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let first = c
            .emit_with_ack("count", json!({ "messageId": "m-1" }))
            .await;
        let again = c
            .emit_with_ack("count", json!({ "messageId": "m-1" }))
            .await;
        assert_eq!(first, json!({"ok": true, "run": 1}));
        assert_eq!(again, first);
        // Without an ack a repeat does nothing at all.
        c.emit("count", json!({ "messageId": "m-1" })).await;
        let other = c
            .emit_with_ack("count", json!({ "messageId": "m-2" }))
            .await;
        assert_eq!(other, json!({"ok": true, "run": 2}));
        assert_eq!(rec.runs.load(Ordering::SeqCst), 2);
        assert_eq!(server.host.stats().await["idempotentReplays"], 2);
        server.stop().await;
    }

    async fn message_ids_are_per_user() {
        let (server, rec) = server("").await;
        let a = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let b = server.connect(dev_auth("u2", "V", &[])).await.unwrap();
        a.emit_with_ack("count", json!({ "messageId": "same" }))
            .await;
        b.emit_with_ack("count", json!({ "messageId": "same" }))
            .await;
        assert_eq!(rec.runs.load(Ordering::SeqCst), 2);
        server.stop().await;
    }

    async fn kick_old_tells_the_older_socket_and_disconnects_it() {
        let (server, _) = server("[sessions]\npolicy = \"kick_old\"").await;
        let mut old = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let new = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let msg = old.recv("duplicate-connection").await;
        assert_eq!(msg, json!({"message": "Logged in from another device"}));
        assert!(old.wait_disconnect(Duration::from_secs(5)).await);
        assert_eq!(new.emit_with_ack("count", json!({})).await["ok"], true);
        sockets_until(&server, "u1", 1).await;
        server.stop().await;
    }

    async fn agents_keep_several_tabs_under_kick_old() {
        let (server, _) = server("[sessions]\npolicy = \"kick_old\"").await;
        let mut one = server
            .connect(dev_auth("a1", "A", &["agent"]))
            .await
            .unwrap();
        let _two = server
            .connect(dev_auth("a1", "A", &["agent"]))
            .await
            .unwrap();
        assert!(
            one.try_recv("duplicate-connection", Duration::from_millis(300))
                .await
                .is_none()
        );
        sockets_until(&server, "a1", 2).await;
        server.stop().await;
    }

    async fn a_socket_over_its_event_rate_gets_rate_limited() {
        let (server, _) = server("[limits]\nevents_per_second = 1\nevent_burst = 2").await;
        let c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let mut codes = Vec::new();
        for _ in 0..4 {
            let ack = c.emit_with_ack("count", json!({})).await;
            codes.push(ack["error"]["code"].as_str().unwrap_or("ok").to_owned());
        }
        assert_eq!(codes, vec!["ok", "ok", "rate_limited", "rate_limited"]);
        server.stop().await;
    }

    async fn renamed_events_are_heard_under_the_frontends_name() {
        let (server, rec) = server("[event_names]\n\"count\" = \"countIt\"").await;
        let c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        assert_eq!(c.emit_with_ack("countIt", json!({})).await["ok"], true);
        assert_eq!(
            c.emit_with_ack("count", json!({})).await["error"]["code"],
            "not_found"
        );
        assert_eq!(rec.runs.load(Ordering::SeqCst), 1);
        server.stop().await;
    }

    async fn stats_and_metrics_describe_the_server() {
        let (server, _) = server("").await;
        let c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        c.emit_with_ack("a", json!({})).await;
        c.emit_with_ack("refuse", json!({})).await;
        let (status, body) = server.get("/stats").await;
        assert_eq!(status, 200);
        let stats: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(stats["connections"], 1);
        assert_eq!(stats["handlers"]["recorder"]["seen"], 1);
        assert!(stats["uptimeSeconds"].is_u64());
        let (status, metrics) = server.get("/metrics").await;
        assert_eq!(status, 200);
        assert!(metrics.contains("plugboard_connections 1"), "{metrics}");
        assert!(
            metrics.contains(r#"plugboard_events_total{handler="recorder",event="a"} 1"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"plugboard_errors_total{code="forbidden"} 1"#),
            "{metrics}"
        );
        assert!(
            metrics.contains("plugboard_handler_duration_seconds_bucket"),
            "{metrics}"
        );
        assert_eq!(server.get("/healthz").await.0, 200);
        server.stop().await;
    }

    async fn the_sessions_index_is_empty_again_after_clients_leave() {
        let (server, _) = server("").await;
        let a = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let b = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        sockets_until(&server, "u1", 2).await;
        a.close().await;
        b.close().await;
        for _ in 0..200 {
            if server.host.sessions().users().await.unwrap() == 0
                && server.host.stats().await["connections"] == 0
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.host.sessions().users().await.unwrap(), 0);
        assert_eq!(server.host.stats().await["connections"], 0);
        server.stop().await;
    }

    async fn once_shutdown_has_begun_new_sockets_are_refused() {
        let (server, _) = server("").await;
        server.host.close_sockets().await;
        match server.connect(dev_auth("late", "L", &[])).await {
            // "server is shutting down" while cleanup runs, "Invalid namespace" once closed.
            Err(ConnectError::Refused(m)) => {
                assert!(
                    m == "server is shutting down" || m == "Invalid namespace",
                    "{m}"
                )
            }
            Err(ConnectError::Transport(_)) => {}
            Ok(_) => panic!("a socket was accepted during shutdown"),
        }
        assert_eq!(server.get("/healthz").await.0, 503);
        server.stop().await;
    }

    async fn every_socket_is_in_a_room_named_by_its_id_and_its_users_room() {
        let (server, _) = server("").await;
        let mut one = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let mut two = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let io = server.host.io();
        io.to(one.sid.clone())
            .emit("direct", &json!({ "n": 1 }))
            .await;
        assert_eq!(one.recv("direct").await, json!({ "n": 1 }));
        assert!(
            two.try_recv("direct", Duration::from_millis(200))
                .await
                .is_none()
        );
        io.to(plugboard::user_room("u1"))
            .except(one.sid.clone())
            .emit("others", &json!({}))
            .await;
        assert!(
            two.try_recv("others", Duration::from_secs(2))
                .await
                .is_some()
        );
        assert!(
            one.try_recv("others", Duration::from_millis(200))
                .await
                .is_none()
        );
        server.stop().await;
    }

    async fn a_handler_may_name_its_own_error_event_for_clients_without_ack() {
        let (server, _) = server("").await;
        let mut c = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let ack = c.emit_with_ack("refuse-own", json!({})).await;
        assert_eq!(
            ack,
            json!({"ok": false, "error": {"code": "busy", "message": "You are busy"}})
        );
        assert!(
            c.try_recv("own-error", Duration::from_millis(200))
                .await
                .is_none(),
            "nothing besides the ack"
        );
        c.emit("refuse-own", json!({})).await;
        assert_eq!(
            c.recv("own-error").await,
            json!({"error": "You are busy", "code": "busy"})
        );
        assert!(
            c.try_recv("plugboard:error", Duration::from_millis(200))
                .await
                .is_none()
        );
        server.stop().await;
    }
}
