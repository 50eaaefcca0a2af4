//! Two nodes of one cluster (two hosts built from `config(..)` in one test, on Redis):
//! agents on different nodes see one ticket, warnings and room changes cross nodes, and
//! the background tasks that run on every node act once. Skipped without a Redis
//! (failed under CI=true).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

async fn on_redis(test: impl std::future::Future<Output = ()>) {
    plugboard_testkit::run_on("redis", test).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_on_different_nodes_collide_on_one_ticket() {
    on_redis(async {
        let (node1, tc1) = server("").await;
        let (node2, tc2) = server("").await;
        let mut ann = agent(&node1, "a1", "Ann").await;
        let mut bob = agent(&node2, "b1", "Bob").await;
        view(&ann, "T1").await;
        ann.recv("viewers:updated").await;
        let ack = view(&bob, "T1").await;
        assert_eq!(ids(&ack["viewers"]), ["a1", "b1"]);

        let warning = bob.recv("collision:warning").await;
        assert_eq!(warning["type"], "viewing");
        assert_eq!(warning["message"], "Ann is also viewing this ticket");
        assert_eq!(
            ann.recv("agent:joined").await,
            json!({ "ticketId": "T1", "agentId": "b1", "agentName": "Bob" })
        );
        for c in [&mut ann, &mut bob] {
            assert_eq!(
                ids(&c.recv("viewers:updated").await["viewers"]),
                ["a1", "b1"]
            );
        }
        assert!(tc1.is_collision("T1").await.unwrap() && tc2.is_collision("T1").await.unwrap());
        assert_eq!(tc1.stats().await.unwrap().total_viewers, 2);

        bob.emit_with_ack("ticket:leave", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(ann.recv("agent:left").await["reason"], "left");
        assert_eq!(ids(&ann.recv("viewers:updated").await["viewers"]), ["a1"]);
        node1.stop().await;
        node2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typing_collision_warning_reaches_a_typer_on_the_other_node() {
    on_redis(async {
        let (node1, _) = server("").await;
        let (node2, _) = server("").await;
        let mut ann = agent(&node1, "a1", "Ann").await;
        let mut ann_tab2 = agent(&node2, "a1", "Ann").await;
        let mut bob = agent(&node2, "b1", "Bob").await;
        for c in [&ann, &ann_tab2, &bob] {
            view(c, "T1").await;
        }
        ann.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert_eq!(bob.recv("agent:typing").await["agentId"], "a1");
        for c in [&mut ann, &mut ann_tab2, &mut bob] {
            c.drain(QUIET).await;
        }
        // Bob's node finds the collision; Ann's first tab is on the other node.
        bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        let to_ann = ann.recv("collision:warning").await;
        assert_eq!(to_ann["type"], "typing");
        assert_eq!(
            to_ann["message"],
            "Bob is also typing a reply on this ticket"
        );
        assert_eq!(
            ids(&ann_tab2.recv("collision:warning").await["agents"]),
            ["b1"]
        );
        assert_eq!(ids(&bob.recv("collision:warning").await["agents"]), ["a1"]);
        assert!(
            bob.try_recv("collision:warning", QUIET).await.is_none(),
            "one each"
        );
        node1.stop().await;
        node2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_on_one_node_takes_the_agents_sockets_on_another_node_out_of_the_room() {
    on_redis(async {
        let (node1, tc1) = server("").await;
        let (node2, _) = server("").await;
        let mut ann = agent(&node1, "a1", "Ann").await;
        let mut bob = agent(&node2, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&bob, "T1").await;
        ann.drain(QUIET).await;
        bob.drain(QUIET).await;
        assert!(tc1.kick("T1", "b1").await.unwrap());
        let told = json!({ "ticketId": "T1", "agentId": "b1", "reason": "left" });
        assert_eq!(bob.recv("agent:left").await, told);
        assert_eq!(ann.recv("agent:left").await, told);
        ann.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        assert!(ann.try_recv("agent:typing", QUIET).await.is_none());
        assert!(
            bob.try_recv("agent:typing", QUIET).await.is_none(),
            "bob's socket on node 2 left the room"
        );
        node1.stop().await;
        node2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_expiry_and_the_stale_sweep_run_on_every_node_and_act_once() {
    on_redis(async {
        let fast = "[handlers.ticket_collision]\ntyping_timeout_ms = 300\n\
                    stale_after_ms = 1200\nsweep_interval_ms = 50";
        let (node1, _) = server(fast).await;
        let (node2, tc2) = server(fast).await;
        let mut ann = agent(&node1, "a1", "Ann").await;
        let mut bob = agent(&node2, "b1", "Bob").await;
        view(&ann, "T1").await;
        view(&bob, "T1").await;
        bob.emit_with_ack("ticket:typing", json!({ "ticketId": "T1" }))
            .await;
        ann.recv("agent:stopped_typing").await;
        let seen = ann.drain(Duration::from_millis(300)).await;
        let again = seen
            .iter()
            .filter(|(e, _)| e == "agent:stopped_typing")
            .count();
        assert_eq!(again, 0, "one node ended the typing status: {seen:?}");

        // Bob stays active; Ann idles until both nodes' sweepers find her stale.
        let left = loop {
            bob.emit_with_ack("ticket:stop_typing", json!({ "ticketId": "T1" }))
                .await;
            if let Some(left) = bob.try_recv("agent:left", Duration::from_millis(100)).await {
                break left;
            }
        };
        assert_eq!(
            left,
            json!({ "ticketId": "T1", "agentId": "a1", "reason": "timeout" })
        );
        bob.emit_with_ack("ticket:stop_typing", json!({ "ticketId": "T1" }))
            .await;
        let seen = bob.drain(Duration::from_millis(300)).await;
        let again = seen.iter().filter(|(e, _)| e == "agent:left").count();
        assert_eq!(again, 0, "one node removed the stale viewer: {seen:?}");
        assert_eq!(tc2.stats().await.unwrap().total_viewers, 1);
        node1.stop().await;
        node2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_views_on_two_nodes_give_every_client_the_full_list_last() {
    on_redis(async {
        let (node1, tc1) = server("").await;
        let (node2, _) = server("").await;
        let mut clients = Vec::new();
        for i in 0..16 {
            let node = if i % 2 == 0 { &node1 } else { &node2 };
            clients.push(agent(node, &format!("a{i:02}"), &format!("A{i}")).await);
        }
        futures_util::future::join_all(clients.iter().map(|c| view(c, "T1"))).await;
        let want: Vec<String> = (0..16).map(|i| format!("a{i:02}")).collect();
        let mut viewers = ids(&serde_json::to_value(tc1.viewers("T1").await.unwrap()).unwrap());
        viewers.sort();
        assert_eq!(viewers, want);
        for c in &mut clients {
            // Every client hears the full list, and nothing older comes after it.
            loop {
                let update = c
                    .try_recv("viewers:updated", Duration::from_secs(5))
                    .await
                    .expect("the full viewer list reaches every client");
                if ids(&update["viewers"]).len() == 16 {
                    break;
                }
            }
            let later = c.drain(QUIET).await;
            assert!(
                later
                    .iter()
                    .all(|(e, v)| e != "viewers:updated" || ids(&v["viewers"]).len() == 16),
                "an older list came after the full one: {later:?}"
            );
        }
        node1.stop().await;
        node2.stop().await;
    })
    .await
}
