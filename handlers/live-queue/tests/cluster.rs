//! Cluster mode on Redis: two hosts in one test are two nodes of one cluster. Users on
//! different nodes match and glare-merge; a dead node's party ends the call for its peer
//! after the grace; the sweeper cleans up what a grace timer lost with its node; a grace
//! restarted on another node is not cut short by the first node's older timer.

mod common;

use std::time::Duration;

use common::{eventually, join, matched, request_each_other_at_once, server_toml, user};
use plugboard::RedisStore;
use plugboard_live_queue::{
    BusyStateStore, MatchStore, Preferences, QueueStore, RedisLiveStore, Status,
};
use serde_json::json;

/// Nodes that notice a dead one within about a second.
fn node_toml(live_queue: &str) -> String {
    format!(
        "[cluster]\nheartbeat_ms = 100\nnode_timeout_ms = 1000\n\
         [handlers.live_queue]\nmatch_delay_ms = 5\n{live_queue}"
    )
}

/// Runs `test` on the test Redis only (a cluster needs it); skipped without Redis,
/// except under CI=true.
async fn on_redis<F: Future<Output = ()>>(test: F) {
    plugboard_testkit::run_on("redis", test).await
}

/// This test's cluster Redis, as a store outside any host.
async fn redis() -> RedisStore {
    plugboard_testkit::backend()
        .await
        .redis()
        .expect("a redis run")
        .clone()
}

/// Writes a node that stopped heartbeating, holding one socket of each of `users`, as a
/// crashed node leaves it (see framework/tests/cluster.rs).
async fn crashed_node(redis: &RedisStore, node: &str, users: &[&str]) {
    let sockets: Vec<_> = users
        .iter()
        .map(|u| {
            let identity = plugboard::Identity {
                user_id: (*u).into(),
                name: (*u).into(),
                roles: vec![],
            };
            (identity, plugboard::SocketId::new())
        })
        .collect();
    plugboard_testkit::crashed_node(redis, node, &sockets)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_two_nodes_match_and_their_simultaneous_requests_merge_into_one_call() {
    on_redis(async {
        let (n1, lq1) = server_toml(&node_toml("")).await;
        let (n2, lq2) = server_toml(&node_toml("")).await;
        let mut a = user(&n1, "a").await;
        let mut b = user(&n2, "b").await;
        let m = matched(&mut a, &mut b).await;
        request_each_other_at_once(("a", &mut a), ("b", &mut b), &m).await;
        let (s1, s2) = (
            lq1.stats_now().await.unwrap(),
            lq2.stats_now().await.unwrap(),
        );
        assert_eq!(s1.glare_merges + s2.glare_merges, 1, "one node merged");
        assert_eq!(s1.matches_made + s2.matches_made, 1, "one node matched");
        assert_eq!(
            (s1.matches, s1.by_status.in_call),
            (1, 2),
            "one shared state"
        );
        for u in ["a", "b"] {
            let st = lq2.status(u).await.unwrap();
            assert_eq!(
                (st.status, st.holder.as_deref()),
                (Status::InCall, Some(m.as_str()))
            );
        }
        n1.stop().await;
        n2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_on_a_dead_node_ends_the_call_for_its_peer_and_loses_its_place_after_the_grace() {
    on_redis(async {
        let (n1, lq) = server_toml(&node_toml("rejoin_grace_ms = 1500")).await;
        let mut b = user(&n1, "b").await;
        let redis = redis().await;
        let store = RedisLiveStore::new(redis.clone());
        // What the crashed node left: its user a in a call with b, its user q queueing.
        store
            .request_call("m1", "a", "b", "video")
            .await
            .unwrap()
            .unwrap();
        store.accept_call("m1", "b").await.unwrap().unwrap();
        store
            .join("q", "Q", &Preferences::default())
            .await
            .unwrap()
            .unwrap();
        crashed_node(&redis, "crashed", &["a", "q"]).await;
        eventually(
            "the reaper started both graces on the live node",
            || async { lq.stats_now().await.unwrap().grace_timers == 2 },
        )
        .await;
        assert!(
            lq.is_in_queue("q").await.unwrap(),
            "the place is kept during the grace"
        );
        assert!(!n1.host.sessions().is_connected("q").await.unwrap());
        assert_eq!(lq.status("a").await.unwrap().status, Status::InCall);
        let ended = b
            .try_recv("call-ended", Duration::from_secs(10))
            .await
            .expect("the call ends for the peer");
        assert_eq!(
            ended,
            json!({ "matchId": "m1", "reason": "peer_disconnected" })
        );
        eventually("the dead node's queue place is dropped", || async {
            !lq.is_in_queue("q").await.unwrap()
        })
        .await;
        for u in ["a", "b", "q"] {
            assert_eq!(lq.status(u).await.unwrap().status, Status::Available, "{u}");
        }
        assert_eq!(lq.queue_len().await.unwrap(), 0);
        n1.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_cleans_up_what_a_grace_timer_lost_with_its_node() {
    on_redis(async {
        let (n1, lq) = server_toml(&node_toml(
            "rejoin_grace_ms = 60000\nzombie_ttl_ms = 300\nzombie_sweep_ms = 100",
        ))
        .await;
        let mut b = user(&n1, "b").await;
        let store = RedisLiveStore::new(redis().await);
        // Users whose sockets had gone, with their grace timers on a node that then died:
        // no socket anywhere, no timer anywhere.
        store
            .request_call("m1", "ghost", "b", "video")
            .await
            .unwrap()
            .unwrap();
        store
            .join("gone", "Gone", &Preferences::default())
            .await
            .unwrap()
            .unwrap();
        assert!(store.suspend("gone").await.unwrap());
        let ended = b.recv("call-ended").await;
        assert_eq!(
            ended,
            json!({ "matchId": "m1", "reason": "peer_disconnected" })
        );
        eventually("the lost place is dropped", || async {
            lq.queue_len().await.unwrap() == 0
        })
        .await;
        assert_eq!(
            store.state("ghost").await.unwrap().status,
            Status::Available
        );
        assert_eq!(store.match_count().await.unwrap(), 0);
        assert!(lq.stats_now().await.unwrap().zombies_cleared >= 2);
        n1.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_on_another_node_kicks_the_first_and_the_queue_place_survives() {
    on_redis(async {
        let toml = format!("[sessions]\npolicy = \"kick_old\"\n{}", node_toml(""));
        let (n1, lq1) = server_toml(&toml).await;
        let (n2, lq2) = server_toml(&toml).await;
        let mut first = user(&n1, "a").await;
        assert_eq!(
            join(&first, json!({ "language": "de" })).await["position"],
            1
        );
        let second = user(&n2, "a").await;
        assert_eq!(
            first.recv("duplicate-connection").await,
            json!({ "message": "Logged in from another device" })
        );
        assert!(first.wait_disconnect(Duration::from_secs(5)).await);
        eventually("the kick is counted on the first tab's node", || async {
            lq1.stats_now().await.unwrap().duplicate_connections_kicked == 1
        })
        .await;
        let hb = second
            .emit_with_ack("live-call:queue-heartbeat", serde_json::Value::Null)
            .await;
        assert_eq!(
            (hb["inQueue"].clone(), hb["position"].clone()),
            (json!(true), json!(1))
        );
        let graces = lq1.stats_now().await.unwrap().grace_timers
            + lq2.stats_now().await.unwrap().grace_timers;
        assert_eq!(graces, 0, "no grace: the user never left");
        n1.stop().await;
        n2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_comes_back_on_another_node_and_leaves_again_keeps_the_whole_new_grace() {
    on_redis(async {
        let (n1, lq1) = server_toml(&node_toml("rejoin_grace_ms = 2000")).await;
        let (n2, lq2) = server_toml(&node_toml("rejoin_grace_ms = 2000")).await;
        let first = user(&n1, "a").await;
        assert_eq!(join(&first, json!({})).await["position"], 1);
        first.close().await;
        let first_left = tokio::time::Instant::now();
        eventually("node 1 started a grace", || async {
            lq1.stats_now().await.unwrap().grace_timers == 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let again = user(&n2, "a").await;
        assert_eq!(join(&again, json!({})).await["position"], 1, "place kept");
        again.close().await;
        let second_left = tokio::time::Instant::now();
        eventually("node 2 started a new grace", || async {
            lq2.stats_now().await.unwrap().grace_timers == 1
        })
        .await;
        // Node 1's older timer is due 2 s after the first leave; the new grace lasts
        // until 2 s after the second.
        tokio::time::sleep_until(first_left + Duration::from_millis(2400)).await;
        assert!(
            second_left.elapsed() < Duration::from_millis(2000),
            "checked within the new grace"
        );
        assert!(
            lq1.is_in_queue("a").await.unwrap(),
            "the place outlives the first grace"
        );
        eventually("the place is dropped when the new grace ends", || async {
            !lq1.is_in_queue("a").await.unwrap()
        })
        .await;
        assert!(second_left.elapsed() >= Duration::from_millis(2000));
        assert_eq!(lq2.status("a").await.unwrap().status, Status::Available);
        n1.stop().await;
        n2.stop().await;
    })
    .await
}
