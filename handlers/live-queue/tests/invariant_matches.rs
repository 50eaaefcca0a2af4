//! Property test of queue, match and call operations under concurrency, on both stores:
//! no user is ever in two matches or calls at once, queue places and statuses agree,
//! and the counts follow the states.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::props::{REDIS_CASES, on_store};
use plugboard_live_queue::{LiveStore, Preferences, Status};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const USERS: [&str; 5] = ["u0", "u1", "u2", "u3", "u4"];
const MATCHES: [&str; 3] = ["m0", "m1", "m2"];

type Op = (usize, usize, usize, usize);

fn op_workers() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(
        proptest::collection::vec((0..7usize, 0..5usize, 0..5usize, 0..3usize), 1..40),
        2..5,
    )
}

mod memory {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn concurrent_queue_and_call_operations_keep_every_user_in_at_most_one_match(
            workers in op_workers()
        ) {
            on_store(false, |store| one_match(store, workers))?;
        }
    }
}

mod redis {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(REDIS_CASES))]

        #[test]
        fn concurrent_queue_and_call_operations_keep_every_user_in_at_most_one_match(
            workers in op_workers()
        ) {
            on_store(true, |store| one_match(store, workers))?;
        }
    }
}

/// Queue, match and call operations race; afterwards every queue place belongs to a
/// queueing user, every held user is a party of its match, no match holds more than two,
/// and the counts agree with the states.
async fn one_match(store: Arc<dyn LiveStore>, workers: Vec<Vec<Op>>) -> Result<(), TestCaseError> {
    let mut tasks = Vec::new();
    for (w, ops) in workers.into_iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for (i, (kind, a, b, m)) in ops.into_iter().enumerate() {
                let (ua, ub, mid) = (USERS[a], USERS[b], MATCHES[m]);
                let done = match kind {
                    0 => store.join(ua, ua, &Preferences::default()).await.map(drop),
                    1 => store.leave(ua).await.map(drop),
                    2 => store.try_match(ua, &format!("q{w}_{i}")).await.map(drop),
                    3 => store.request_call(mid, ua, ub, "video").await.map(drop),
                    4 => store.accept_call(mid, ua).await.map(drop),
                    5 => store.end(mid, ua).await.map(drop),
                    _ => store.release(ua, None).await.map(drop),
                };
                done.expect("the store answers");
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut holders: HashMap<String, Vec<&str>> = HashMap::new();
    let mut by_status: HashMap<Status, u64> = HashMap::new();
    for user in USERS {
        let st = store.state(user).await.unwrap();
        *by_status.entry(st.status).or_default() += 1;
        let queued = store.position(user).await.unwrap().is_some();
        prop_assert_eq!(
            queued,
            st.status == Status::Queueing,
            "{}: queue place and status disagree",
            user
        );
        if st.status.is_held() {
            let m = st.holder.clone().expect("held states name their match");
            let parties = store.parties(&m).await.unwrap();
            prop_assert!(
                parties
                    .as_ref()
                    .is_some_and(|p| p.iter().any(|u| u == user)),
                "{} is held by {} which does not list it",
                user,
                m
            );
            holders.entry(m).or_default().push(user);
        }
    }
    for (m, users) in &holders {
        prop_assert!(users.len() <= 2, "{} holds {:?}", m, users);
    }
    let counts = store.counts().await.unwrap();
    let n = |s: Status| by_status.get(&s).copied().unwrap_or(0);
    prop_assert_eq!(
        (counts.queueing, counts.connecting, counts.in_call),
        (
            n(Status::Queueing),
            n(Status::Connecting),
            n(Status::InCall)
        ),
        "counts agree with the states"
    );
    prop_assert_eq!(store.queue_len().await.unwrap() as u64, n(Status::Queueing));
    prop_assert!(store.match_count().await.unwrap() >= holders.len());
    Ok(())
}
