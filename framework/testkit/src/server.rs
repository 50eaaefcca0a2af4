//! [`TestServer`]: a started host on `127.0.0.1:<free port>`.

use std::net::SocketAddr;

use plugboard::{Host, HostBuilder};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Client, ConnectError};

/// A host serving on a loopback port until [`TestServer::stop`].
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The running host (typed getters, stats).
    pub host: Host,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts the builder's handlers and serves them.
    pub async fn start(builder: HostBuilder) -> Self {
        let host = builder.start().await.expect("host starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = host.clone();
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.await;
            };
            serving.serve(listener, signal).await.expect("serve");
        });
        Self {
            addr,
            host,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Connects a client with the given handshake auth.
    pub async fn connect(&self, auth: Value) -> Result<Client, ConnectError> {
        Client::connect(self.addr, auth).await
    }

    /// GETs a path and returns the status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        crate::client::http_request(self.addr, "GET", path, None, &[]).await
    }

    /// Sends an HTTP request with a JSON body and returns the status and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        crate::client::http_request(self.addr, method, path, Some(&body.to_string()), headers).await
    }

    /// Runs the graceful shutdown and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
