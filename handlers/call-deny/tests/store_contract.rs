//! The `CallStore` contract, on the store the running test's backend gives: memory, or
//! Redis (`RedisCallStore` on a cluster of its own).

mod common;

use common::call_store as store;
use plugboard_call_deny::{
    Actor, CallRef, CallStatus, CallStore, CreateOutcome, EndReason, NewCall, Transition,
    TransitionOutcome,
};

fn new_call(id: &str, req: &str, caller: &str, target: Option<&str>, now: u64) -> NewCall {
    NewCall {
        call_id: id.into(),
        request_id: req.into(),
        caller_id: caller.into(),
        target_id: target.map(Into::into),
        now_ms: now,
        ring_deadline_ms: now + 1000,
    }
}

fn agent(id: &str) -> Actor {
    Actor::User {
        id: id.into(),
        agent: true,
    }
}

fn to(status: CallStatus, actor: Actor, now: u64) -> Transition {
    Transition {
        to: status,
        actor,
        reason: None,
        now_ms: now,
        deadline_ms: None,
    }
}

async fn created(store: &dyn CallStore, n: NewCall) -> plugboard_call_deny::Call {
    match store.create(n).await.unwrap() {
        CreateOutcome::Created(c) => c,
        other => panic!("expected a new call, got {other:?}"),
    }
}

async fn second_request_to_the_same_target_returns_the_open_call(store: &dyn CallStore) {
    let c = created(store, new_call("c1", "r1", "u1", None, 1)).await;
    let again = store
        .create(new_call("c2", "r2", "u1", None, 2))
        .await
        .unwrap();
    assert_eq!(again, CreateOutcome::Existing(c.clone()));
    let same_req = store
        .create(new_call("c3", "r1", "u1", Some("t"), 3))
        .await
        .unwrap();
    assert_eq!(same_req, CreateOutcome::Existing(c));
    let taken = store
        .create(new_call("c4", "r1", "u2", None, 4))
        .await
        .unwrap();
    assert_eq!(taken, CreateOutcome::RequestIdTaken);
    assert_eq!(store.counts().await.unwrap().ringing, 1);
}

async fn a_finished_call_frees_the_pair_for_one_clean_new_call(store: &dyn CallStore) {
    created(store, new_call("c1", "r1", "u1", None, 1)).await;
    let t = to(CallStatus::Cancelled, Actor::Host { by: None }, 2);
    assert!(matches!(
        store.transition(&CallRef::id("c1"), &t).await.unwrap(),
        TransitionOutcome::Applied(_)
    ));
    let c2 = created(store, new_call("c2", "r2", "u1", None, 3)).await;
    assert_eq!(c2.status, CallStatus::Ringing);
    let open = store.open_calls_of("u1").await.unwrap();
    assert_eq!(
        open.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>(),
        ["c2"]
    );
}

async fn deny_applies_once_then_answers_duplicate(store: &dyn CallStore) {
    created(store, new_call("c1", "r1", "u1", None, 1)).await;
    let first = store
        .transition(
            &CallRef::request("r1"),
            &to(CallStatus::Denied, agent("a1"), 2),
        )
        .await
        .unwrap();
    let TransitionOutcome::Applied(call) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        (call.status, call.by.as_deref()),
        (CallStatus::Denied, Some("a1"))
    );
    let again = store
        .transition(&CallRef::id("c1"), &to(CallStatus::Denied, agent("a2"), 3))
        .await
        .unwrap();
    assert_eq!(again, TransitionOutcome::Duplicate(call));
    assert_eq!(store.counts().await.unwrap().ringing, 0);
    assert_eq!(store.list(CallStatus::Denied, 10).await.unwrap().len(), 1);
}

async fn ids_that_name_different_calls_find_nothing(store: &dyn CallStore) {
    created(store, new_call("c1", "r1", "u1", None, 1)).await;
    created(store, new_call("c2", "r2", "u2", None, 1)).await;
    let both = CallRef {
        call_id: Some("c1".into()),
        request_id: Some("r2".into()),
    };
    let t = to(CallStatus::Denied, agent("a1"), 2);
    assert_eq!(
        store.transition(&both, &t).await.unwrap(),
        TransitionOutcome::NotFound
    );
    assert_eq!(
        store.transition(&CallRef::id("nope"), &t).await.unwrap(),
        TransitionOutcome::NotFound
    );
    assert_eq!(store.counts().await.unwrap().ringing, 2);
}

async fn accepted_call_conflicts_with_deny_and_ends_once(store: &dyn CallStore) {
    created(store, new_call("c1", "r1", "u1", None, 1)).await;
    let id = CallRef::id("c1");
    let acc = store
        .transition(&id, &to(CallStatus::Accepted, agent("a1"), 2))
        .await
        .unwrap();
    assert!(
        matches!(acc, TransitionOutcome::Applied(ref c) if c.agent_id.as_deref() == Some("a1"))
    );
    assert_eq!(store.open_calls_of("a1").await.unwrap().len(), 1);
    let deny = store
        .transition(&id, &to(CallStatus::Denied, agent("a2"), 3))
        .await
        .unwrap();
    assert!(matches!(deny, TransitionOutcome::Conflict(ref c) if c.status == CallStatus::Accepted));
    let second = store
        .transition(&id, &to(CallStatus::Accepted, agent("a2"), 3))
        .await
        .unwrap();
    assert!(matches!(second, TransitionOutcome::Conflict(_)));
    let mut end = to(
        CallStatus::Ended,
        Actor::User {
            id: "u1".into(),
            agent: false,
        },
        4,
    );
    end.reason = Some(EndReason::PeerDisconnected);
    let ended = store.transition(&id, &end).await.unwrap();
    assert!(
        matches!(ended, TransitionOutcome::Applied(ref c) if c.ended_reason == Some(EndReason::PeerDisconnected))
    );
    assert!(store.open_calls_of("a1").await.unwrap().is_empty());
    assert!(store.open_calls_of("u1").await.unwrap().is_empty());
    assert_eq!(store.counts().await.unwrap().users_with_open_calls, 0);
}

async fn expiry_misses_ringing_calls_and_times_out_live_ones(store: &dyn CallStore) {
    created(store, new_call("c1", "r1", "u1", None, 0)).await; // deadline 1000
    created(store, new_call("c2", "r2", "u2", None, 500)).await; // deadline 1500
    let mut acc = to(CallStatus::Accepted, agent("a1"), 600);
    acc.deadline_ms = Some(1200);
    store.transition(&CallRef::id("c2"), &acc).await.unwrap();
    assert!(store.expire(999, 10).await.unwrap().is_empty());
    let first = store.expire(1000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].call_id.as_str(), first[0].status),
        ("c1", CallStatus::Missed)
    );
    assert_eq!(first[0].by, None);
    let second = store.expire(1600, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].ended_reason, Some(EndReason::Timeout));
    assert!(store.expire(5000, 10).await.unwrap().is_empty());
}

async fn purge_forgets_only_old_finished_calls(store: &dyn CallStore) {
    created(store, new_call("c1", "r1", "u1", None, 0)).await;
    created(store, new_call("c2", "r2", "u2", None, 0)).await;
    store
        .transition(
            &CallRef::id("c1"),
            &to(CallStatus::Denied, agent("a1"), 100),
        )
        .await
        .unwrap();
    assert_eq!(store.purge_finished(100, 10).await.unwrap(), 0);
    assert_eq!(store.purge_finished(101, 10).await.unwrap(), 1);
    assert_eq!(store.get(&CallRef::id("c1")).await.unwrap(), None);
    assert_eq!(store.get(&CallRef::request("r1")).await.unwrap(), None);
    assert!(store.get(&CallRef::id("c2")).await.unwrap().is_some());
    assert_eq!(store.counts().await.unwrap().records, 1);
}

plugboard_testkit::on_both_stores! {
    async fn second_request_to_the_same_target_returns_the_open_call() {
        super::second_request_to_the_same_target_returns_the_open_call(&*store().await).await
    }

    async fn a_finished_call_frees_the_pair_for_one_clean_new_call() {
        super::a_finished_call_frees_the_pair_for_one_clean_new_call(&*store().await).await
    }

    async fn deny_applies_once_then_answers_duplicate() {
        super::deny_applies_once_then_answers_duplicate(&*store().await).await
    }

    async fn ids_that_name_different_calls_find_nothing() {
        super::ids_that_name_different_calls_find_nothing(&*store().await).await
    }

    async fn accepted_call_conflicts_with_deny_and_ends_once() {
        super::accepted_call_conflicts_with_deny_and_ends_once(&*store().await).await
    }

    async fn expiry_misses_ringing_calls_and_times_out_live_ones() {
        super::expiry_misses_ringing_calls_and_times_out_live_ones(&*store().await).await
    }

    async fn purge_forgets_only_old_finished_calls() {
        super::purge_forgets_only_old_finished_calls(&*store().await).await
    }
}
