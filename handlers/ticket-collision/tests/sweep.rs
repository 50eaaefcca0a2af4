//! The stale-viewer sweep, on a short configured interval.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const FAST: &str = "[handlers.ticket_collision]\nstale_after_ms = 1000\nsweep_interval_ms = 50";

plugboard_testkit::on_both_stores! {
    async fn idle_viewers_are_swept_with_reason_timeout_while_active_ones_stay() {
        let (server, tc) = server(FAST).await;
        let mut ann = agent(&server, "a1", "Ann").await;
        let mut bob = agent(&server, "b1", "Bob").await;
        view(&ann, "T1").await;
        let idle_since = std::time::Instant::now();
        view(&bob, "T1").await;
        bob.drain(Duration::ZERO).await;
        // Bob stays active (each stop_typing counts as activity); Ann does nothing.
        let left = loop {
            bob.emit_with_ack("ticket:stop_typing", json!({ "ticketId": "T1" }))
                .await;
            if let Some(left) = bob.try_recv("agent:left", Duration::from_millis(100)).await {
                break left;
            }
            assert!(
                idle_since.elapsed() < Duration::from_secs(5),
                "ann was never swept"
            );
        };
        assert!(idle_since.elapsed() >= Duration::from_millis(1000));
        assert_eq!(
            left,
            json!({ "ticketId": "T1", "agentId": "a1", "reason": "timeout" })
        );
        assert_eq!(
            ann.recv("agent:left").await,
            left,
            "the swept agent is told too"
        );
        assert_eq!(ids(&bob.recv("viewers:updated").await["viewers"]), ["b1"]);
        assert_eq!(
            ids(&serde_json::to_value(tc.viewers("T1").await.unwrap()).unwrap()),
            ["b1"]
        );
        let ack = ann
            .emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(ack["error"]["code"], "not_found", "swept: view again first");
        server.stop().await;
    }

    async fn a_swept_ticket_leaves_no_state_behind() {
        let (server, tc) = server(FAST).await;
        let mut ann = agent(&server, "a1", "Ann").await;
        view(&ann, "T1").await;
        view(&ann, "T2").await;
        ann.emit_with_ack("ticket:typing", json!({ "ticketId": "T2" }))
            .await;
        for _ in 0..2 {
            assert_eq!(ann.recv("agent:left").await["reason"], "timeout");
        }
        until_empty(&tc).await;
        server.stop().await;
    }

    async fn the_host_can_sweep_on_demand() {
        let (server, tc) = server("").await;
        let mut ann = agent(&server, "a1", "Ann").await;
        view(&ann, "T1").await;
        assert_eq!(
            tc.sweep_now(0).await,
            0,
            "nothing idle since before the epoch"
        );
        assert_eq!(tc.sweep_now(u64::MAX).await, 1);
        assert_eq!(ann.recv("agent:left").await["reason"], "timeout");
        until_empty(&tc).await;
        server.stop().await;
    }
}
