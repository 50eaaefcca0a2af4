//! The store contract, written against `dyn LiveStore` so the Redis store of the cluster
//! issue runs the same cases.

use std::sync::Arc;

use plugboard_live_queue::{
    CallError, LiveStore, MemoryLiveStore, Preferences, Requested, Side, Status,
};

fn stores() -> Vec<Arc<dyn LiveStore>> {
    vec![Arc::new(MemoryLiveStore::new())]
}

fn lang(l: &str) -> Preferences {
    Preferences {
        language: Some(l.to_owned()),
    }
}

#[tokio::test]
async fn a_stale_version_is_refused_with_the_current_state() {
    for s in stores() {
        let v1 = s
            .try_transition("a", Some(0), Status::Queueing, None)
            .await
            .unwrap();
        assert_eq!(v1, 1);
        let err = s
            .try_transition("a", Some(0), Status::Available, None)
            .await
            .unwrap_err();
        assert_eq!((err.status, err.version), (Status::Queueing, 1));
        let err = s
            .try_transition("a", None, Status::Queueing, None)
            .await
            .unwrap_err();
        assert_eq!(
            err.status,
            Status::Queueing,
            "queueing -> queueing is not a move"
        );
        assert_eq!(
            s.try_transition("a", Some(1), Status::Available, None)
                .await,
            Ok(2)
        );
    }
}

#[tokio::test]
async fn a_pair_moves_both_or_neither() {
    for s in stores() {
        s.try_transition("b", None, Status::Connecting, Some("m1"))
            .await
            .unwrap();
        let a = Side {
            user: "a",
            expected: None,
        };
        let b = Side {
            user: "b",
            expected: None,
        };
        let err = s
            .try_transition_pair(a, b, Status::Connecting, Some("m2"))
            .await
            .unwrap_err();
        assert_eq!(err.side, 1);
        assert_eq!(err.state.holder.as_deref(), Some("m1"));
        assert_eq!(
            s.state("a").await.status,
            Status::Available,
            "a did not move"
        );
        assert!(
            s.try_transition_pair(a, a, Status::Queueing, None)
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn leaving_queueing_by_any_route_leaves_the_queue() {
    for s in stores() {
        s.join("a", "A", &lang("de")).await.unwrap();
        assert_eq!(s.position("a").await, Some(1));
        s.try_transition("a", None, Status::Connecting, Some("x"))
            .await
            .unwrap();
        assert_eq!(s.position("a").await, None);
        assert_eq!(s.queue_len().await, 0);
        assert!(
            s.join("a", "A", &lang("de")).await.is_err(),
            "a held user cannot queue"
        );
    }
}

#[tokio::test]
async fn a_suspended_place_is_kept_not_matched_and_expires() {
    for s in stores() {
        s.join("a", "A", &Preferences::default()).await.unwrap();
        s.join("b", "B", &Preferences::default()).await.unwrap();
        assert!(s.suspend("a").await);
        assert_eq!(s.try_match("b", "m1").await, None);
        assert_eq!(s.position("a").await, Some(1));
        assert!(s.resume("a").await);
        let made = s.try_match("b", "m1").await.expect("matched after resume");
        assert_eq!(made.users[0].0, "a", "the earlier-queued user first");
        s.join("c", "C", &Preferences::default()).await.unwrap();
        assert!(
            !s.expire_suspended("c").await,
            "only a suspended place expires"
        );
        s.suspend("c").await;
        assert!(s.expire_suspended("c").await);
        assert_eq!(s.state("c").await.status, Status::Available);
    }
}

#[tokio::test]
async fn glare_merges_and_a_third_request_is_in_progress() {
    for s in stores() {
        assert_eq!(
            s.request_call("x", "a", "b", "intro").await,
            Ok(Requested::Ringing)
        );
        let merged = s.request_call("x", "b", "a", "video").await.unwrap();
        assert_eq!(
            merged,
            Requested::Merged {
                stage: "intro".into(),
                participants: ["a".into(), "b".into()]
            }
        );
        assert_eq!(s.state("a").await.status, Status::InCall);
        assert_eq!(
            s.request_call("x", "a", "b", "intro").await,
            Err(CallError::InProgress)
        );
        assert_eq!(s.accept_call("x", "b").await, Err(CallError::InProgress));
        assert_eq!(
            s.request_call("x", "c", "a", "intro").await,
            Err(CallError::Forbidden)
        );
        let ended = s.end("x", "b").await.unwrap();
        assert_eq!(ended.parties, ["a".to_owned(), "b".to_owned()]);
        assert_eq!(s.match_count().await, 0);
        assert_eq!(s.state("b").await.status, Status::Available);
    }
}

#[tokio::test]
async fn release_frees_the_user_and_its_peer_once() {
    for s in stores() {
        s.request_call("x", "a", "b", "intro").await.unwrap();
        let v = s.state("a").await.version;
        assert!(
            s.release("a", Some(v + 1)).await.is_none(),
            "a stale version changes nothing"
        );
        let r = s.release("a", Some(v)).await.unwrap();
        assert_eq!(r.previous.status, Status::Connecting);
        assert_eq!(r.ended.unwrap().match_id, "x");
        assert_eq!(s.state("b").await.status, Status::Available);
        assert!(s.release("a", None).await.is_none());
        let counts = s.counts().await;
        assert_eq!((counts.connecting, counts.available), (0, 2));
    }
}

#[tokio::test]
async fn stale_available_records_can_be_forgotten_only_at_their_version() {
    for s in stores() {
        s.try_transition("a", None, Status::Queueing, None)
            .await
            .unwrap();
        s.try_transition("a", None, Status::Available, None)
            .await
            .unwrap();
        let stale = s.stale(u64::MAX, 10).await;
        assert_eq!(stale.len(), 1);
        assert!(!s.forget_available("a", 1).await);
        assert!(s.forget_available("a", 2).await);
        assert_eq!(s.counts().await, Default::default());
        assert!(s.stale(u64::MAX, 10).await.is_empty());
    }
}
