//! The `TimelineStore` contract, on the memory store and on Redis: counts, the per-socket
//! limit, the top list, idempotent cleanup, and exact answers under concurrency.

use std::sync::Arc;
use std::time::Duration;

use plugboard::{Backend, SocketId};
use plugboard_timeline::{
    EntityKey, MemoryTimelineStore, RedisTimelineStore, StoreStats, SubscribeOutcome, TimelineStore,
};

fn key(t: &str, id: &str) -> EntityKey {
    EntityKey {
        entity_type: t.into(),
        entity_id: id.into(),
    }
}

/// The store under test and its backend.
async fn store() -> (Arc<dyn TimelineStore>, Backend) {
    let backend = plugboard_testkit::backend().await;
    let store: Arc<dyn TimelineStore> = match &backend {
        Backend::Redis(redis) => Arc::new(RedisTimelineStore::new(
            redis.clone(),
            Duration::from_secs(60),
        )),
        _ => Arc::new(MemoryTimelineStore::new()),
    };
    (store, backend)
}

/// Fails unless the store holds nothing: empty stats and, on Redis, no timeline key.
async fn assert_empty(store: &Arc<dyn TimelineStore>, backend: &Backend) {
    assert_eq!(store.stats(10).await.unwrap(), StoreStats::default());
    if let Backend::Redis(redis) = backend {
        let keys: Vec<String> = redis
            .query(plugboard::redis::cmd("KEYS").arg(redis.key("tl:*")))
            .await
            .unwrap();
        assert!(keys.is_empty(), "keys left behind: {keys:?}");
    }
}

async fn added(store: &Arc<dyn TimelineStore>, s: SocketId, e: &EntityKey, limit: usize) -> bool {
    matches!(
        store.subscribe(s, e, limit).await.unwrap(),
        SubscribeOutcome::Added { .. }
    )
}

plugboard_testkit::on_both_stores! {
    async fn counts_follow_subscribe_unsubscribe_and_drop_and_return_to_empty() {
        let (s, backend) = store().await;
        let (a, b) = (SocketId::new(), SocketId::new());
        let (c1, c2) = (key("client", "1"), key("client", "2"));
        assert_eq!(
            s.subscribe(a, &c1, 0).await.unwrap(),
            SubscribeOutcome::Added { subscribers: 1 }
        );
        assert_eq!(
            s.subscribe(a, &c1, 0).await.unwrap(),
            SubscribeOutcome::AlreadySubscribed { subscribers: 1 }
        );
        assert_eq!(
            s.subscribe(b, &c1, 0).await.unwrap(),
            SubscribeOutcome::Added { subscribers: 2 }
        );
        s.subscribe(b, &c2, 0).await.unwrap();
        let st = s.stats(10).await.unwrap();
        assert_eq!((st.total_sockets, st.total_entities), (2, 2));
        assert_eq!(st.top, vec![(c1.clone(), 2), (c2.clone(), 1)]);
        assert_eq!(s.subscriber_count(&c1).await.unwrap(), 2);
        assert_eq!(s.unsubscribe(a, &c2).await.unwrap(), 1, "not subscribed");
        assert_eq!(s.unsubscribe(a, &c1).await.unwrap(), 1);
        assert_eq!(s.stats(10).await.unwrap().total_sockets, 1);
        let mut dropped = s.drop_socket(b).await.unwrap();
        dropped.sort();
        assert_eq!(dropped, vec![c1.clone(), c2.clone()]);
        assert_eq!(s.subscriber_count(&c1).await.unwrap(), 0);
        assert_empty(&s, &backend).await;
    }

    async fn dropping_a_socket_again_changes_nothing() {
        let (s, backend) = store().await;
        let (a, b) = (SocketId::new(), SocketId::new());
        let e = key("ticket", "t1");
        s.subscribe(a, &e, 0).await.unwrap();
        s.subscribe(b, &e, 0).await.unwrap();
        assert_eq!(s.drop_socket(a).await.unwrap(), vec![e.clone()]);
        // A cleanup run again (after a Redis failure, or by two reapers) is harmless.
        assert!(s.drop_socket(a).await.unwrap().is_empty());
        assert_eq!(s.subscriber_count(&e).await.unwrap(), 1);
        assert!(s.drop_socket(SocketId::new()).await.unwrap().is_empty());
        s.unsubscribe(b, &e).await.unwrap();
        assert_empty(&s, &backend).await;
    }

    async fn the_per_socket_limit_refuses_without_changing_anything() {
        let (s, _) = store().await;
        let a = SocketId::new();
        s.subscribe(a, &key("task", "1"), 2).await.unwrap();
        s.subscribe(a, &key("task", "2"), 2).await.unwrap();
        assert_eq!(
            s.subscribe(a, &key("task", "3"), 2).await.unwrap(),
            SubscribeOutcome::LimitReached { limit: 2 }
        );
        // Re-subscribing to a followed entity is still harmless at the limit.
        assert_eq!(
            s.subscribe(a, &key("task", "1"), 2).await.unwrap(),
            SubscribeOutcome::AlreadySubscribed { subscribers: 1 }
        );
        assert_eq!(s.subscriber_count(&key("task", "3")).await.unwrap(), 0);
        assert_eq!(s.stats(10).await.unwrap().total_entities, 2);
        s.unsubscribe(a, &key("task", "1")).await.unwrap();
        assert!(added(&s, a, &key("task", "3"), 2).await);
    }

    async fn stats_list_is_capped_at_top_n_most_followed_first_ties_by_type_then_id() {
        let (s, _) = store().await;
        for i in 0..5u32 {
            for _ in 0..=i {
                s.subscribe(SocketId::new(), &key("lead", &i.to_string()), 0)
                    .await
                    .unwrap();
            }
        }
        let st = s.stats(2).await.unwrap();
        assert_eq!(st.total_entities, 5);
        assert_eq!(st.total_sockets, 15);
        assert_eq!(st.top, vec![(key("lead", "4"), 5), (key("lead", "3"), 4)]);
        assert!(s.stats(0).await.unwrap().top.is_empty());
        // Ties: by type, then id, with types that are prefixes of others.
        for e in [key("a-b", "1"), key("a", "z"), key("a", "10"), key("lead", "0")] {
            s.subscribe(SocketId::new(), &e, 0).await.unwrap();
        }
        let ones: Vec<EntityKey> = s.stats(100).await.unwrap().top.into_iter().filter(|(_, n)| *n == 2).map(|(k, _)| k).collect();
        assert_eq!(ones, vec![key("lead", "0"), key("lead", "1")]);
        let st = s.stats(9).await.unwrap();
        let tail: Vec<EntityKey> = st.top[5..].iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(tail, vec![key("a", "10"), key("a", "z"), key("a-b", "1")]);
        // The cut falls inside a tie: the first by key are kept.
        assert_eq!(s.stats(6).await.unwrap().top.last(), Some(&(key("a", "10"), 1)));
    }

    async fn many_sockets_subscribing_to_one_entity_at_once_are_counted_exactly() {
        let (s, backend) = store().await;
        let e = key("case", "hot");
        let sockets: Vec<SocketId> = (0..64).map(|_| SocketId::new()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for sid in sockets.clone() {
            let (s, e) = (s.clone(), e.clone());
            // Each socket tries twice: the second is always "already subscribed".
            tasks.spawn(async move { (added(&s, sid, &e, 0).await, added(&s, sid, &e, 0).await) });
        }
        let results = tasks.join_all().await;
        assert!(results.iter().all(|r| *r == (true, false)), "{results:?}");
        assert_eq!(s.subscriber_count(&e).await.unwrap(), 64);
        assert_eq!(s.stats(1).await.unwrap().total_sockets, 64);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, sid) in sockets.into_iter().enumerate() {
            let (s, e) = (s.clone(), e.clone());
            tasks.spawn(async move {
                if i % 2 == 0 {
                    s.unsubscribe(sid, &e).await.unwrap();
                } else {
                    s.drop_socket(sid).await.unwrap();
                }
            });
        }
        tasks.join_all().await;
        assert_eq!(s.subscriber_count(&e).await.unwrap(), 0);
        assert_empty(&s, &backend).await;
    }

    async fn one_socket_racing_subscriptions_never_passes_its_limit() {
        let (s, _) = store().await;
        let a = SocketId::new();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let s = s.clone();
            // Twenty entities, each asked for twice at once.
            tasks.spawn(async move { added(&s, a, &key("task", &(i % 20).to_string()), 5).await });
        }
        let added_count = tasks.join_all().await.into_iter().filter(|a| *a).count();
        assert_eq!(added_count, 5);
        let st = s.stats(100).await.unwrap();
        assert_eq!((st.total_sockets, st.total_entities), (1, 5));
        assert!(st.top.iter().all(|(_, n)| *n == 1), "{:?}", st.top);
        assert_eq!(s.drop_socket(a).await.unwrap().len(), 5);
    }
}
