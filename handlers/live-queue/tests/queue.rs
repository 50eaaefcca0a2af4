//! The queue as clients see it (NET-01, NET-03, STATE-01, UX-01).

mod common;

use std::time::Duration;

use common::{eventually, join, matched, server, user};
use plugboard_live_queue::Status;
use serde_json::{Value, json};

plugboard_testkit::on_both_stores! {
    async fn join_is_acknowledged_with_status_and_position() {
        let (s, lq) = server("").await;
        let a = user(&s, "a").await;
        let ack = join(&a, json!({ "language": "de" })).await;
        assert_eq!(
            ack,
            json!({ "ok": true, "status": "queueing", "position": 1 })
        );
        let b = user(&s, "b").await;
        let ack = join(&b, json!({ "language": "en" })).await;
        assert_eq!(ack["position"], 2);
        assert!(lq.is_in_queue("a").await.unwrap());
        assert_eq!(lq.queue_len().await.unwrap(), 2);
        s.stop().await;
    }

    async fn ten_rapid_joins_keep_one_place_with_the_same_answer() {
        let (s, lq) = server("").await;
        let a = user(&s, "a").await;
        let b = user(&s, "b").await;
        join(&a, json!({ "language": "de" })).await;
        for _ in 0..10 {
            let ack = join(&b, json!({ "language": "en" })).await;
            assert_eq!(
                ack,
                json!({ "ok": true, "status": "queueing", "position": 2 })
            );
        }
        assert_eq!(lq.queue_len().await.unwrap(), 2);
        s.stop().await;
    }

    async fn two_compatible_users_are_matched_and_both_become_connecting() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        join(&a, json!({ "language": "en" })).await;
        join(&b, Value::Null).await;
        let fa = a.recv("live-call:match-found").await;
        let fb = b.recv("live-call:match-found").await;
        assert_eq!(fa["peer"], json!({ "userId": "b", "name": "B" }));
        assert_eq!(fb["peer"], json!({ "userId": "a", "name": "A" }));
        assert_eq!(fa["matchId"], fb["matchId"]);
        assert_eq!(lq.status("a").await.unwrap().status, Status::Connecting);
        assert_eq!(
            lq.status("b").await.unwrap().holder,
            fa["matchId"].as_str().map(str::to_owned)
        );
        assert_eq!(lq.queue_len().await.unwrap(), 0);
        assert_eq!(lq.stats_now().await.unwrap().matches_made, 1);
        s.stop().await;
    }

    async fn users_with_different_languages_are_not_matched() {
        let (s, _lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        join(&a, json!({ "language": "de" })).await;
        join(&b, json!({ "language": "fr" })).await;
        assert!(
            a.try_recv("live-call:match-found", Duration::from_millis(200))
                .await
                .is_none()
        );
        let mut c = user(&s, "c").await;
        join(&c, json!({ "language": "fr" })).await;
        let fc = c.recv("live-call:match-found").await;
        assert_eq!(fc["peer"]["userId"], "b", "FIFO among compatible");
        assert!(
            b.try_recv("live-call:match-found", Duration::from_secs(1))
                .await
                .is_some()
        );
        s.stop().await;
    }

    async fn a_matched_user_cannot_join_and_leave_is_refused_with_its_status() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        matched(&mut a, &mut b).await;
        let ack = join(&a, Value::Null).await;
        assert_eq!(ack["ok"], false);
        assert_eq!(ack["error"]["code"], "busy");
        assert_eq!(ack["error"]["status"], "connecting");
        let ack = a.emit_with_ack("live-call:leave-queue", Value::Null).await;
        assert_eq!(ack["error"]["code"], "conflict");
        assert_eq!(lq.status("a").await.unwrap().status, Status::Connecting);
        assert!(lq.stats_now().await.unwrap().cas_conflicts >= 2);
        s.stop().await;
    }

    async fn leaving_makes_the_user_available_and_the_heartbeat_says_so() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        join(&a, Value::Null).await;
        let hb = a
            .emit_with_ack("live-call:queue-heartbeat", Value::Null)
            .await;
        assert_eq!(hb["inQueue"], true);
        assert_eq!(hb["position"], 1);
        let status = a.recv("live-call:queue-status").await;
        assert_eq!(status["serverEpoch"], hb["serverEpoch"]);
        let ack = a.emit_with_ack("live-call:leave-queue", Value::Null).await;
        assert_eq!(ack, json!({ "ok": true, "status": "available" }));
        let hb = a
            .emit_with_ack("live-call:queue-heartbeat", Value::Null)
            .await;
        assert_eq!(hb["inQueue"], false);
        assert_eq!(hb["status"], "available");
        assert!(hb.get("position").is_none());
        assert!(!lq.is_in_queue("a").await.unwrap());
        s.stop().await;
    }

    async fn bad_preferences_are_refused_and_change_nothing() {
        let (s, lq) = server("").await;
        let a = user(&s, "a").await;
        for bad in [
            json!({ "language": 5 }),
            json!({ "language": "x".repeat(40) }),
            json!("en"),
        ] {
            let ack = join(&a, bad).await;
            assert_eq!(ack["error"]["code"], "invalid_payload", "{ack}");
        }
        assert_eq!(lq.queue_len().await.unwrap(), 0);
        assert_eq!(lq.status("a").await.unwrap().status, Status::Available);
        s.stop().await;
    }

    async fn a_user_back_within_the_grace_keeps_the_position_and_is_not_matched_while_away() {
        let (s, lq) = server("rejoin_grace_ms = 3000").await;
        let a = user(&s, "a").await;
        join(&a, json!({ "language": "de" })).await;
        let b = user(&s, "b").await;
        join(&b, json!({ "language": "en" })).await;
        a.close().await;
        eventually("a's place is suspended", || async {
            lq.stats_now().await.unwrap().grace_timers == 1
        })
        .await;
        let mut c = user(&s, "c").await;
        join(&c, json!({ "language": "de" })).await;
        assert!(
            c.try_recv("live-call:match-found", Duration::from_millis(200))
                .await
                .is_none(),
            "a disconnected user is not matched"
        );
        let a = user(&s, "a").await;
        let ack = join(&a, json!({ "language": "de" })).await;
        assert_eq!(ack["position"], 1, "{ack}");
        assert_eq!(c.recv("live-call:match-found").await["peer"]["userId"], "a");
        s.stop().await;
    }

    async fn a_user_not_back_within_the_grace_loses_the_place() {
        let (s, lq) = server("rejoin_grace_ms = 100").await;
        let a = user(&s, "a").await;
        join(&a, Value::Null).await;
        a.close().await;
        eventually("a left the queue", || async { lq.queue_len().await.unwrap() == 0 }).await;
        assert_eq!(lq.status("a").await.unwrap().status, Status::Available);
        let a = user(&s, "a").await;
        let hb = a
            .emit_with_ack("live-call:queue-heartbeat", Value::Null)
            .await;
        assert_eq!(hb["inQueue"], false);
        s.stop().await;
    }

    async fn the_state_is_empty_again_after_every_client_left() {
        let (s, lq) = server("rejoin_grace_ms = 50\nzombie_ttl_ms = 100\nzombie_sweep_ms = 50").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let c = user(&s, "c").await;
        matched(&mut a, &mut b).await;
        join(&c, Value::Null).await;
        a.close().await;
        b.close().await;
        c.close().await;
        eventually("everything is gone", || async {
            let st = lq.stats_now().await.unwrap();
            st.queue_length == 0
                && st.matches == 0
                && st.grace_timers == 0
                && st.by_status == Default::default()
        })
        .await;
        let stats = plugboard::Handler::stats(&*lq).await;
        assert_eq!(
            stats["queueLength"], 0,
            "/stats reads the store, no stale snapshot"
        );
        assert_eq!(
            stats["byStatus"],
            serde_json::json!({ "available": 0, "queueing": 0, "connecting": 0, "inCall": 0 })
        );
        s.stop().await;
    }
}
