//! The embedding app serves its own routes and plugboard's, and its route reaches sockets
//! through the timeline handler's Rust API.

use plugboard::Config;
use plugboard_testkit::{Client, dev_auth};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http(addr: std::net::SocketAddr, req: String) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_apps_own_route_calls_the_timeline_api_and_reaches_followers() {
    let (host, router) = plugboard_example_embed_in_axum::app(Config::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let home = http(
        addr,
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(home.ends_with("my existing CRM"), "{home}");
    let stats = http(
        addr,
        format!("GET /stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(
        stats.contains("\"timeline\"") && stats.contains("\"health-ping\""),
        "{stats}"
    );

    let mut client = Client::connect(addr, dev_auth("u1", "U", &[]))
        .await
        .unwrap();
    let sub = client
        .emit_with_ack(
            "timeline:subscribe",
            json!({ "entityType": "client", "entityId": "42" }),
        )
        .await;
    assert_eq!(sub["ok"], true);
    let body = r#"{"text":"called back"}"#;
    let res = http(
        addr,
        format!(
            "POST /crm/client/42/notes HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(res.starts_with("HTTP/1.1 201"), "{res}");
    assert!(res.contains("\"delivered\":1"), "{res}");
    let got = client.recv("timeline:new_item").await;
    assert_eq!(
        (got["entityType"].as_str(), got["entityId"].as_str()),
        (Some("client"), Some("42"))
    );
    assert_eq!(got["item"]["text"], "called back");
    host.shutdown().await;
}
