//! Registration through inventory, seen from a crate that depends on the handler crate
//! (this test crate) and names it only with `use .. as _;`.

use plugboard::{Config, Plugboard};
use plugboard_example_custom_handler as _;
use plugboard_testkit::{TestServer, dev_auth};
use serde_json::{Value, json};

#[tokio::test]
async fn a_linked_handler_crate_registers_itself_and_shows_up_in_stats() {
    let mut builder = Plugboard::builder(Config::from_toml("").unwrap()).unwrap();
    assert!(builder.auto_handlers().unwrap() >= 1);
    let server = TestServer::start(builder).await;
    let (status, body) = server.get("/stats").await;
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["handlers"]["room-chat"], json!({ "messages": 0 }));
    server.stop().await;
}

#[tokio::test]
async fn messages_reach_the_room_and_the_host_api_can_announce() {
    let mut builder = Plugboard::builder(Config::from_toml("").unwrap()).unwrap();
    builder.auto_handlers().unwrap();
    let server = TestServer::start(builder).await;
    let ann = server.connect(dev_auth("a", "Ann", &[])).await.unwrap();
    let mut bob = server.connect(dev_auth("b", "Bob", &[])).await.unwrap();
    assert_eq!(
        ann.emit_with_ack("chat:join", json!({ "room": "lobby" }))
            .await["ok"],
        true
    );
    assert_eq!(
        bob.emit_with_ack("chat:join", json!({ "room": "lobby" }))
            .await["ok"],
        true
    );
    ann.emit_with_ack("chat:message", json!({ "room": "lobby", "text": "hi" }))
        .await;
    assert_eq!(
        bob.recv("chat:message").await,
        json!({ "room": "lobby", "from": "Ann", "text": "hi" })
    );
    let chat = server
        .host
        .require::<plugboard_example_custom_handler::RoomChat>()
        .unwrap();
    chat.announce("lobby", "maintenance at 5").await.unwrap();
    assert_eq!(bob.recv("chat:message").await["from"], "host");
    server.stop().await;
}
