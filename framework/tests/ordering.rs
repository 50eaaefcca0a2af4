//! One socket's events run in arrival order; different sockets run in parallel.

mod support;

use std::sync::Arc;

use plugboard_testkit::{TestServer, dev_auth};
use serde_json::json;
use support::{Recorder, builder};

plugboard_testkit::on_both_stores! {
    async fn thousand_alternating_events_from_one_socket_are_handled_in_order() {
        let mut b = builder("[limits]\nevents_per_second = 0");
        let rec = b.handler(Recorder::default()).unwrap();
        let server = TestServer::start(b).await;
        let client = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        for n in 0..1000u64 {
            let event = if n % 2 == 0 { "a" } else { "b" };
            client.emit(event, json!({ "n": n })).await;
        }
        // The ack of a last event arrives only after every earlier event ran.
        client.emit_with_ack("a", json!({ "n": 1000 })).await;
        let seen = rec.seen.lock().clone();
        assert_eq!(seen.len(), 1001);
        for (i, (event, v)) in seen.iter().enumerate() {
            assert_eq!(v["n"], json!(i as u64), "event {i} out of order");
            assert_eq!(event, if i % 2 == 0 { "a" } else { "b" });
        }
        server.stop().await;
    }

    async fn sockets_do_not_wait_for_each_other() {
        let mut b = builder("");
        let rec: Arc<Recorder> = b.handler(Recorder::default()).unwrap();
        let server = TestServer::start(b).await;
        let one = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        let two = server.connect(dev_auth("u2", "V", &[])).await.unwrap();
        let (x, y) = tokio::join!(
            one.emit_with_ack("a", json!({"n": 1})),
            two.emit_with_ack("b", json!({"n": 2}))
        );
        assert_eq!(
            (x["ok"].clone(), y["ok"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(rec.seen.lock().len(), 2);
        server.stop().await;
    }

    async fn events_sent_just_before_a_disconnect_are_still_handled_before_the_cleanup() {
        let mut b = builder("[limits]\nevents_per_second = 0");
        let rec = b.handler(Recorder::default()).unwrap();
        let server = TestServer::start(b).await;
        let client = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        for n in 0..200u64 {
            client.emit("a", json!({ "n": n })).await;
        }
        client.close().await;
        for _ in 0..500 {
            if rec.disconnects.load(std::sync::atomic::Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(rec.disconnects.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            rec.seen.lock().len(),
            200,
            "every event that arrived before the disconnect ran"
        );
        server.stop().await;
    }

    async fn an_event_sent_the_moment_the_socket_connects_is_never_lost() {
        let mut b = builder("[limits]\nevents_per_second = 0");
        let rec = b.handler(Recorder::default()).unwrap();
        let server = TestServer::start(b).await;
        // socketioxide answers CONNECT before it runs the connect handler; on a
        // multi-thread runtime a first event can land in between. 200 tries catch it.
        for i in 0..200 {
            let c = server.connect(dev_auth(&format!("u{i}"), "U", &[])).await.unwrap();
            let ack = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                c.emit_with_ack("count", json!({})),
            )
            .await
            .unwrap_or_else(|_| panic!("the first event of socket {i} was lost"));
            assert_eq!(ack["ok"], true);
            c.close().await;
        }
        assert_eq!(rec.runs.load(std::sync::atomic::Ordering::SeqCst), 200);
        server.stop().await;
    }
}
