//! Run with `cargo run -p plugboard-example-embed-in-axum`, then
//! `curl -XPOST localhost:3001/announcements -H 'content-type: application/json' -d '{"room":"lobby","text":"hi"}'`.

use plugboard::{Config, shutdown_signal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let signal = shutdown_signal();
    let (host, router) = plugboard_example_embed_in_axum::app(Config::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    // The app serves its merged router itself; plugboard only needs its shutdown sequence.
    axum::serve(listener, router)
        .with_graceful_shutdown({
            let host = host.clone();
            async move {
                signal.await;
                host.close_sockets().await;
            }
        })
        .await?;
    host.shutdown().await;
    Ok(())
}
