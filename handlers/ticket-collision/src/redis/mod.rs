//! [`RedisViewerStore`]: presence shared by every node of a cluster, in the cluster's Redis.
//!
//! Every [`ViewerStore`] method is one Lua script (`scripts.rs`), so each check-and-set
//! (is the socket viewing? is the typing deadline due? is the viewer still idle?) is one
//! atomic step in Redis, whichever node runs it.
//!
//! # Keys
//!
//! All under `plugboard:{<cluster>}:tc:` (written `tc:` below):
//!
//! | key | type | content |
//! |-----|------|---------|
//! | `tc:t:<ticket>` | hash | agent id -> `{"n": name, "s": since, "a": last activity, "u": typing deadline or "", "k": "sid1 sid2"}` |
//! | `tc:s:<socket>` | hash | `a` -> the socket's agent, `t:<ticket>` -> `1` per ticket it views |
//! | `tc:activity` | sorted set | `(ticket, agent)` by last activity (stale sweep) |
//! | `tc:typing` | sorted set | `(ticket, agent)` by typing deadline (expiry) |
//! | `tc:ranking` | sorted set | ticket by minus its viewer count (stats, most viewers first) |
//! | `tc:sockets` | sorted set | socket id by last activity (tracked sockets) |
//!
//! An index member `(ticket, agent)` is `<ticket byte length>:<ticket><agent>`. A ticket
//! or socket with no viewer left has no key; empty sorted sets vanish by themselves.
//!
//! # TTLs
//!
//! The stale sweep removes idle viewers, so keys normally go away by themselves. As a
//! backstop for a cluster that stops sweeping (every node gone), each activity (view,
//! typing, stop typing) sets the TTL of the ticket key, of the viewer's socket keys and
//! of the four indexes to the presence TTL
//! ([`presence_ttl`](crate::TicketCollisionConfig::presence_ttl): `2 * (stale_after_ms +
//! sweep_interval_ms + typing_timeout_ms)`, 70 min 20 s by default), longer than a live
//! cluster keeps any idle viewer. The indexes are refreshed by every activity, so they
//! outlive every key they point to; index entries whose key expired are dropped when the
//! sweep meets them (`stale`, `remove_if_stale`).

mod decode;
mod scripts;

use std::time::Duration;

use async_trait::async_trait;
use plugboard::redis::{Script, ScriptInvocation};
use plugboard::{RedisStore, SocketId};

use crate::store::{StoreError, ViewRequest, ViewerStore};
use crate::{
    LeaveOutcome, Removal, StopOutcome, TicketStats, TypingOutcome, ViewOutcome, Viewer,
    ViewerStats,
};
use decode::{Entry, Ticket, bad, flag, member, number};
use scripts::Scripts;

/// The [`ViewerStore`] on the cluster's Redis.
pub struct RedisViewerStore {
    redis: RedisStore,
    prefix: String,
    ttl_ms: u64,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisViewerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisViewerStore")
            .field("prefix", &self.prefix)
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl RedisViewerStore {
    /// A store on `redis` whose presence keys expire `presence_ttl` after the last
    /// activity on them (see the module docs; at least one second).
    pub fn new(redis: RedisStore, presence_ttl: Duration) -> Self {
        Self {
            prefix: redis.key("tc:"),
            redis,
            ttl_ms: (presence_ttl.as_millis() as u64).max(1000),
            scripts: Scripts::new(),
        }
    }

    /// The prefix of every key of this store (`plugboard:{<cluster>}:tc:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// An invocation of `script` with its first arguments, the prefix and the TTL.
    fn call<'a>(&self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut inv = script.arg(&self.prefix);
        inv.arg(self.ttl_ms);
        inv
    }

    async fn run(&self, inv: &ScriptInvocation<'_>) -> Result<Vec<String>, StoreError> {
        Ok(self.redis.invoke::<Vec<String>>(inv).await?)
    }

    /// The reply's first `head` strings, then the ticket's viewers; `None` on `{}`.
    async fn outcome(
        &self,
        head: usize,
        inv: &ScriptInvocation<'_>,
    ) -> Result<Option<(Vec<String>, Ticket)>, StoreError> {
        let mut out = self.run(inv).await?;
        if out.is_empty() {
            return Ok(None);
        }
        if out.len() < head {
            return Err(bad(format!("short reply {out:?}")));
        }
        let ticket = Ticket::parse(&out[head..])?;
        out.truncate(head);
        Ok(Some((out, ticket)))
    }

    async fn removal(&self, inv: &ScriptInvocation<'_>) -> Result<Option<Removal>, StoreError> {
        let Some((head, ticket)) = self.outcome(2, inv).await? else {
            return Ok(None);
        };
        Ok(Some(Removal {
            removed: Entry::parse(&head[1])?.with_sockets(&head[0])?,
            viewers: ticket.viewers()?,
        }))
    }

    async fn stop(&self, inv: &ScriptInvocation<'_>) -> Result<Option<StopOutcome>, StoreError> {
        let Some((head, ticket)) = self.outcome(2, inv).await? else {
            return Ok(None);
        };
        Ok(Some(StopOutcome {
            stopped: flag(head.first())?,
            viewer: ticket.viewer(&head[1])?,
            viewers: ticket.viewers()?,
        }))
    }

    async fn members(
        &self,
        inv: &ScriptInvocation<'_>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.run(inv).await?.iter().map(|m| member(m)).collect()
    }
}

#[async_trait]
impl ViewerStore for RedisViewerStore {
    async fn view(&self, req: ViewRequest<'_>) -> Result<ViewOutcome, StoreError> {
        let mut inv = self.call(&self.scripts.view);
        inv.arg(req.ticket)
            .arg(req.agent)
            .arg(req.name)
            .arg(req.socket.to_string())
            .arg(req.now)
            .arg(req.max_tickets_per_socket);
        let out = self.run(&inv).await?;
        match out.first().map(String::as_str) {
            Some("limit") => Err(StoreError::TooManyTickets {
                limit: req.max_tickets_per_socket,
            }),
            Some("ok") if out.len() >= 3 => Ok(ViewOutcome {
                agent_joined: flag(out.get(1))?,
                socket_added: flag(out.get(2))?,
                viewers: Ticket::parse(&out[3..])?.viewers()?,
            }),
            _ => Err(bad(format!("view reply {out:?}"))),
        }
    }

    async fn typing(
        &self,
        ticket: &str,
        socket: SocketId,
        now: u64,
        until: u64,
    ) -> Result<Option<TypingOutcome>, StoreError> {
        let mut inv = self.call(&self.scripts.typing);
        inv.arg(ticket).arg(socket.to_string()).arg(now).arg(until);
        let Some((head, t)) = self.outcome(2, &inv).await? else {
            return Ok(None);
        };
        Ok(Some(TypingOutcome {
            started: flag(head.first())?,
            viewer: t.viewer(&head[1])?,
            viewers: t.viewers()?,
            typers: t.typers()?,
        }))
    }

    async fn stop_typing(
        &self,
        ticket: &str,
        socket: SocketId,
        now: u64,
    ) -> Result<Option<StopOutcome>, StoreError> {
        let mut inv = self.call(&self.scripts.stop_typing);
        inv.arg(ticket).arg(socket.to_string()).arg(now);
        self.stop(&inv).await
    }

    async fn expire_typing(
        &self,
        ticket: &str,
        agent: &str,
        now: u64,
    ) -> Result<Option<StopOutcome>, StoreError> {
        let mut inv = self.call(&self.scripts.expire_typing);
        inv.arg(ticket).arg(agent).arg(now);
        self.stop(&inv).await
    }

    async fn leave(
        &self,
        ticket: &str,
        socket: SocketId,
    ) -> Result<Option<LeaveOutcome>, StoreError> {
        let mut inv = self.call(&self.scripts.leave);
        inv.arg(ticket).arg(socket.to_string());
        let Some((head, t)) = self.outcome(3, &inv).await? else {
            return Ok(None);
        };
        Ok(Some(LeaveOutcome {
            agent_left: flag(head.first())?,
            viewer: Entry::parse(&head[2])?.viewer(&head[1])?,
            viewers: t.viewers()?,
        }))
    }

    async fn tickets_of(&self, socket: SocketId) -> Result<Vec<String>, StoreError> {
        let mut inv = self.call(&self.scripts.tickets_of);
        inv.arg(socket.to_string());
        self.run(&inv).await
    }

    async fn remove_agent(&self, ticket: &str, agent: &str) -> Result<Option<Removal>, StoreError> {
        let mut inv = self.call(&self.scripts.remove_agent);
        inv.arg(ticket).arg(agent);
        self.removal(&inv).await
    }

    async fn remove_if_stale(
        &self,
        ticket: &str,
        agent: &str,
        cutoff: u64,
    ) -> Result<Option<Removal>, StoreError> {
        let mut inv = self.call(&self.scripts.remove_if_stale);
        inv.arg(ticket).arg(agent).arg(cutoff);
        self.removal(&inv).await
    }

    async fn due_typing(
        &self,
        now: u64,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut inv = self.call(&self.scripts.due_typing);
        inv.arg(now).arg(limit);
        self.members(&inv).await
    }

    async fn stale(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, String)>, StoreError> {
        let mut inv = self.call(&self.scripts.stale);
        inv.arg(cutoff).arg(limit);
        self.members(&inv).await
    }

    async fn viewers(&self, ticket: &str) -> Result<Vec<Viewer>, StoreError> {
        let mut inv = self.call(&self.scripts.viewers);
        inv.arg(ticket);
        Ticket::parse(&self.run(&inv).await?)?.viewers()
    }

    async fn stats(&self, top: usize) -> Result<ViewerStats, StoreError> {
        let mut inv = self.call(&self.scripts.stats);
        inv.arg(top);
        let out = self.run(&inv).await?;
        if out.len() < 4 || !(out.len() - 4).is_multiple_of(3) {
            return Err(bad(format!("stats reply {out:?}")));
        }
        let tickets = out[4..]
            .chunks_exact(3)
            .map(|t| {
                Ok(TicketStats {
                    ticket_id: t[0].clone(),
                    viewer_count: number(&t[1])? as usize,
                    typing_count: number(&t[2])? as usize,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(ViewerStats {
            active_tickets: number(&out[0])? as usize,
            total_viewers: number(&out[1])? as usize,
            typing_count: number(&out[2])? as usize,
            tickets,
            tracked_sockets: number(&out[3])? as usize,
        })
    }
}
