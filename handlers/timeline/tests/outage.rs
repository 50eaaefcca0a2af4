//! A Redis outage: while the cluster's Redis is unreachable, subscribing, unsubscribing,
//! counting and publishing answer `unavailable` and change nothing; once it is back, the
//! node serves again and the disconnect cleanup missed meanwhile is run. Uses a
//! `redis-server` of its own (append-only file, so a restart keeps the data); skipped when
//! none is installed, except under `CI=true`.

mod support;

use plugboard::{Config, Plugboard};
use plugboard_testkit::{RedisServer, TestServer};
use plugboard_timeline::{StoreError, Timeline, TimelineError};
use serde_json::{Value, json};
use support::*;

/// A `redis-server` of the test's own (append-only file); `None` (skip) when it cannot be
/// started, except under `CI=true`.
fn own_redis() -> Option<RedisServer> {
    let server = RedisServer::start(true);
    if server.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and redis-server cannot be started"
        );
        eprintln!("redis-server cannot be started: outage test skipped");
    }
    server
}

async fn node(redis: &RedisServer) -> (TestServer, std::sync::Arc<Timeline>) {
    let toml = format!(
        "store = \"redis\"\nredis_url = \"{}\"\n[http]\napi_key = \"s3cret\"\n\
         [cluster]\nname = \"outage\"\nheartbeat_ms = 100\nnode_timeout_ms = 1000\nredis_timeout_ms = 300",
        redis.url()
    );
    let mut b = Plugboard::builder(Config::from_toml(&toml).unwrap()).unwrap();
    b.handler(Timeline::new()).unwrap();
    let server = TestServer::start(b).await;
    let timeline = server.host.handler::<Timeline>().unwrap();
    (server, timeline)
}

fn code(ack: &Value) -> &str {
    ack["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_subscriptions_answer_unavailable_and_nothing_changes() {
    let Some(mut redis) = own_redis() else {
        return;
    };
    let (server, timeline) = node(&redis).await;
    let mut ann = client(&server, "ann").await;
    let mut bob = client(&server, "bob").await;
    let cat = client(&server, "cat").await;
    subscribe(&ann, "client", "c1").await;
    assert_eq!(subscribe(&cat, "client", "c1").await["subscribers"], 2);

    redis.kill();
    let ack = subscribe(&bob, "client", "c1").await;
    assert_eq!(
        (ack["ok"].clone(), code(&ack)),
        (json!(false), "unavailable"),
        "{ack}"
    );
    let ack = unsubscribe(&ann, "client", "c1").await;
    assert_eq!(code(&ack), "unavailable", "{ack}");
    // Bob joined nothing, Ann left nothing.
    assert_eq!(server.host.io().local_room_len("timeline:client:c1"), 2);
    assert!(matches!(
        timeline.request_refresh("client", "c1").await,
        Err(TimelineError::Store(StoreError::Unavailable(_)))
    ));
    let (status, body) = server
        .request(
            "POST",
            "/api/timeline/client/c1",
            &json!({ "type": "refresh" }),
            &[("authorization", "Bearer s3cret")],
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(http_stats(&server).await["error"].is_string());
    // Cat leaves during the outage: its cleanup cannot run now.
    cat.close().await;

    redis.restart();
    until("the node serves again and cat's cleanup ran", async || {
        timeline.subscriber_count("client", "c1").await.ok() == Some(1)
    })
    .await;
    let s = stats(&timeline).await;
    assert_eq!((s.total_sockets, s.total_entities), (1, 1));
    assert_eq!(timeline.request_refresh("client", "c1").await.unwrap(), 1);
    ann.recv("timeline:refresh").await;
    assert!(timeline_events(&mut bob).await.is_empty());
    assert_eq!(subscribe(&bob, "client", "c1").await["subscribers"], 2);
    server.stop().await;
}
