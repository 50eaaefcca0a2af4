//! What `RedisCallStore` leaves in Redis: TTLs on finished records, no key left once
//! everything is finished and purged, and no index entry outliving its record. Redis only.

use std::time::Duration;

use plugboard::RedisStore;
use plugboard::redis::cmd;
use plugboard_call_deny::{
    Actor, CallRef, CallStatus, CallStore, CreateOutcome, EndReason, NewCall, RedisCallStore,
    Transition,
};

async fn on_redis<F, Fut>(test: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: Future<Output = ()>,
{
    plugboard_testkit::run_on("redis", async {
        let backend = plugboard_testkit::backend().await;
        test(backend.redis().cloned().expect("a redis backend")).await
    })
    .await
}

async fn ring(store: &dyn CallStore, id: &str, caller: &str) {
    let new = NewCall {
        call_id: id.into(),
        request_id: format!("r-{id}"),
        caller_id: caller.into(),
        target_id: None,
        now_ms: 0,
        ring_deadline_ms: 1000,
    };
    assert!(matches!(
        store.create(new).await.unwrap(),
        CreateOutcome::Created(_)
    ));
}

async fn move_to(store: &dyn CallStore, id: &str, to: CallStatus, actor: Actor) {
    let t = Transition {
        to,
        actor,
        reason: (to == CallStatus::Ended).then_some(EndReason::Hangup),
        now_ms: 10,
        deadline_ms: None,
    };
    store.transition(&CallRef::id(id), &t).await.unwrap();
}

async fn pttl(redis: &RedisStore, suffix: &str) -> i64 {
    redis
        .query(cmd("PTTL").arg(redis.key(suffix)))
        .await
        .unwrap()
}

/// Every key of this test's cluster that belongs to call-deny.
async fn call_keys(redis: &RedisStore) -> Vec<String> {
    redis
        .query(cmd("KEYS").arg(format!("{}cd:*", redis.prefix())))
        .await
        .unwrap()
}

const HOST: Actor = Actor::Host { by: None };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_records_carry_the_ttl_backstop_and_open_ones_none() {
    on_redis(|redis| async move {
        let store = RedisCallStore::new(redis.clone()).with_finished_ttl(Duration::from_secs(60));
        ring(&store, "c1", "u1").await;
        ring(&store, "c2", "u2").await;
        move_to(&store, "c1", CallStatus::Denied, HOST).await;
        for key in ["cd:call:c1", "cd:req:r-c1"] {
            let ttl = pttl(&redis, key).await;
            assert!((1..=60_000).contains(&ttl), "{key}: {ttl}");
        }
        assert_eq!(
            pttl(&redis, "cd:call:c2").await,
            -1,
            "open records never expire"
        );
        assert_eq!(pttl(&redis, "cd:req:r-c2").await, -1);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_every_call_finished_and_was_purged_no_call_key_is_left() {
    on_redis(|redis| async move {
        let store = RedisCallStore::new(redis.clone());
        for (id, caller) in [("c1", "u1"), ("c2", "u2"), ("c3", "u3"), ("c4", "u4")] {
            ring(&store, id, caller).await;
        }
        let agent = Actor::User {
            id: "a1".into(),
            agent: true,
        };
        move_to(&store, "c1", CallStatus::Denied, agent.clone()).await;
        move_to(&store, "c2", CallStatus::Cancelled, HOST).await;
        move_to(&store, "c3", CallStatus::Accepted, agent).await;
        move_to(&store, "c3", CallStatus::Ended, HOST).await;
        assert_eq!(store.expire(1000, 10).await.unwrap().len(), 1, "c4 missed");
        store.schedule_departure("u1", 5).await.unwrap();
        for d in store.claim_departures(5, 10, 10).await.unwrap() {
            assert!(store.settle_departure(&d).await.unwrap());
        }
        assert!(!call_keys(&redis).await.is_empty());
        assert_eq!(store.purge_finished(u64::MAX, 100).await.unwrap(), 4);
        assert_eq!(call_keys(&redis).await, Vec::<String>::new());
        assert_eq!(store.counts().await.unwrap(), Default::default());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_entries_of_a_record_gone_by_its_ttl_are_cleaned_up() {
    on_redis(|redis| async move {
        let store = RedisCallStore::new(redis.clone());
        ring(&store, "c1", "u1").await;
        move_to(&store, "c1", CallStatus::Denied, HOST).await;
        ring(&store, "c2", "u2").await;
        // As if both records had expired (c2 cannot, being open: the worst case).
        for key in ["cd:call:c1", "cd:call:c2"] {
            let _: i64 = redis.query(cmd("DEL").arg(redis.key(key))).await.unwrap();
        }
        assert!(store.list(CallStatus::Denied, 10).await.unwrap().is_empty());
        assert_eq!(store.get(&CallRef::request("r-c1")).await.unwrap(), None);
        assert!(store.expire(5000, 10).await.unwrap().is_empty());
        assert_eq!(store.purge_finished(u64::MAX, 10).await.unwrap(), 1);
        let left = call_keys(&redis).await;
        let deadlines = redis.key("cd:deadlines");
        assert!(
            !left.contains(&deadlines),
            "dangling deadline dropped: {left:?}"
        );
        assert!(!left.contains(&redis.key("cd:status:denied")), "{left:?}");
        assert!(!left.contains(&redis.key("cd:finished")), "{left:?}");
        // The pair and request id of the lost open call do not block a new one.
        let again = NewCall {
            call_id: "c3".into(),
            request_id: "r-c2".into(),
            caller_id: "u2".into(),
            target_id: None,
            now_ms: 1,
            ring_deadline_ms: 1000,
        };
        assert!(matches!(
            store.create(again).await.unwrap(),
            CreateOutcome::Created(_)
        ));
    })
    .await
}
