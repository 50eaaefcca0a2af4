//! The store contract, written against `dyn LiveStore` and run on the memory store and
//! on Redis (`on_both_stores!`).

use std::sync::Arc;

use plugboard_live_queue::{CallError, LiveStore, Preferences, Requested, Side, Status, store_for};

/// The running test's store.
async fn store() -> Arc<dyn LiveStore> {
    store_for(&plugboard_testkit::backend().await).unwrap()
}

fn lang(l: &str) -> Preferences {
    Preferences {
        language: Some(l.to_owned()),
    }
}

fn side(user: &str) -> Side<'_> {
    Side {
        user,
        expected: None,
    }
}

plugboard_testkit::on_both_stores! {
    async fn a_stale_version_is_refused_with_the_current_state() {
        let s = store().await;
        let v1 = s
            .try_transition("a", Some(0), Status::Queueing, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v1, 1);
        let err = s
            .try_transition("a", Some(0), Status::Available, None)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((err.status, err.version), (Status::Queueing, 1));
        let err = s
            .try_transition("a", None, Status::Queueing, None)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.status, Status::Queueing, "queueing -> queueing is not a move");
        assert_eq!(
            s.try_transition("a", Some(1), Status::Available, None).await.unwrap(),
            Ok(2)
        );
        let st = s.state("a").await.unwrap();
        assert_eq!((st.status, st.version, st.holder), (Status::Available, 2, None));
        assert!(st.updated_at > 0, "a changed state carries its time");
    }

    async fn a_held_state_names_its_match_and_moves_only_for_it() {
        let s = store().await;
        s.try_transition("a", None, Status::Connecting, Some("m1")).await.unwrap().unwrap();
        let st = s.state("a").await.unwrap();
        assert_eq!(st.holder.as_deref(), Some("m1"));
        let err = s
            .try_transition("a", None, Status::InCall, Some("m2"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.holder.as_deref(), Some("m1"));
        let v = s.try_transition("a", None, Status::Connecting, Some("m1")).await.unwrap();
        assert_eq!(v, Ok(st.version), "re-confirming the same match keeps the version");
        assert_eq!(s.try_transition("a", None, Status::InCall, Some("m1")).await.unwrap(), Ok(2));
    }

    async fn a_pair_moves_both_or_neither() {
        let s = store().await;
        s.try_transition("b", None, Status::Connecting, Some("m1"))
            .await
            .unwrap()
            .unwrap();
        let err = s
            .try_transition_pair(side("a"), side("b"), Status::Connecting, Some("m2"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.side, 1);
        assert_eq!(err.state.holder.as_deref(), Some("m1"));
        assert_eq!(s.state("a").await.unwrap().status, Status::Available, "a did not move");
        assert!(
            s.try_transition_pair(side("a"), side("a"), Status::Queueing, None)
                .await
                .unwrap()
                .is_err()
        );
        let stale = Side { user: "c", expected: Some(7) };
        let err = s
            .try_transition_pair(side("a"), stale, Status::Connecting, Some("m3"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((err.side, err.state.version), (1, 0));
        assert_eq!(
            s.try_transition_pair(side("a"), side("c"), Status::Connecting, Some("m3"))
                .await
                .unwrap(),
            Ok((1, 1))
        );
    }

    async fn leaving_queueing_by_any_route_leaves_the_queue() {
        let s = store().await;
        s.join("a", "A", &lang("de")).await.unwrap().unwrap();
        assert_eq!(s.position("a").await.unwrap(), Some(1));
        s.try_transition("a", None, Status::Connecting, Some("x"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.position("a").await.unwrap(), None);
        assert_eq!(s.queue_len().await.unwrap(), 0);
        assert!(
            s.join("a", "A", &lang("de")).await.unwrap().is_err(),
            "a held user cannot queue"
        );
    }

    async fn joining_is_fifo_and_idempotent_and_leaving_answers_whether_it_left() {
        let s = store().await;
        let a = s.join("a", "A", &lang("de")).await.unwrap().unwrap();
        let b = s.join("b", "B", &Preferences::default()).await.unwrap().unwrap();
        assert_eq!((a.position, a.new, b.position, b.new), (1, true, 2, true));
        let again = s.join("a", "A", &lang("fr")).await.unwrap().unwrap();
        assert_eq!((again.position, again.new), (1, false));
        assert_eq!(s.leave("a").await.unwrap(), Ok(true));
        assert_eq!(s.leave("a").await.unwrap(), Ok(false));
        assert_eq!(s.position("b").await.unwrap(), Some(1));
        assert_eq!(s.state("a").await.unwrap().status, Status::Available);
    }

    async fn matching_takes_the_earliest_compatible_user_and_holds_both() {
        let s = store().await;
        s.join("de1", "De1", &lang("de")).await.unwrap().unwrap();
        s.join("en1", "En1", &lang("en")).await.unwrap().unwrap();
        s.join("any", "Any", &Preferences::default()).await.unwrap().unwrap();
        s.join("en2", "En2", &lang("en")).await.unwrap().unwrap();
        let made = s.try_match("en2", "m1").await.unwrap().expect("en1 waits");
        assert_eq!(
            made.users,
            [("en1".to_owned(), "En1".to_owned()), ("en2".to_owned(), "En2".to_owned())]
        );
        for u in ["en1", "en2"] {
            let st = s.state(u).await.unwrap();
            assert_eq!((st.status, st.holder.as_deref()), (Status::Connecting, Some("m1")));
        }
        assert_eq!(s.parties("m1").await.unwrap(), Some(["en1".to_owned(), "en2".to_owned()]));
        let made = s.try_match("any", "m2").await.unwrap().expect("any matches anyone");
        assert_eq!(made.users[0].0, "de1");
        assert_eq!(s.try_match("any", "m3").await.unwrap(), None);
        assert_eq!((s.queue_len().await.unwrap(), s.match_count().await.unwrap()), (0, 2));
    }

    async fn a_suspended_place_is_kept_not_matched_and_expires() {
        let s = store().await;
        s.join("a", "A", &Preferences::default()).await.unwrap().unwrap();
        s.join("b", "B", &Preferences::default()).await.unwrap().unwrap();
        assert!(s.suspend("a").await.unwrap());
        assert_eq!(s.try_match("b", "m1").await.unwrap(), None);
        assert_eq!(s.position("a").await.unwrap(), Some(1));
        assert!(s.resume("a").await.unwrap());
        assert!(!s.resume("a").await.unwrap(), "only a suspended place resumes");
        let made = s.try_match("b", "m1").await.unwrap().expect("matched after resume");
        assert_eq!(made.users[0].0, "a", "the earlier-queued user first");
        s.join("c", "C", &Preferences::default()).await.unwrap().unwrap();
        assert!(
            !s.expire_suspended("c").await.unwrap(),
            "only a suspended place expires"
        );
        s.suspend("c").await.unwrap();
        assert!(s.expire_suspended("c").await.unwrap());
        assert_eq!(s.state("c").await.unwrap().status, Status::Available);
        assert!(!s.suspend("c").await.unwrap(), "no place, nothing to suspend");
    }

    async fn glare_merges_and_a_third_request_is_in_progress() {
        let s = store().await;
        assert_eq!(
            s.request_call("x", "a", "b", "intro").await.unwrap(),
            Ok(Requested::Ringing)
        );
        let merged = s.request_call("x", "b", "a", "video").await.unwrap().unwrap();
        assert_eq!(
            merged,
            Requested::Merged {
                stage: "intro".into(),
                participants: ["a".into(), "b".into()]
            }
        );
        assert_eq!(s.state("a").await.unwrap().status, Status::InCall);
        assert_eq!(
            s.request_call("x", "a", "b", "intro").await.unwrap(),
            Err(CallError::InProgress)
        );
        assert_eq!(s.accept_call("x", "b").await.unwrap(), Err(CallError::InProgress));
        assert_eq!(
            s.request_call("x", "c", "a", "intro").await.unwrap(),
            Err(CallError::Forbidden)
        );
        let ended = s.end("x", "b").await.unwrap().unwrap();
        assert_eq!(ended.parties, ["a".to_owned(), "b".to_owned()]);
        assert_eq!(s.match_count().await.unwrap(), 0);
        assert_eq!(s.state("b").await.unwrap().status, Status::Available);
        assert_eq!(s.end("x", "b").await.unwrap(), Err(CallError::NotFound));
    }

    async fn exactly_the_callee_accepts_once_and_busy_parties_are_named() {
        let s = store().await;
        s.request_call("x", "a", "b", "intro").await.unwrap().unwrap();
        assert_eq!(s.accept_call("x", "a").await.unwrap(), Err(CallError::NotFound));
        assert_eq!(s.accept_call("x", "c").await.unwrap(), Err(CallError::Forbidden));
        assert_eq!(s.accept_call("nope", "b").await.unwrap(), Err(CallError::NotFound));
        let started = s.accept_call("x", "b").await.unwrap().unwrap();
        assert_eq!(started.participants, ["a".to_owned(), "b".to_owned()]);
        assert_eq!(s.accept_call("x", "b").await.unwrap(), Err(CallError::InProgress));
        match s.request_call("y", "c", "a", "intro").await.unwrap() {
            Err(CallError::CalleeBusy(st)) => assert_eq!(st.status, Status::InCall),
            other => panic!("{other:?}"),
        }
        match s.request_call("z", "a", "c", "intro").await.unwrap() {
            Err(CallError::CallerBusy(st)) => assert_eq!(st.holder.as_deref(), Some("x")),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.match_count().await.unwrap(), 1, "refused requests leave no match");
        assert_eq!(s.parties("y").await.unwrap(), None);
    }

    async fn release_frees_the_user_and_its_peer_once() {
        let s = store().await;
        s.request_call("x", "a", "b", "intro").await.unwrap().unwrap();
        let v = s.state("a").await.unwrap().version;
        assert!(
            s.release("a", Some(v + 1)).await.unwrap().is_none(),
            "a stale version changes nothing"
        );
        let r = s.release("a", Some(v)).await.unwrap().unwrap();
        assert_eq!(r.previous.status, Status::Connecting);
        assert_eq!(r.ended.unwrap().match_id, "x");
        assert_eq!(s.state("b").await.unwrap().status, Status::Available);
        assert!(s.release("a", None).await.unwrap().is_none());
        let counts = s.counts().await.unwrap();
        assert_eq!((counts.connecting, counts.available), (0, 2));
        s.join("q", "Q", &Preferences::default()).await.unwrap().unwrap();
        let r = s.release("q", None).await.unwrap().unwrap();
        assert_eq!((r.previous.status, r.ended), (Status::Queueing, None));
        assert_eq!(s.queue_len().await.unwrap(), 0);
    }

    async fn stale_available_records_can_be_forgotten_only_at_their_version() {
        let s = store().await;
        s.try_transition("a", None, Status::Queueing, None)
            .await
            .unwrap()
            .unwrap();
        s.try_transition("a", None, Status::Available, None)
            .await
            .unwrap()
            .unwrap();
        assert!(s.touch("a").await.unwrap());
        assert!(!s.touch("nobody").await.unwrap());
        let stale = s.stale(u64::MAX, 10).await.unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].0, "a");
        assert!(s.stale(0, 10).await.unwrap().is_empty());
        assert!(!s.forget_available("a", 1).await.unwrap());
        assert!(s.forget_available("a", 2).await.unwrap());
        assert_eq!(s.counts().await.unwrap(), Default::default());
        assert!(s.stale(u64::MAX, 10).await.unwrap().is_empty());
    }

    async fn the_epoch_is_stable_for_one_state() {
        let s = store().await;
        let e = s.epoch().await.unwrap();
        assert!(!e.is_empty());
        assert_eq!(s.epoch().await.unwrap(), e);
    }
}
