//! 100 simultaneous denies of one call from 10 agents: one transition, one broadcast.

mod common;

use common::*;
use futures_util::future::join_all;
use serde_json::json;

plugboard_testkit::on_both_stores! {
    async fn hundred_simultaneous_denies_from_ten_agents_give_one_denied_and_one_broadcast() {
        let server = server("", "").await;
        let mut agents = Vec::new();
        for i in 0..10 {
            agents.push(agent(&server, &format!("a{i}")).await);
        }
        let mut caller = user(&server, "u1").await;
        let id = ring(&caller, json!({})).await;
        let denies = agents
            .iter()
            .flat_map(|a| (0..10).map(|_| a.emit_with_ack("call:deny", json!({ "callId": id }))));
        let acks = join_all(denies).await;
        assert_eq!(acks.len(), 100);
        assert!(
            acks.iter()
                .all(|a| a["ok"] == true && a["status"] == "denied"),
            "{acks:?}"
        );
        let firsts = acks.iter().filter(|a| a.get("duplicate").is_none()).count();
        assert_eq!(firsts, 1);
        for a in &mut agents {
            let events = a.drain(QUIET).await;
            assert_eq!(count(&events, "call:removed"), 1, "{events:?}");
        }
        assert_eq!(count(&caller.drain(QUIET).await, "call:denied"), 1);
        let s = stats(&server).await;
        assert_eq!(
            (s["denied"].as_u64(), s["duplicateDenies"].as_u64()),
            (Some(1), Some(99))
        );
        assert_eq!(s["deniesViaSocket"], 100);
        server.stop().await;
    }
}
