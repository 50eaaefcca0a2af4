//! Registration, start-up, fan-out and shutdown.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use plugboard::HostError;
use plugboard_testkit::{TestServer, dev_auth};
use serde_json::json;
use support::{Recorder, Second, builder};

type Log = Arc<Mutex<Vec<String>>>;

/// A builder with `Recorder` then `Second` (failing its initialize when `fail`), sharing a log.
fn recorder_then_second(
    fail: bool,
) -> (plugboard::HostBuilder, Log, Arc<Recorder>, Arc<AtomicUsize>) {
    let mut b = builder("");
    let log: Log = Arc::default();
    let rec = b
        .handler(Recorder {
            log: log.clone(),
            ..Default::default()
        })
        .unwrap();
    let mut second = Second::new(log.clone());
    second.fail = fail;
    let task_ended = second.task_ended.clone();
    b.handler(second).unwrap();
    (b, log, rec, task_ended)
}

async fn wait_until(cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 2 s");
}

#[tokio::test]
async fn redis_store_that_cannot_be_reached_fails_start_naming_the_url() {
    // Port 1 on loopback: nothing listens there.
    let config = plugboard::Config::from_toml(
        "store = \"redis\"\nredis_url = \"redis://127.0.0.1:1\"\n[cluster]\nredis_timeout_ms = 300",
    )
    .unwrap();
    let builder = plugboard::Plugboard::builder(config).expect("nothing connects yet");
    let err = builder.start().await.expect_err("refused").to_string();
    assert!(err.contains("redis://127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn cluster_settings_that_cannot_work_are_refused_by_name() {
    let config = plugboard::Config::from_toml(
        "store = \"redis\"\n[cluster]\nheartbeat_ms = 1000\nnode_timeout_ms = 2000",
    )
    .unwrap();
    let err = plugboard::Plugboard::builder(config)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("node_timeout_ms"), "{err}");
}

plugboard_testkit::on_both_stores! {
    async fn two_handlers_with_the_same_name_are_refused() {
        let mut b = builder("");
        b.handler(Recorder::default()).unwrap();
        let err = b
            .handler(Recorder::default())
            .err()
            .expect("duplicate refused");
        assert!(
            matches!(err, HostError::DuplicateHandler { name: "recorder" }),
            "{err}"
        );
    }

    async fn an_event_claimed_by_two_handlers_fails_start_up() {
        let mut b = builder("");
        b.handler(Recorder::default()).unwrap();
        let mut second = Second::new(Arc::default());
        second.claim = "a";
        b.handler(second).unwrap();
        let err = b.start().await.expect_err("start refused");
        assert!(
            matches!(&err, HostError::InitializeFailed { name: "second", source } if source.to_string().contains("event `a` is claimed by both `recorder` and `second`")),
            "{err}"
        );
    }

    async fn failing_initialize_names_the_handler_and_shuts_down_those_before_it() {
        let (b, _log, rec, task_ended) = recorder_then_second(true);
        let err = b.start().await.expect_err("start fails");
        let text = err.to_string();
        assert!(
            text.contains("handler `second` failed to initialize: database unreachable"),
            "{text}"
        );
        assert_eq!(rec.shutdowns.load(Ordering::SeqCst), 1);
        assert_eq!(
            task_ended.load(Ordering::SeqCst),
            1,
            "the failed handler's task was stopped"
        );
    }

    async fn handlers_are_found_by_type_and_require_names_the_missing_one() {
        let mut b = builder("");
        let rec = b.handler(Recorder::default()).unwrap();
        let host = b.start().await.unwrap();
        assert!(Arc::ptr_eq(&host.handler::<Recorder>().unwrap(), &rec));
        assert!(host.handler::<Second>().is_none());
        let err = host.require::<Second>().err().expect("missing").to_string();
        assert!(
            err.contains("support::Second") && err.contains("builder.handler(Second::new(..))"),
            "{err}"
        );
        host.shutdown().await;
    }

    async fn a_handler_disabled_in_config_is_not_started_nor_found() {
        let mut b = builder("[handlers.recorder]\nenabled = false");
        b.handler(Recorder::default()).unwrap();
        let host = b.start().await.unwrap();
        assert!(host.handler::<Recorder>().is_none());
        assert_eq!(host.stats().await["handlers"], json!({}));
        host.shutdown().await;
    }

    async fn every_handler_sees_a_disconnect_in_registration_order() {
        let (b, log, _, _) = recorder_then_second(false);
        let server = TestServer::start(b).await;
        let client = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        client.emit_with_ack("a", json!({})).await;
        client.close().await;
        wait_until(|| log.lock().len() == 2).await;
        assert_eq!(*log.lock(), vec!["recorder", "second"]);
        server.stop().await;
    }

    async fn shutdown_cleans_up_connected_sockets_then_stops_tasks_and_handlers_in_reverse() {
        let (b, log, rec, task_ended) = recorder_then_second(false);
        let server = TestServer::start(b).await;
        let mut client = server.connect(dev_auth("u1", "U", &[])).await.unwrap();
        client.emit_with_ack("a", json!({})).await;
        server.stop().await;
        assert!(
            client.wait_disconnect(Duration::from_secs(5)).await,
            "client saw the disconnect"
        );
        assert_eq!(rec.disconnects.load(Ordering::SeqCst), 1);
        assert_eq!(task_ended.load(Ordering::SeqCst), 1);
        assert_eq!(
            *log.lock(),
            vec!["recorder", "second", "second:shutdown", "recorder:shutdown"]
        );
    }

}
