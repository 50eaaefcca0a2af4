//! Property test of the store under concurrency, on both stores: every compare-and-set
//! is atomic (no lost or doubled update) and every applied change is a valid step.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::props::{REDIS_CASES, on_store};
use parking_lot::Mutex;
use plugboard_live_queue::{BusyState, LiveStore, Side, Status, allowed};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const USERS: [&str; 5] = ["u0", "u1", "u2", "u3", "u4"];
const MATCHES: [&str; 3] = ["m0", "m1", "m2"];
const STATUSES: [Status; 4] = [
    Status::Available,
    Status::Queueing,
    Status::Connecting,
    Status::InCall,
];

#[derive(Debug, Clone)]
enum Raw {
    One {
        user: usize,
        to: usize,
        holder: Option<usize>,
        strict: bool,
    },
    Pair {
        a: usize,
        b: usize,
        to: usize,
        holder: Option<usize>,
    },
}

fn raw() -> impl Strategy<Value = Raw> {
    prop_oneof![
        (
            0..5usize,
            0..4usize,
            proptest::option::of(0..3usize),
            any::<bool>()
        )
            .prop_map(|(user, to, holder, strict)| Raw::One {
                user,
                to,
                holder,
                strict
            }),
        (
            0..5usize,
            0..5usize,
            0..4usize,
            proptest::option::of(0..3usize)
        )
            .prop_map(|(a, b, to, holder)| Raw::Pair { a, b, to, holder }),
    ]
}

/// One applied change: (version, status, holder).
type Change = (u64, Status, Option<String>);

type Workers<T> = Vec<Vec<T>>;

fn raw_workers() -> impl Strategy<Value = Workers<Raw>> {
    proptest::collection::vec(proptest::collection::vec(raw(), 1..40), 2..5)
}

mod memory {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn concurrent_transitions_replay_as_a_valid_history(workers in raw_workers()) {
            on_store(false, |store| history(store, workers))?;
        }

    }
}

mod redis {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(REDIS_CASES))]

        #[test]
        fn concurrent_transitions_replay_as_a_valid_history(workers in raw_workers()) {
            on_store(true, |store| history(store, workers))?;
        }

    }
}

/// Every worker applies raw transitions concurrently; per user, the successful ones sorted
/// by version must be consecutive versions and valid steps, ending in the stored state.
async fn history(store: Arc<dyn LiveStore>, workers: Workers<Raw>) -> Result<(), TestCaseError> {
    let log: Arc<Mutex<HashMap<String, Vec<Change>>>> = Arc::default();
    let mut tasks = Vec::new();
    for ops in workers {
        let (store, log) = (store.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            for op in ops {
                apply_raw(&*store, &log, op).await;
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let log = log.lock().clone();
    for user in USERS {
        let mut changes = log.get(user).cloned().unwrap_or_default();
        changes.sort_by_key(|c| c.0);
        let mut st = BusyState::fresh();
        for (i, (version, to, holder)) in changes.iter().enumerate() {
            prop_assert_eq!(
                *version,
                i as u64 + 1,
                "{}: a version was skipped or doubled",
                user
            );
            prop_assert!(
                allowed(st.status, st.holder.as_deref(), *to, holder.as_deref()),
                "{}: {:?}({:?}) -> {:?}({:?}) is not a valid step",
                user,
                st.status,
                st.holder,
                to,
                holder
            );
            if st.status.is_held() && to.is_held() {
                prop_assert_eq!(
                    &st.holder,
                    holder,
                    "{} switched matches without becoming available",
                    user
                );
            }
            st = BusyState {
                status: *to,
                version: *version,
                updated_at: 0,
                holder: holder.clone(),
            };
        }
        let now = store.state(user).await.unwrap();
        prop_assert_eq!(
            (now.status, now.version, now.holder),
            (st.status, st.version, st.holder)
        );
    }
    Ok(())
}

/// Records every successful change. A `connecting` re-confirmation for the same match
/// returns the unchanged version with an identical state; such duplicates are merged.
async fn apply_raw(store: &dyn LiveStore, log: &Mutex<HashMap<String, Vec<Change>>>, op: Raw) {
    let record = |user: &str, version: u64, to: Status, holder: Option<&str>| {
        let holder = to.is_held().then(|| holder.map(str::to_owned)).flatten();
        let mut log = log.lock();
        let changes = log.entry(user.to_owned()).or_default();
        let change = (version, to, holder);
        if !changes.contains(&change) {
            changes.push(change);
        }
    };
    match op {
        Raw::One {
            user,
            to,
            holder,
            strict,
        } => {
            let (user, to, holder) = (USERS[user], STATUSES[to], holder.map(|m| MATCHES[m]));
            let expected = if strict {
                Some(store.state(user).await.unwrap().version)
            } else {
                None
            };
            if let Ok(v) = store
                .try_transition(user, expected, to, holder)
                .await
                .unwrap()
            {
                record(user, v, to, holder);
            }
        }
        Raw::Pair { a, b, to, holder } => {
            let (ua, ub, to, holder) =
                (USERS[a], USERS[b], STATUSES[to], holder.map(|m| MATCHES[m]));
            let sides = (
                Side {
                    user: ua,
                    expected: None,
                },
                Side {
                    user: ub,
                    expected: None,
                },
            );
            if let Ok((va, vb)) = store
                .try_transition_pair(sides.0, sides.1, to, holder)
                .await
                .unwrap()
            {
                record(ua, va, to, holder);
                record(ub, vb, to, holder);
            }
        }
    }
}
