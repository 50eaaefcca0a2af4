//! A client that stops reading fills its socket's send buffer. With the slow-client
//! policy `disconnect` (the default) the socket is taken down and cleaned up at once; with
//! `drop` it stays and the refused messages are counted. The Engine.IO heartbeat is left at
//! its 25 s default, so it cannot be what closes the socket here.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use plugboard_testkit::TestServer;
use support::{Recorder, builder};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects a raw websocket client as `slow`, asks for a flood, and never reads again.
async fn flood_a_client_that_stops_reading(policy: &str) -> (TestServer, Arc<Recorder>, Ws) {
    let mut b = builder(&format!(
        "[engine]\nmax_buffer_size = 4\nslow_client = \"{policy}\""
    ));
    let rec = b.handler(Recorder::default()).unwrap();
    let server = TestServer::start(b).await;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = ws.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with('0'));
    ws.send(Message::text(r#"40{"userId":"slow","userName":"Slow"}"#))
        .await
        .unwrap();
    // An Engine.IO ping ("2") may come first; the CONNECT answer is the first "40".
    let connected = loop {
        let m = ws.next().await.unwrap().unwrap();
        if m.to_text().unwrap() != "2" {
            break m;
        }
    };
    assert!(
        connected.to_text().unwrap().starts_with("40"),
        "{connected:?}"
    );
    ws.send(Message::text(r#"42["flood",{}]"#)).await.unwrap();
    (server, rec, ws)
}

fn slow_client_count(server: &TestServer) -> u64 {
    server
        .host
        .metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix("plugboard_slow_client_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_and_cleaned_up() {
    let (server, rec, ws) = flood_a_client_that_stops_reading("disconnect").await;
    for _ in 0..100 {
        if rec.disconnects.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        rec.disconnects.load(Ordering::SeqCst),
        1,
        "disconnected and cleaned up"
    );
    assert!(
        server
            .host
            .sessions()
            .sockets_of("slow")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(slow_client_count(&server) >= 1);
    drop(ws);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_drop_policy_a_slow_client_stays_connected_and_loses_messages() {
    let (server, rec, ws) = flood_a_client_that_stops_reading("drop").await;
    for _ in 0..100 {
        if slow_client_count(&server) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        slow_client_count(&server) >= 1,
        "the refused message was counted"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rec.disconnects.load(Ordering::SeqCst), 0, "still connected");
    assert_eq!(
        server
            .host
            .sessions()
            .sockets_of("slow")
            .await
            .unwrap()
            .len(),
        1
    );
    drop(ws);
    server.stop().await;
}
