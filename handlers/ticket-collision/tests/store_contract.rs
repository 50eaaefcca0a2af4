//! The `ViewerStore` contract, on the memory store and on Redis: the same calls give the
//! same outcomes, and an empty store leaves nothing behind (no keys on Redis).

mod stores;

use plugboard::SocketId;
use plugboard_ticket_collision::{StoreError, ViewerStatus};
use stores::*;

plugboard_testkit::on_both_stores! {
    async fn two_tabs_of_one_agent_are_one_viewer() {
        let s = store().await;
        let (tab1, tab2) = (SocketId::new(), SocketId::new());
        let first = s.view(req("T", "a1", tab1, 100)).await.unwrap();
        assert!(first.agent_joined && first.socket_added);
        let second = s.view(req("T", "a1", tab2, 200)).await.unwrap();
        assert!(!second.agent_joined && second.socket_added);
        assert_eq!(second.viewers.len(), 1);
        assert_eq!(second.viewers[0].since, 100);
        let again = s.view(req("T", "a1", tab2, 300)).await.unwrap();
        assert!(!again.agent_joined && !again.socket_added);

        let out = s.leave("T", tab1).await.unwrap().unwrap();
        assert!(!out.agent_left);
        assert_eq!(out.viewers.len(), 1);
        let out = s.leave("T", tab2).await.unwrap().unwrap();
        assert!(out.agent_left && out.viewers.is_empty());
        assert_eq!(out.viewer.agent_id, "a1");
        assert!(s.leave("T", tab2).await.unwrap().is_none());
        assert_empty(&s).await;
    }

    async fn viewers_are_listed_oldest_first_with_their_names() {
        let s = store().await;
        s.view(req("T", "b", SocketId::new(), 20)).await.unwrap();
        let mut r = req("T", "a", SocketId::new(), 10);
        r.name = "Ann";
        let out = s.view(r).await.unwrap();
        let ids: Vec<_> = out.viewers.iter().map(|v| v.agent_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(out.viewers[0].agent_name, "Ann");
        assert_eq!(s.viewers("T").await.unwrap(), out.viewers);
        assert!(s.viewers("nobody-here").await.unwrap().is_empty());
    }

    async fn ids_and_names_with_separators_and_unicode_round_trip() {
        let s = store().await;
        let (ticket, agent, name) = ("T:1 é/\"x\"", "agent:7 ü", "Zoë \"Z\" / ☃");
        let sock = SocketId::new();
        let mut r = req(ticket, agent, sock, 5);
        r.name = name;
        s.view(r).await.unwrap();
        s.typing(ticket, sock, 6, 7).await.unwrap().unwrap();
        let v = &s.viewers(ticket).await.unwrap()[0];
        assert_eq!((v.agent_id.as_str(), v.agent_name.as_str()), (agent, name));
        assert_eq!(s.due_typing(7, 10).await.unwrap(), [(ticket.to_owned(), agent.to_owned())]);
        assert_eq!(s.stale(100, 10).await.unwrap(), [(ticket.to_owned(), agent.to_owned())]);
        assert_eq!(s.tickets_of(sock).await.unwrap(), [ticket]);
        assert!(s.remove_agent(ticket, agent).await.unwrap().is_some());
        assert_empty(&s).await;
    }

    async fn typing_needs_a_socket_that_views_the_ticket() {
        let s = store().await;
        let (a, b) = (SocketId::new(), SocketId::new());
        assert!(s.typing("T", a, 0, 10).await.unwrap().is_none());
        s.view(req("T", "a", a, 0)).await.unwrap();
        assert!(s.typing("T", b, 0, 10).await.unwrap().is_none());
        assert!(s.typing("U", a, 0, 10).await.unwrap().is_none());
        assert!(s.stop_typing("U", a, 0).await.unwrap().is_none());
        assert_eq!(s.stats(10).await.unwrap().typing_count, 0);
    }

    async fn typing_starts_once_and_lists_every_typer() {
        let s = store().await;
        let (a, b, b2) = (SocketId::new(), SocketId::new(), SocketId::new());
        s.view(req("T", "a", a, 0)).await.unwrap();
        s.view(req("T", "b", b, 0)).await.unwrap();
        s.view(req("T", "b", b2, 0)).await.unwrap();
        let first = s.typing("T", a, 1, 100).await.unwrap().unwrap();
        assert!(first.started);
        assert_eq!(first.viewer.status, ViewerStatus::Typing);
        assert_eq!(first.typers.len(), 1);
        let again = s.typing("T", a, 2, 200).await.unwrap().unwrap();
        assert!(!again.started);
        let other = s.typing("T", b2, 3, 300).await.unwrap().unwrap();
        assert!(other.started);
        assert_eq!(other.typers.len(), 2);
        assert_eq!(other.typers[1].sockets, vec![b, b2]);
        let st = s.stats(10).await.unwrap();
        assert_eq!((st.typing_count, st.tickets[0].typing_count), (2, 2));

        let stop = s.stop_typing("T", b, 4).await.unwrap().unwrap();
        assert!(stop.stopped);
        assert!(!s.stop_typing("T", b, 5).await.unwrap().unwrap().stopped);
        assert_eq!(s.stats(10).await.unwrap().typing_count, 1);
    }

    async fn typing_expires_only_at_its_latest_deadline() {
        let s = store().await;
        let a = SocketId::new();
        s.view(req("T", "a", a, 0)).await.unwrap();
        s.typing("T", a, 0, 100).await.unwrap();
        s.typing("T", a, 50, 150).await.unwrap();
        assert!(s.due_typing(120, 10).await.unwrap().is_empty());
        assert!(s.expire_typing("T", "a", 120).await.unwrap().is_none());
        assert_eq!(
            s.due_typing(150, 10).await.unwrap(),
            vec![("T".to_owned(), "a".to_owned())]
        );
        let out = s.expire_typing("T", "a", 150).await.unwrap().unwrap();
        assert!(out.stopped);
        assert_eq!(out.viewers[0].status, ViewerStatus::Viewing);
        assert!(s.due_typing(1000, 10).await.unwrap().is_empty());
        assert!(s.expire_typing("T", "a", 1000).await.unwrap().is_none());
        assert!(s.expire_typing("T", "nobody", 1000).await.unwrap().is_none());
    }

    async fn a_disconnecting_socket_is_found_on_every_ticket_it_views() {
        let s = store().await;
        let a = SocketId::new();
        s.view(req("T1", "a", a, 0)).await.unwrap();
        s.view(req("T2", "a", a, 0)).await.unwrap();
        s.typing("T2", a, 0, 10).await.unwrap();
        let mut tickets = s.tickets_of(a).await.unwrap();
        tickets.sort();
        assert_eq!(tickets, ["T1", "T2"]);
        for t in tickets {
            assert!(s.leave(&t, a).await.unwrap().unwrap().agent_left);
        }
        assert!(s.tickets_of(a).await.unwrap().is_empty());
        assert_empty(&s).await;
    }

    async fn a_socket_may_view_a_bounded_number_of_tickets() {
        let s = store().await;
        let a = SocketId::new();
        for t in ["T1", "T2", "T3"] {
            s.view(req(t, "a", a, 0)).await.unwrap();
        }
        let refused = s.view(req("T4", "a", a, 0)).await.unwrap_err();
        assert_eq!(refused, StoreError::TooManyTickets { limit: 3 });
        assert!(s.viewers("T4").await.unwrap().is_empty());
        assert!(
            s.view(req("T1", "a", a, 1)).await.is_ok(),
            "a repeat is no new ticket"
        );
        assert_eq!(s.stats(10).await.unwrap().active_tickets, 3);
    }

    async fn stale_viewers_are_found_by_last_activity() {
        let s = store().await;
        let (a, b) = (SocketId::new(), SocketId::new());
        s.view(req("T", "a", a, 10)).await.unwrap();
        s.view(req("T", "b", b, 20)).await.unwrap();
        s.typing("T", a, 30, 40).await.unwrap();
        assert_eq!(
            s.stale(25, 10).await.unwrap(),
            vec![("T".to_owned(), "b".to_owned())]
        );
        assert!(s.remove_if_stale("T", "a", 25).await.unwrap().is_none());
        let out = s.remove_if_stale("T", "b", 25).await.unwrap().unwrap();
        assert_eq!(out.removed.viewer.agent_id, "b");
        assert_eq!(out.removed.sockets, vec![b]);
        assert_eq!(out.viewers.len(), 1);
        assert!(s.tickets_of(b).await.unwrap().is_empty());
        let out = s.remove_if_stale("T", "a", 31).await.unwrap().unwrap();
        assert!(out.viewers.is_empty());
        assert_empty(&s).await;
    }

    async fn removing_an_agent_takes_every_tab_off_the_ticket_only() {
        let s = store().await;
        let (t1, t2) = (SocketId::new(), SocketId::new());
        s.view(req("T", "a", t1, 0)).await.unwrap();
        s.view(req("T", "a", t2, 0)).await.unwrap();
        s.view(req("U", "a", t2, 0)).await.unwrap();
        assert!(s.remove_agent("T", "zz").await.unwrap().is_none());
        let out = s.remove_agent("T", "a").await.unwrap().unwrap();
        assert_eq!(out.removed.sockets, vec![t1, t2]);
        assert!(s.tickets_of(t1).await.unwrap().is_empty());
        assert_eq!(s.tickets_of(t2).await.unwrap(), ["U"]);
        let st = s.stats(10).await.unwrap();
        assert_eq!(
            (st.active_tickets, st.total_viewers, st.tracked_sockets),
            (1, 1, 1)
        );
    }

    async fn stats_rank_tickets_by_viewers_and_cap_the_list() {
        let s = store().await;
        for (ticket, n) in [("small", 1), ("big", 3), ("mid", 2), ("also-mid", 2)] {
            for i in 0..n {
                s.view(req(ticket, &format!("agent{i}"), SocketId::new(), 0))
                    .await
                    .unwrap();
            }
        }
        let st = s.stats(3).await.unwrap();
        assert_eq!((st.active_tickets, st.total_viewers, st.tracked_sockets), (4, 8, 8));
        let top: Vec<_> = st
            .tickets
            .iter()
            .map(|t| (t.ticket_id.as_str(), t.viewer_count))
            .collect();
        assert_eq!(top, [("big", 3), ("also-mid", 2), ("mid", 2)]);
        assert!(s.stats(0).await.unwrap().tickets.is_empty());
    }
}
