//! Cluster mode on Redis: hosts started in one test are nodes of one cluster. Broadcasts
//! from any node reach followers on every node, counts are the cluster's, and a dead
//! node's subscriptions go away. Skipped without Redis (failed under `CI=true`).

mod support;

use std::sync::Arc;
use std::time::Duration;

use plugboard::{RedisStore, SocketId};
use plugboard_testkit::{Store, TestServer};
use plugboard_timeline::{EntityKey, RedisTimelineStore, Timeline, TimelineStore};
use serde_json::{Value, json};
use support::*;

const KEY: &str = "[http]\napi_key = \"s3cret\"";
const FAST: &str = "[cluster]\nheartbeat_ms = 100\nnode_timeout_ms = 1000";

/// Runs `test` on Redis with this run's URL and cluster name.
async fn on_redis<F, Fut>(test: F)
where
    F: FnOnce(String, String) -> Fut,
    Fut: Future<Output = ()>,
{
    plugboard_testkit::run_on("redis", async move {
        let Store::Redis { url, cluster } = plugboard_testkit::current() else {
            unreachable!("run_on(\"redis\") runs on Redis")
        };
        test(url, cluster).await
    })
    .await
}

async fn publish(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let (status, body) = server
        .request("POST", path, &body, &[("authorization", "Bearer s3cret")])
        .await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_from_one_nodes_rust_and_http_api_reaches_followers_on_the_other_nodes() {
    on_redis(|_, _| async {
        let (n1, t1) = server(KEY).await;
        let (n2, _) = server(KEY).await;
        let (n3, _) = server(KEY).await;
        let mut on2 = client(&n2, "bob").await;
        let mut on3 = client(&n3, "cat").await;
        assert_eq!(subscribe(&on2, "client", "c1").await["subscribers"], 1);
        assert_eq!(subscribe(&on3, "client", "c1").await["subscribers"], 2);
        // Each node's room holds its own sockets only; the count is the cluster's.
        let room = "timeline:client:c1";
        let local = |n: &TestServer| n.host.io().local_room_len(room);
        assert_eq!((local(&n1), local(&n2), local(&n3)), (0, 1, 1));

        let item = json!({ "id": "a1", "kind": "note" });
        assert_eq!(
            t1.broadcast_new_item("client", "c1", &item).await.unwrap(),
            2
        );
        let want = json!({ "entityType": "client", "entityId": "c1", "item": item });
        assert_eq!(on2.recv("timeline:new_item").await, want);
        assert_eq!(on3.recv("timeline:new_item").await, want);

        let (status, body) = publish(
            &n1,
            "/api/timeline/client/c1",
            json!({ "type": "item_deleted", "itemId": "a1" }),
        )
        .await;
        assert_eq!((status, body), (200, json!({ "ok": true, "delivered": 2 })));
        let want = json!({ "entityType": "client", "entityId": "c1", "itemId": "a1" });
        assert_eq!(on2.recv("timeline:item_deleted").await, want);
        assert_eq!(on3.recv("timeline:item_deleted").await, want);
        // Nothing else, and nothing twice.
        assert!(timeline_events(&mut on2).await.is_empty());
        assert!(timeline_events(&mut on3).await.is_empty());
        for n in [n1, n2, n3] {
            n.stop().await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_counts_and_stats_agree_on_every_node() {
    on_redis(|_, _| async {
        let (n1, t1) = server("").await;
        let (n2, t2) = server("").await;
        let a = client(&n1, "ann").await;
        let b = client(&n2, "bob").await;
        subscribe(&a, "lead", "l1").await;
        subscribe(&a, "lead", "l2").await;
        assert_eq!(subscribe(&b, "lead", "l1").await["subscribers"], 2);
        for t in [&t1, &t2] {
            assert_eq!(t.subscriber_count("lead", "l1").await.unwrap(), 2);
            assert_eq!(t.subscriber_count("lead", "l2").await.unwrap(), 1);
        }
        let (s1, s2) = (http_stats(&n1).await, http_stats(&n2).await);
        assert_eq!(s1, s2);
        assert_eq!(
            (&s1["totalSockets"], &s1["totalEntities"]),
            (&json!(2), &json!(2))
        );
        assert_eq!(
            s1["entities"][0],
            json!({ "entityType": "lead", "entityId": "l1", "subscribers": 2 })
        );
        // A change on one node is seen at once on the other.
        assert_eq!(unsubscribe(&b, "lead", "l1").await["subscribers"], 1);
        assert_eq!(t1.subscriber_count("lead", "l1").await.unwrap(), 1);
        a.close().await;
        until("ann's subscriptions are dropped", async || {
            stats(&t2).await.total_entities == 0
        })
        .await;
        assert_eq!(stats(&t2).await.total_sockets, 0);
        assert_eq!(t2.request_refresh("lead", "l1").await.unwrap(), 0);
        n1.stop().await;
        n2.stop().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_two_nodes_subscribing_at_once_are_counted_exactly() {
    on_redis(|_, _| async {
        let (n1, t1) = server("").await;
        let (n2, _) = server("").await;
        let mut clients = Vec::new();
        for i in 0..16 {
            let node = if i % 2 == 0 { &n1 } else { &n2 };
            clients.push(Arc::new(client(node, &format!("u{i}")).await));
        }
        let mut acks = tokio::task::JoinSet::new();
        for c in &clients {
            let c = c.clone();
            acks.spawn(async move { subscribe(&c, "case", "hot").await["subscribers"].as_u64() });
        }
        let mut counts: Vec<u64> = acks
            .join_all()
            .await
            .into_iter()
            .map(Option::unwrap)
            .collect();
        counts.sort_unstable();
        // Every subscription saw its own increment: 1..=16, each once.
        assert_eq!(counts, (1..=16).collect::<Vec<u64>>());
        assert_eq!(t1.subscriber_count("case", "hot").await.unwrap(), 16);
        assert_eq!(t1.request_refresh("case", "hot").await.unwrap(), 16);
        drop(clients);
        n1.stop().await;
        n2.stop().await;
    })
    .await
}

/// Writes a node that stopped heartbeating, holding socket `sid` of `user`, as a crashed
/// node leaves it (see framework/tests/cluster.rs).
async fn crashed_node(redis: &RedisStore, node: &str, user: &str, sid: SocketId) {
    let identity = plugboard::Identity {
        user_id: user.into(),
        name: user.into(),
        roles: vec!["agent".into()],
    };
    plugboard_testkit::crashed_node(redis, node, &[(identity, sid)])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_subscriptions_are_dropped_and_counts_go_back() {
    on_redis(|url, cluster| async move {
        let (n1, t1) = server_with(FAST, Timeline::new()).await;
        let mut ann = client(&n1, "ann").await;
        subscribe(&ann, "ticket", "t1").await;
        // The crashed node's socket followed t1 and t2 through its own store.
        let redis = RedisStore::open(&url, &cluster, Duration::from_secs(2))
            .await
            .unwrap();
        let dead_store = RedisTimelineStore::new(redis.clone(), Duration::from_secs(3600));
        let sid = SocketId::new();
        for id in ["t1", "t2"] {
            let entity = EntityKey {
                entity_type: "ticket".into(),
                entity_id: id.into(),
            };
            dead_store.subscribe(sid, &entity, 0).await.unwrap();
        }
        crashed_node(&redis, "crashed", "dan", sid).await;
        assert_eq!(t1.subscriber_count("ticket", "t1").await.unwrap(), 2);
        assert_eq!(stats(&t1).await.total_sockets, 2);

        // The reaper calls the disconnect hook (reason node_down) for dan's socket.
        until("the dead node's subscriptions are dropped", async || {
            t1.subscriber_count("ticket", "t2").await.unwrap() == 0
        })
        .await;
        assert_eq!(t1.subscriber_count("ticket", "t1").await.unwrap(), 1);
        let s = stats(&t1).await;
        assert_eq!((s.total_sockets, s.total_entities), (1, 1));
        assert_eq!(t1.request_refresh("ticket", "t2").await.unwrap(), 0);
        assert_eq!(t1.request_refresh("ticket", "t1").await.unwrap(), 1);
        ann.recv("timeline:refresh").await;
        n1.stop().await;
    })
    .await
}
