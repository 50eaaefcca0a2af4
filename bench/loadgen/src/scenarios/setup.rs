//! Opening many connections at once, and the identities they connect with.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::time::timeout;

use super::{Params, Target};
use crate::LoadError;
use crate::addrs::SourceAddrs;
use crate::conn::{self, SioConn};

/// Dev-mode auth for connection `i`: user `a<i>`, role `agent`.
pub fn agent_auth(i: usize) -> Value {
    json!({ "userId": format!("a{i}"), "userName": format!("Agent {i}"), "roles": ["agent"] })
}

/// Opens `n` connections (at most `p.connect_concurrency` handshakes in flight), in index
/// order, each authenticated with [`agent_auth`]. Fails on the first refused or timed-out
/// connection, or when the whole phase exceeds `p.connect_phase_timeout`.
pub async fn connect_all(target: &Target, n: usize, p: &Params) -> Result<Vec<SioConn>, LoadError> {
    let sources = Arc::new(SourceAddrs::new());
    let server = target.addr;
    let per_conn = p.connect_timeout;
    let opening = futures_util::stream::iter(0..n)
        .map(|i| {
            let sources = Arc::clone(&sources);
            async move { conn::connect(server, sources.next(), &agent_auth(i), per_conn).await }
        })
        .buffered(p.connect_concurrency)
        .collect::<Vec<_>>();
    let results = timeout(p.connect_phase_timeout, opening)
        .await
        .map_err(|_| LoadError::Timeout("opening all connections"))?;
    results.into_iter().collect()
}

/// Like [`connect_all`], but hands each connection to `on_conn` as soon as it is up (so
/// it can start answering Engine.IO pings while the rest are still connecting).
pub async fn connect_each(
    target: &Target,
    n: usize,
    p: &Params,
    mut on_conn: impl FnMut(usize, SioConn),
) -> Result<(), LoadError> {
    let sources = Arc::new(SourceAddrs::new());
    let server = target.addr;
    let per_conn = p.connect_timeout;
    let mut opening = futures_util::stream::iter(0..n)
        .map(|i| {
            let sources = Arc::clone(&sources);
            async move {
                (
                    i,
                    conn::connect(server, sources.next(), &agent_auth(i), per_conn).await,
                )
            }
        })
        .buffer_unordered(p.connect_concurrency);
    let deadline = tokio::time::Instant::now() + p.connect_phase_timeout;
    loop {
        match tokio::time::timeout_at(deadline, opening.next()).await {
            Ok(Some((i, Ok(conn)))) => on_conn(i, conn),
            Ok(Some((_, Err(e)))) => return Err(e),
            Ok(None) => return Ok(()),
            Err(_) => return Err(LoadError::Timeout("opening all connections")),
        }
    }
}
