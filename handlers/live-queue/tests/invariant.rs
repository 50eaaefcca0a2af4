//! Property tests of the store under concurrency: no user is ever in two calls or
//! matches at once, and every compare-and-set is atomic (no lost or doubled update).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use plugboard_live_queue::{
    BusyState, BusyStateStore, MatchStore, MemoryLiveStore, Preferences, QueueStore, Side, Status,
    allowed,
};
use proptest::prelude::*;

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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn concurrent_transitions_replay_as_a_valid_history(
        workers in proptest::collection::vec(proptest::collection::vec(raw(), 1..40), 2..5)
    ) {
        let store = Arc::new(MemoryLiveStore::new());
        let log: Arc<Mutex<HashMap<String, Vec<Change>>>> = Arc::default();
        runtime().block_on(async {
            let mut tasks = Vec::new();
            for ops in workers {
                let (store, log) = (store.clone(), log.clone());
                tasks.push(tokio::spawn(async move {
                    for op in ops {
                        apply_raw(&store, &log, op).await;
                        tokio::task::yield_now().await;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let log = log.lock();
        for user in USERS {
            let mut changes = log.get(user).cloned().unwrap_or_default();
            changes.sort_by_key(|c| c.0);
            let mut st = BusyState::fresh();
            for (i, (version, to, holder)) in changes.iter().enumerate() {
                prop_assert_eq!(*version, i as u64 + 1, "{}: a version was skipped or doubled", user);
                prop_assert!(
                    allowed(st.status, st.holder.as_deref(), *to, holder.as_deref()),
                    "{}: {:?}({:?}) -> {:?}({:?}) is not a valid step", user, st.status, st.holder, to, holder
                );
                if st.status.is_held() && to.is_held() {
                    prop_assert_eq!(&st.holder, holder, "{} switched matches without becoming available", user);
                }
                st = BusyState { status: *to, version: *version, updated_at: 0, holder: holder.clone() };
            }
            let now = runtime().block_on(store.state(user));
            prop_assert_eq!((now.status, now.version, now.holder), (st.status, st.version, st.holder));
        }
    }

    #[test]
    fn concurrent_queue_and_call_operations_keep_every_user_in_at_most_one_match(
        workers in proptest::collection::vec(proptest::collection::vec((0..7usize, 0..5usize, 0..5usize, 0..3usize), 1..40), 2..5)
    ) {
        let store = Arc::new(MemoryLiveStore::new());
        let rt = runtime();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for (w, ops) in workers.into_iter().enumerate() {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    for (i, (kind, a, b, m)) in ops.into_iter().enumerate() {
                        let (ua, ub, mid) = (USERS[a], USERS[b], MATCHES[m]);
                        match kind {
                            0 => { let _ = store.join(ua, ua, &Preferences::default()).await; }
                            1 => { let _ = store.leave(ua).await; }
                            2 => { let _ = store.try_match(ua, &format!("q{w}_{i}")).await; }
                            3 => { let _ = store.request_call(mid, ua, ub, "video").await; }
                            4 => { let _ = store.accept_call(mid, ua).await; }
                            5 => { let _ = store.end(mid, ua).await; }
                            _ => { let _ = store.release(ua, None).await; }
                        }
                        tokio::task::yield_now().await;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        rt.block_on(async {
            let mut holders: HashMap<String, Vec<&str>> = HashMap::new();
            for user in USERS {
                let st = store.state(user).await;
                let queued = store.position(user).await.is_some();
                prop_assert_eq!(queued, st.status == Status::Queueing, "{}: queue place and status disagree", user);
                if st.status.is_held() {
                    let m = st.holder.clone().expect("held states name their match");
                    let parties = store.parties(&m).await;
                    prop_assert!(parties.as_ref().is_some_and(|p| p.iter().any(|u| u == user)),
                        "{} is held by {} which does not list it", user, m);
                    holders.entry(m).or_default().push(user);
                }
            }
            for (m, users) in holders {
                prop_assert!(users.len() <= 2, "{} holds {:?}", m, users);
            }
            Ok(())
        })?;
    }
}

/// Records every successful change. A `connecting` re-confirmation for the same match
/// returns the unchanged version with an identical state; such duplicates are merged.
async fn apply_raw(store: &MemoryLiveStore, log: &Mutex<HashMap<String, Vec<Change>>>, op: Raw) {
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
                Some(store.state(user).await.version)
            } else {
                None
            };
            if let Ok(v) = store.try_transition(user, expected, to, holder).await {
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
            {
                record(ua, va, to, holder);
                record(ub, vb, to, holder);
            }
        }
    }
}
