//! What only the Redis store does: the presence backstop. Each node refreshes its own
//! sockets' deadline; a socket no node refreshes nor cleans up is swept, counts included.
//! Skipped without Redis (failed under `CI=true`).

use std::time::Duration;

use plugboard::{RedisStore, SocketId};
use plugboard_testkit::Store;
use plugboard_timeline::{EntityKey, RedisTimelineStore, TimelineStore};

const TTL: Duration = Duration::from_millis(300);

async fn redis() -> RedisStore {
    let Store::Redis { url, cluster } = plugboard_testkit::current() else {
        unreachable!("run_on(\"redis\") runs on Redis")
    };
    RedisStore::open(&url, &cluster, Duration::from_secs(2))
        .await
        .unwrap()
}

fn entity(id: &str) -> EntityKey {
    EntityKey {
        entity_type: "case".into(),
        entity_id: id.into(),
    }
}

async fn timeline_keys(redis: &RedisStore) -> Vec<String> {
    let mut keys: Vec<String> = redis
        .query(plugboard::redis::cmd("KEYS").arg(redis.key("tl:*")))
        .await
        .unwrap();
    keys.sort();
    keys
}

/// Runs `store.upkeep()` at its own interval for `how_long`.
async fn keep_up(store: &RedisTimelineStore, how_long: Duration) {
    let every = store.upkeep_interval().expect("the redis store has upkeep");
    let end = tokio::time::Instant::now() + how_long;
    while tokio::time::Instant::now() < end {
        store.upkeep().await.unwrap();
        tokio::time::sleep(every).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_no_node_refreshes_is_swept_while_a_live_one_is_kept() {
    plugboard_testkit::run_on("redis", async {
        let redis = redis().await;
        // Two nodes' stores; the first one's node "dies" (never runs its upkeep again).
        let dead = RedisTimelineStore::new(redis.clone(), TTL);
        let live = RedisTimelineStore::new(redis.clone(), TTL);
        let (gone, here) = (SocketId::new(), SocketId::new());
        dead.subscribe(gone, &entity("shared"), 0).await.unwrap();
        dead.subscribe(gone, &entity("only-gone"), 0).await.unwrap();
        live.subscribe(here, &entity("shared"), 0).await.unwrap();
        assert_eq!(live.subscriber_count(&entity("shared")).await.unwrap(), 2);

        keep_up(&live, TTL * 4).await;
        assert_eq!(live.subscriber_count(&entity("shared")).await.unwrap(), 1);
        assert_eq!(
            live.subscriber_count(&entity("only-gone")).await.unwrap(),
            0
        );
        let s = live.stats(10).await.unwrap();
        assert_eq!((s.total_sockets, s.total_entities), (1, 1));
        assert_eq!(
            timeline_keys(&redis).await,
            vec![
                redis.key("tl:entities"),
                redis.key(&format!("tl:sock:{here}")),
                redis.key("tl:sockets"),
            ]
        );
        // The live socket's key carries a TTL of at most twice the presence TTL.
        let pttl: i64 = redis
            .query(plugboard::redis::cmd("PTTL").arg(redis.key(&format!("tl:sock:{here}"))))
            .await
            .unwrap();
        assert!(pttl > 0 && pttl <= 2 * TTL.as_millis() as i64, "{pttl}");

        // Refreshing never brings back what was unsubscribed.
        live.unsubscribe(here, &entity("shared")).await.unwrap();
        keep_up(&live, TTL / 2).await;
        assert!(timeline_keys(&redis).await.is_empty());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swept_socket_dropped_later_changes_nothing() {
    plugboard_testkit::run_on("redis", async {
        let redis = redis().await;
        let store = RedisTimelineStore::new(redis.clone(), TTL);
        let sweeper = RedisTimelineStore::new(redis.clone(), TTL);
        let (late, other) = (SocketId::new(), SocketId::new());
        store.subscribe(late, &entity("e"), 0).await.unwrap();
        tokio::time::sleep(TTL + Duration::from_millis(50)).await;
        sweeper.upkeep().await.unwrap();
        assert_eq!(sweeper.subscriber_count(&entity("e")).await.unwrap(), 0);
        sweeper.subscribe(other, &entity("e"), 0).await.unwrap();
        // The reaper's (or the socket's node's) cleanup comes after the sweep.
        assert!(store.drop_socket(late).await.unwrap().is_empty());
        assert_eq!(sweeper.subscriber_count(&entity("e")).await.unwrap(), 1);
    })
    .await
}
