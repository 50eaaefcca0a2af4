//! Keep-alive HTTP/1.1 client for the timeline publish API
//! (`POST /api/timeline/{entityType}/{entityId}`).

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::LoadError;

/// One keep-alive connection to the server's HTTP API.
#[derive(Debug)]
pub struct Publisher {
    sender: SendRequest<Full<Bytes>>,
    server: SocketAddr,
    bearer: String,
    timeout: Duration,
}

/// The server's answer to one publish.
#[derive(Debug, Clone)]
pub struct PublishReply {
    /// HTTP status.
    pub status: StatusCode,
    /// `delivered` from the JSON body, when present.
    pub delivered: Option<u64>,
}

impl Publisher {
    /// Opens a connection; every request carries `Authorization: Bearer <api_key>`.
    pub async fn connect(
        server: SocketAddr,
        api_key: &str,
        timeout: Duration,
    ) -> Result<Self, LoadError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(server))
            .await
            .map_err(|_| LoadError::Timeout("http connect"))??;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| LoadError::Http(e.to_string()))?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection.
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            server,
            bearer: format!("Bearer {api_key}"),
            timeout,
        })
    }

    /// POSTs a JSON body to `path` and reads the reply.
    pub async fn post(&mut self, path: &str, body: String) -> Result<PublishReply, LoadError> {
        let request = Request::post(path)
            .header("host", self.server.to_string())
            .header("authorization", &self.bearer)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| LoadError::Http(e.to_string()))?;
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|e| LoadError::Http(e.to_string()))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| LoadError::Http(e.to_string()))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| LoadError::Http(e.to_string()))?
                .to_bytes();
            let delivered = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| crate::packet::find_u64(text, "delivered"));
            Ok(PublishReply { status, delivered })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| LoadError::Timeout("http publish"))?
    }
}
