//! Matches and staged calls (NET-02, UX-02, STATE-02, STATE-03, chaos cases).

mod common;

use std::time::Duration;

use common::{
    call, connect, eventually, join, matched, request_each_other_at_once, server, server_toml, user,
};
use plugboard_live_queue::Status;
use plugboard_testkit::dev_auth;
use serde_json::{Value, json};

plugboard_testkit::on_both_stores! {
    async fn a_requested_call_rings_the_callee_and_accepting_starts_it_for_both() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let m = matched(&mut a, &mut b).await;
        let ack = a.emit_with_ack("request-call", call(&m, "b")).await;
        assert_eq!(ack["status"], "ringing", "{ack}");
        let ring = b.recv("incoming-call").await;
        assert_eq!(
            ring,
            json!({ "matchId": m, "callerId": "a", "stage": "video" })
        );
        let ack = b
            .emit_with_ack("accept-call", json!({ "matchId": m }))
            .await;
        assert_eq!(ack["status"], "in-call");
        for c in [&mut a, &mut b] {
            let started = c.recv("call-started").await;
            assert_eq!(started["participants"], json!(["a", "b"]));
            assert_eq!(started["stage"], "video");
        }
        assert_eq!(lq.status("a").await.unwrap().status, Status::InCall);
        assert_eq!(lq.status("b").await.unwrap().status, Status::InCall);
        let ack = b.emit_with_ack("end-call", json!({ "matchId": m })).await;
        assert_eq!(ack["status"], "available");
        for c in [&mut a, &mut b] {
            assert_eq!(
                c.recv("call-ended").await,
                json!({ "matchId": m, "reason": "hangup" })
            );
        }
        assert_eq!(lq.status("a").await.unwrap().status, Status::Available);
        assert_eq!(lq.stats_now().await.unwrap().matches, 0);
        s.stop().await;
    }

    async fn mutual_requests_merge_into_exactly_one_call() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let m = matched(&mut a, &mut b).await;
        request_each_other_at_once(("a", &mut a), ("b", &mut b), &m).await;
        let st = lq.stats_now().await.unwrap();
        assert_eq!(
            (st.glare_merges, st.matches, st.by_status.in_call),
            (1, 1, 2)
        );
        s.stop().await;
    }

    async fn two_simultaneous_accepts_start_one_call() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let agent = |tab: &str| dev_auth("b", tab, &["agent"]);
        let mut b1 = connect(&s, agent("B1")).await;
        let b2 = connect(&s, agent("B2")).await;
        let m = matched(&mut a, &mut b1).await;
        a.emit_with_ack("request-call", call(&m, "b")).await;
        let accept = json!({ "matchId": m });
        let (r1, r2) = tokio::join!(
            b1.emit_with_ack("accept-call", accept.clone()),
            b2.emit_with_ack("accept-call", accept.clone())
        );
        let oks = [&r1, &r2].iter().filter(|r| r["ok"] == true).count();
        assert_eq!(oks, 1, "{r1} {r2}");
        let loser = if r1["ok"] == true { &r2 } else { &r1 };
        assert_eq!(loser["error"]["code"], "conflict");
        let events = a.drain(Duration::from_millis(200)).await;
        assert_eq!(
            events.iter().filter(|(n, _)| n == "call-started").count(),
            1
        );
        assert_eq!(lq.status("b").await.unwrap().status, Status::InCall);
        s.stop().await;
    }

    async fn calling_a_busy_user_or_while_busy_is_refused_and_rolls_nothing_forward() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let mut c = user(&s, "c").await;
        matched(&mut a, &mut b).await;
        let ack = c.emit_with_ack("request-call", call("x1", "a")).await;
        assert_eq!(ack["error"]["code"], "busy");
        // Without an ack the same refusal arrives as the frontend's own error event.
        c.emit("request-call", call("x1", "a")).await;
        assert_eq!(
            c.recv("staged-call-error").await,
            json!({ "error": "User is busy", "code": "busy" })
        );
        assert_eq!(
            lq.status("c").await.unwrap().status,
            Status::Available,
            "caller rolled back"
        );
        let ack = a.emit_with_ack("request-call", call("x2", "c")).await;
        assert_eq!(ack["error"]["message"], "You are busy");
        a.emit("request-call", call("x2", "c")).await;
        assert_eq!(a.recv("staged-call-error").await["error"], "You are busy");
        assert_eq!(lq.status("c").await.unwrap().status, Status::Available);
        assert_eq!(
            lq.stats_now().await.unwrap().matches,
            1,
            "failed requests leave no match behind"
        );
        let ack = c.emit_with_ack("request-call", call("x3", "c")).await;
        assert_eq!(ack["error"]["code"], "invalid_payload");
        s.stop().await;
    }

    async fn a_second_request_in_the_same_direction_is_call_already_in_progress() {
        let (s, _lq) = server("").await;
        let mut a = user(&s, "a").await;
        let _b = user(&s, "b").await;
        a.emit_with_ack("request-call", call("x", "b")).await;
        let ack = a.emit_with_ack("request-call", call("x", "b")).await;
        assert_eq!(ack["error"]["code"], "conflict");
        assert_eq!(ack["error"]["message"], "Call already in progress");
        a.emit("request-call", call("x", "b")).await;
        assert_eq!(
            a.recv("staged-call-error").await["error"],
            "Call already in progress"
        );
        s.stop().await;
    }

    async fn only_parties_may_join_a_match_room() {
        let (s, _lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let c = user(&s, "c").await;
        let m = matched(&mut a, &mut b).await;
        assert_eq!(a.emit_with_ack("join-match", json!(m)).await["ok"], true);
        assert_eq!(
            b.emit_with_ack("join-match", json!({ "matchId": m })).await["ok"],
            true
        );
        let ack = c.emit_with_ack("join-match", json!(m)).await;
        assert_eq!(ack["error"]["code"], "forbidden");
        let ack = c.emit_with_ack("join-match", json!("nope")).await;
        assert_eq!(ack["error"]["code"], "forbidden");
        s.stop().await;
    }

    async fn a_party_gone_past_the_grace_ends_the_call_for_the_other() {
        let (s, lq) = server("rejoin_grace_ms = 150").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let m = matched(&mut a, &mut b).await;
        a.emit_with_ack("request-call", call(&m, "b")).await;
        b.emit_with_ack("accept-call", json!({ "matchId": m }))
            .await;
        a.close().await;
        let ended = b.recv("call-ended").await;
        assert_eq!(
            ended,
            json!({ "matchId": m, "reason": "peer_disconnected" })
        );
        assert_eq!(lq.status("a").await.unwrap().status, Status::Available);
        assert_eq!(lq.status("b").await.unwrap().status, Status::Available);
        s.stop().await;
    }

    async fn a_party_back_within_the_grace_keeps_the_call() {
        let (s, lq) = server("rejoin_grace_ms = 400").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let m = matched(&mut a, &mut b).await;
        a.close().await;
        eventually("grace started", || async {
            lq.stats_now().await.unwrap().grace_timers == 1
        })
        .await;
        let a = user(&s, "a").await;
        assert_eq!(a.emit_with_ack("join-match", json!(m)).await["ok"], true);
        assert!(
            b.try_recv("call-ended", Duration::from_millis(700))
                .await
                .is_none()
        );
        assert_eq!(lq.status("a").await.unwrap().status, Status::Connecting);
        s.stop().await;
    }

    async fn an_ownerless_state_is_reset_by_the_zombie_sweeper() {
        let (s, lq) =
            server("rejoin_grace_ms = 60000\nzombie_ttl_ms = 100\nzombie_sweep_ms = 50").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let m = matched(&mut a, &mut b).await;
        a.close().await;
        let ended = b.recv("call-ended").await;
        assert_eq!(ended["matchId"], m.as_str());
        assert_eq!(lq.status("b").await.unwrap().status, Status::Available);
        assert!(lq.stats_now().await.unwrap().zombies_cleared >= 1);
        let hb = b
            .emit_with_ack("live-call:queue-heartbeat", Value::Null)
            .await;
        assert_eq!(hb["status"], "available");
        s.stop().await;
    }

    async fn a_second_tab_kicks_the_first_and_the_queue_place_survives() {
        let (s, lq) = server_toml(
            "[sessions]\npolicy = \"kick_old\"\n[handlers.live_queue]\nmatch_delay_ms = 5\n",
        )
        .await;
        let mut first = user(&s, "a").await;
        join(&first, json!({ "language": "de" })).await;
        let second = user(&s, "a").await;
        assert_eq!(
            first.recv("duplicate-connection").await,
            json!({ "message": "Logged in from another device" })
        );
        assert!(first.wait_disconnect(Duration::from_secs(2)).await);
        eventually("the kick is counted", || async {
            lq.stats_now().await.unwrap().duplicate_connections_kicked == 1
        })
        .await;
        assert!(lq.is_in_queue("a").await.unwrap());
        let hb = second
            .emit_with_ack("live-call:queue-heartbeat", Value::Null)
            .await;
        assert_eq!(hb["inQueue"], true);
        assert_eq!(lq.stats_now().await.unwrap().grace_timers, 0);
        s.stop().await;
    }

    async fn force_available_ends_the_match_for_both() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let mut b = user(&s, "b").await;
        let m = matched(&mut a, &mut b).await;
        let before = lq.force_available("a").await.unwrap().expect("was held");
        assert_eq!(before.status, Status::Connecting);
        let ended = b.recv("call-ended").await;
        assert_eq!(ended, json!({ "matchId": m, "reason": "ended_by_admin" }));
        assert_eq!(lq.status("b").await.unwrap().status, Status::Available);
        assert!(lq.force_available("a").await.unwrap().is_none());
        s.stop().await;
    }

    async fn calling_an_offline_user_is_refused_and_holds_nobody() {
        let (s, lq) = server("").await;
        let mut a = user(&s, "a").await;
        let ack = a.emit_with_ack("request-call", call("x", "ghost")).await;
        assert_eq!(ack["error"]["code"], "not_found");
        assert!(
            a.try_recv("staged-call-error", std::time::Duration::from_millis(200))
                .await
                .is_none(),
            "with an ack the error goes to the ack only"
        );
        a.emit("request-call", call("x", "ghost")).await;
        assert_eq!(
            a.recv("staged-call-error").await,
            json!({ "error": "User is offline", "code": "not_found" })
        );
        assert_eq!(lq.status("a").await.unwrap().status, Status::Available);
        assert_eq!(lq.status("ghost").await.unwrap().status, Status::Available);
        s.stop().await;
    }
}
