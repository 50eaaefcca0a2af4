//! The departures of the store: the grace after a user's last socket left, kept in the
//! store so any node's sweep handles it, claimed by one sweeper at a time.

mod common;

use common::call_store;
use plugboard_call_deny::Departure;

fn users(ds: &[Departure]) -> Vec<&str> {
    ds.iter().map(|d| d.user.as_str()).collect()
}

plugboard_testkit::on_both_stores! {
    async fn a_departure_is_claimed_once_when_due_and_forgotten_when_settled() {
        let store = call_store().await;
        store.schedule_departure("u1", 100).await.unwrap();
        store.schedule_departure("u2", 200).await.unwrap();
        assert!(store.claim_departures(99, 1000, 10).await.unwrap().is_empty());
        let due = store.claim_departures(150, 1000, 10).await.unwrap();
        assert_eq!(due, [Departure { user: "u1".into(), token: 1150 }]);
        assert!(
            store.claim_departures(150, 1000, 10).await.unwrap().is_empty(),
            "a claimed departure is not claimed twice"
        );
        assert_eq!(store.counts().await.unwrap().pending_departures, 2);
        assert!(store.settle_departure(&due[0]).await.unwrap());
        assert!(!store.settle_departure(&due[0]).await.unwrap());
        assert_eq!(store.counts().await.unwrap().pending_departures, 1);
        let due = store.claim_departures(10_000, 1000, 10).await.unwrap();
        assert_eq!(users(&due), ["u2"]);
    }

    async fn an_unsettled_claim_comes_back_after_its_lease() {
        let store = call_store().await;
        store.schedule_departure("u1", 100).await.unwrap();
        let first = store.claim_departures(100, 500, 10).await.unwrap();
        assert_eq!(first[0].token, 600);
        assert!(store.claim_departures(599, 500, 10).await.unwrap().is_empty());
        let again = store.claim_departures(600, 500, 10).await.unwrap();
        assert_eq!(again, [Departure { user: "u1".into(), token: 1100 }]);
        assert!(
            !store.settle_departure(&first[0]).await.unwrap(),
            "the lapsed claim no longer settles it"
        );
        assert!(store.settle_departure(&again[0]).await.unwrap());
        assert_eq!(store.counts().await.unwrap().pending_departures, 0);
    }

    async fn a_new_departure_during_a_claim_survives_its_settlement() {
        let store = call_store().await;
        store.schedule_departure("u1", 100).await.unwrap();
        let claimed = store.claim_departures(100, 500, 10).await.unwrap();
        store.schedule_departure("u1", 5000).await.unwrap();
        assert!(!store.settle_departure(&claimed[0]).await.unwrap());
        assert_eq!(store.counts().await.unwrap().pending_departures, 1);
        assert!(store.claim_departures(4999, 500, 10).await.unwrap().is_empty());
        assert_eq!(users(&store.claim_departures(5000, 500, 10).await.unwrap()), ["u1"]);
    }

    async fn claims_take_the_earliest_due_first_up_to_the_limit() {
        let store = call_store().await;
        for (u, due) in [("u3", 30), ("u1", 10), ("u2", 20)] {
            store.schedule_departure(u, due).await.unwrap();
        }
        assert_eq!(users(&store.claim_departures(100, 50, 2).await.unwrap()), ["u1", "u2"]);
        assert_eq!(users(&store.claim_departures(100, 50, 2).await.unwrap()), ["u3"]);
    }
}
