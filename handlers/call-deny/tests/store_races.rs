//! Many tasks racing one call's check-and-set: on Redis each is a revision
//! compare-and-set, so the races happen between the read and the commit for real.

mod common;

use std::sync::Arc;

use common::call_store;
use plugboard_call_deny::{
    Actor, CallRef, CallStatus, CallStore, CreateOutcome, NewCall, Transition, TransitionOutcome,
};

async fn ringing(store: &dyn CallStore, id: &str) {
    let new = NewCall {
        call_id: id.into(),
        request_id: format!("r-{id}"),
        caller_id: "u1".into(),
        target_id: None,
        now_ms: 1,
        ring_deadline_ms: 1_000_000,
    };
    assert!(matches!(
        store.create(new).await.unwrap(),
        CreateOutcome::Created(_)
    ));
}

fn by_agent(to: CallStatus, i: usize) -> Transition {
    Transition {
        to,
        actor: Actor::User {
            id: format!("a{i}"),
            agent: true,
        },
        reason: None,
        now_ms: 2,
        deadline_ms: None,
    }
}

/// Runs every transition at once on call `c1`; returns the outcomes in input order.
async fn race(store: &Arc<dyn CallStore>, ts: Vec<Transition>) -> Vec<TransitionOutcome> {
    let tasks: Vec<_> = ts
        .into_iter()
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move { store.transition(&CallRef::id("c1"), &t).await.unwrap() })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn applied(outcomes: &[TransitionOutcome]) -> Vec<&plugboard_call_deny::Call> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            TransitionOutcome::Applied(c) => Some(c),
            _ => None,
        })
        .collect()
}

plugboard_testkit::on_both_stores! {
    async fn a_hundred_concurrent_denies_apply_exactly_once() {
        let store = call_store().await;
        ringing(&*store, "c1").await;
        let ts = (0..100).map(|i| by_agent(CallStatus::Denied, i % 10)).collect();
        let out = race(&store, ts).await;
        assert_eq!(applied(&out).len(), 1);
        assert!(
            out.iter().all(|o| matches!(
                o,
                TransitionOutcome::Applied(_) | TransitionOutcome::Duplicate(_)
            )),
            "{out:?}"
        );
    }

    async fn fifty_concurrent_accepts_have_one_winner_and_the_rest_conflict() {
        let store = call_store().await;
        ringing(&*store, "c1").await;
        let ts = (0..50).map(|i| by_agent(CallStatus::Accepted, i)).collect();
        let out = race(&store, ts).await;
        let winners = applied(&out);
        assert_eq!(winners.len(), 1, "{out:?}");
        let winner = winners[0].agent_id.clone();
        for o in &out {
            match o {
                TransitionOutcome::Applied(_) => {}
                TransitionOutcome::Conflict(c) => {
                    assert_eq!((c.status, &c.agent_id), (CallStatus::Accepted, &winner))
                }
                other => panic!("{other:?}"),
            }
        }
        let kept = store.get(&CallRef::id("c1")).await.unwrap().unwrap();
        assert_eq!(kept.agent_id, winner);
        assert_eq!(store.open_calls_of(winner.as_deref().unwrap()).await.unwrap().len(), 1);
    }

    async fn fifty_concurrent_denies_and_accepts_apply_exactly_one_of_them() {
        let store = call_store().await;
        ringing(&*store, "c1").await;
        let ts = (0..50)
            .map(|i| {
                let to = if i % 2 == 0 { CallStatus::Accepted } else { CallStatus::Denied };
                by_agent(to, i)
            })
            .collect();
        let out = race(&store, ts).await;
        let winners = applied(&out);
        assert_eq!(winners.len(), 1, "{out:?}");
        let won = winners[0].status;
        for o in &out {
            match (won, o) {
                (_, TransitionOutcome::Applied(_)) => {}
                // After an accept every other request conflicts (first accept wins).
                (CallStatus::Accepted, TransitionOutcome::Conflict(c)) => {
                    assert_eq!(c.status, CallStatus::Accepted)
                }
                // After a deny, denies are duplicates and accepts conflict.
                (CallStatus::Denied, TransitionOutcome::Duplicate(c))
                | (CallStatus::Denied, TransitionOutcome::Conflict(c)) => {
                    assert_eq!(c.status, CallStatus::Denied)
                }
                other => panic!("{other:?}"),
            }
        }
        let counts = store.counts().await.unwrap();
        assert_eq!(counts.ringing, 0);
        assert_eq!(counts.active, u64::from(won == CallStatus::Accepted));
        assert_eq!(counts.records, 1);
    }

    async fn concurrent_requests_of_one_caller_open_one_call() {
        let store = call_store().await;
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let new = NewCall {
                        call_id: format!("c{i}"),
                        request_id: format!("r{i}"),
                        caller_id: "u1".into(),
                        target_id: Some("t1".into()),
                        now_ms: 1,
                        ring_deadline_ms: 1_000_000,
                    };
                    store.create(new).await.unwrap()
                })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                CreateOutcome::Created(c) => {
                    created += 1;
                    ids.insert(c.call_id);
                }
                CreateOutcome::Existing(c) => {
                    ids.insert(c.call_id);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((created, ids.len()), (1, 1));
        assert_eq!(store.counts().await.unwrap().ringing, 1);
    }
}
