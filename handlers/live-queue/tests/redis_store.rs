//! What only the Redis store has to prove: compare-and-set under many concurrent callers,
//! one epoch for every node that changes when Redis lost the state, and `unavailable`
//! (with nothing changed) while Redis does not answer.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{call, eventually, join, server_toml, user};
use plugboard::RedisStore;
use plugboard_live_queue::{BusyStateStore, QueueStore, RedisLiveStore, Status};
use plugboard_testkit::RedisServer;
use serde_json::{Value, json};

/// A Redis live store of this test's cluster (skipped without Redis, except under CI).
async fn on_redis_store<F, Fut>(test: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: Future<Output = ()>,
{
    plugboard_testkit::run_on("redis", async move {
        let backend = plugboard_testkit::backend().await;
        test(backend.redis().expect("a redis run").clone()).await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_compare_and_sets_of_one_user_apply_exactly_once() {
    on_redis_store(|redis| async move {
        let store = Arc::new(RedisLiveStore::new(redis));
        let racers: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .try_transition("u", Some(0), Status::Queueing, None)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut wins = 0;
        for r in racers {
            match r.await.unwrap() {
                Ok(v) => {
                    wins += 1;
                    assert_eq!(v, 1);
                }
                Err(current) => {
                    assert_eq!((current.status, current.version), (Status::Queueing, 1))
                }
            }
        }
        assert_eq!(wins, 1, "one of fifty identical compare-and-sets wins");
        // Fifty read-then-compare-and-set loops: each applies once, none is lost.
        let togglers: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    loop {
                        let st = store.state("u").await.unwrap();
                        let to = match st.status {
                            Status::Queueing => Status::Available,
                            _ => Status::Queueing,
                        };
                        if let Ok(v) = store
                            .try_transition("u", Some(st.version), to, None)
                            .await
                            .unwrap()
                        {
                            return v;
                        }
                    }
                })
            })
            .collect();
        let mut versions = BTreeSet::new();
        for t in togglers {
            assert!(
                versions.insert(t.await.unwrap()),
                "a version was applied twice"
            );
        }
        assert_eq!(versions, (2..=51).collect::<BTreeSet<u64>>());
        let st = store.state("u").await.unwrap();
        // Version 1 was queueing; fifty toggles later (an even number) it is again.
        assert_eq!((st.status, st.version), (Status::Queueing, 51));
        let counts = store.counts().await.unwrap();
        assert_eq!((counts.available, counts.queueing), (0, 1));
        assert_eq!(
            store.queue_len().await.unwrap(),
            1,
            "queueing holds one place"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_reads_one_epoch_which_changes_when_redis_lost_the_state() {
    on_redis_store(|redis| async move {
        let (one, two) = (
            RedisLiveStore::new(redis.clone()),
            RedisLiveStore::new(redis.clone()),
        );
        let epoch = one.epoch().await.unwrap();
        assert_eq!(two.epoch().await.unwrap(), epoch);
        // Redis comes back empty: every key of the handler is gone.
        let pattern = redis.key("lq:*");
        let (_, keys): (u64, Vec<String>) = redis
            .query(
                plugboard::redis::cmd("SCAN")
                    .arg(0)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000),
            )
            .await
            .unwrap();
        assert!(!keys.is_empty());
        let _: i64 = redis
            .query(plugboard::redis::cmd("DEL").arg(&keys))
            .await
            .unwrap();
        let fresh = two.epoch().await.unwrap();
        assert_ne!(fresh, epoch, "a lost state shows as a new epoch");
        assert_eq!(one.epoch().await.unwrap(), fresh);
    })
    .await
}

/// The node's own view of Redis, from `/healthz`.
async fn redis_up(server: &plugboard_testkit::TestServer) -> bool {
    let (_, body) = server.get("/healthz").await;
    serde_json::from_str::<Value>(&body).unwrap()["redis"]["up"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_queue_answers_unavailable_while_redis_does_not_and_changes_nothing() {
    let Some(own) = RedisServer::start(false) else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true and redis-server cannot start"
        );
        eprintln!("redis-server cannot start: test skipped");
        return;
    };
    let toml = format!(
        "store = \"redis\"\nredis_url = \"{}\"\n\
         [cluster]\nname = \"lq-outage\"\nheartbeat_ms = 100\nnode_timeout_ms = 1000\nredis_timeout_ms = 300\n\
         [handlers.live_queue]\nmatch_delay_ms = 5\n",
        own.url()
    );
    let (s, lq) = server_toml(&toml).await;
    let mut a = user(&s, "a").await;
    let b = user(&s, "b").await;
    assert_eq!(join(&b, json!({ "language": "de" })).await["position"], 1);
    let before = lq.status("a").await.unwrap();
    own.freeze();
    eventually("the node sees redis down", || async { !redis_up(&s).await }).await;
    let ack = join(&a, Value::Null).await;
    assert_eq!(ack["ok"], false, "{ack}");
    assert_eq!(ack["error"]["code"], "unavailable", "{ack}");
    let ack = b.emit_with_ack("live-call:leave-queue", Value::Null).await;
    assert_eq!(ack["error"]["code"], "unavailable", "{ack}");
    let hb = a
        .emit_with_ack("live-call:queue-heartbeat", Value::Null)
        .await;
    assert_eq!(hb["error"]["code"], "unavailable", "{hb}");
    // request-call without an ack reports on the frontend's own error event.
    a.emit("request-call", call("x", "b")).await;
    let err = a.recv("staged-call-error").await;
    assert_eq!(err["code"], "unavailable", "{err}");
    own.thaw();
    eventually("the node sees redis again", || async { redis_up(&s).await }).await;
    assert_eq!(lq.status("a").await.unwrap(), before, "a is untouched");
    assert!(lq.is_in_queue("b").await.unwrap(), "b kept its place");
    assert_eq!(lq.queue_len().await.unwrap(), 1);
    assert_eq!(lq.stats_now().await.unwrap().grace_timers, 0);
    let ack = join(&a, Value::Null).await;
    assert_eq!(ack["position"], 2, "served again: {ack}");
    s.stop().await;
}
