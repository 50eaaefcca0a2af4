//! Atomicity under concurrency, on both stores: many tasks racing the same
//! check-and-set get exactly the outcome one at a time would give.

mod stores;

use std::sync::Arc;

use futures_util::future::join_all;
use plugboard::SocketId;
use stores::*;

plugboard_testkit::on_both_stores! {
    async fn many_concurrent_views_of_one_ticket_give_exactly_the_right_viewers() {
        let s = Arc::new(store().await);
        let views = (0..40).flat_map(|i| [(i, SocketId::new()), (i, SocketId::new())]);
        let tasks = views.map(|(i, sock)| {
            let s = s.clone();
            tokio::spawn(async move {
                let agent = format!("agent{i:02}");
                s.view(req("T", &agent, sock, i)).await.unwrap();
                sock
            })
        });
        let socks: Vec<SocketId> = join_all(tasks).await.into_iter().map(Result::unwrap).collect();
        let viewers = s.viewers("T").await.unwrap();
        let ids: Vec<String> = viewers.iter().map(|v| v.agent_id.clone()).collect();
        let want: Vec<String> = (0..40).map(|i| format!("agent{i:02}")).collect();
        assert_eq!(ids, want, "one viewer per agent, oldest first");
        let st = s.stats(5).await.unwrap();
        assert_eq!((st.active_tickets, st.total_viewers, st.tracked_sockets), (1, 40, 80));
        assert_eq!(st.tickets[0].viewer_count, 40);

        let leaves = socks.into_iter().map(|sock| {
            let s = s.clone();
            tokio::spawn(async move { s.leave("T", sock).await.unwrap().unwrap().agent_left })
        });
        let left = join_all(leaves).await.into_iter().filter(|l| *l.as_ref().unwrap()).count();
        assert_eq!(left, 40, "each agent leaves exactly once, with its last tab");
        assert_empty(&s).await;
    }

    async fn racing_expiries_of_one_typing_status_end_it_exactly_once() {
        let s = Arc::new(store().await);
        let a = SocketId::new();
        s.view(req("T", "a", a, 0)).await.unwrap();
        s.typing("T", a, 0, 100).await.unwrap();
        let tasks = (0..20).map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.expire_typing("T", "a", 100).await.unwrap().is_some() })
        });
        let ended = join_all(tasks).await.into_iter().filter(|e| *e.as_ref().unwrap()).count();
        assert_eq!(ended, 1);
        assert_eq!(s.stats(10).await.unwrap().typing_count, 0);
    }

    async fn racing_sweeps_of_one_stale_viewer_remove_it_exactly_once() {
        let s = Arc::new(store().await);
        s.view(req("T", "a", SocketId::new(), 10)).await.unwrap();
        s.view(req("T", "b", SocketId::new(), 50)).await.unwrap();
        let tasks = (0..20).map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.remove_if_stale("T", "a", 20).await.unwrap().is_some() })
        });
        let removed = join_all(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(removed, 1);
        let ids: Vec<String> = s.viewers("T").await.unwrap().into_iter().map(|v| v.agent_id).collect();
        assert_eq!(ids, ["b"]);
    }

    async fn racing_views_from_one_socket_respect_the_ticket_limit() {
        let s = Arc::new(store().await);
        let sock = SocketId::new();
        let tasks = (0..20).map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.view(req(&format!("T{i}"), "a", sock, 0)).await.is_ok() })
        });
        let ok = join_all(tasks).await.into_iter().filter(|o| *o.as_ref().unwrap()).count();
        assert_eq!(ok, 3, "max_tickets_per_socket = 3");
        assert_eq!(s.tickets_of(sock).await.unwrap().len(), 3);
        assert_eq!(s.stats(30).await.unwrap().active_tickets, 3);
    }

    async fn a_view_racing_a_kick_leaves_a_consistent_viewer() {
        let s = Arc::new(store().await);
        for round in 0..20u64 {
            let (old, new) = (SocketId::new(), SocketId::new());
            s.view(req("T", "a", old, round)).await.unwrap();
            let (k, v) = tokio::join!(
                { let s = s.clone(); async move { s.remove_agent("T", "a").await.unwrap() } },
                { let s = s.clone(); async move { s.view(req("T", "a", new, round)).await.unwrap() } },
            );
            let viewers = s.viewers("T").await.unwrap();
            match k {
                // The kick came last: nobody is left.
                Some(r) if r.removed.sockets.contains(&new) => assert!(viewers.is_empty()),
                // The view came last (or alone): the new tab alone views.
                _ => {
                    assert_eq!(viewers.len(), 1);
                    assert_eq!(s.tickets_of(new).await.unwrap(), ["T"]);
                    assert!(v.socket_added);
                }
            }
            assert!(s.tickets_of(old).await.unwrap().is_empty());
            s.remove_agent("T", "a").await.unwrap();
            assert_empty(&s).await;
        }
    }
}
