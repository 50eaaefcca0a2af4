//! [`MemoryViewerStore`]: presence in this process.
//!
//! One mutex guards the maps and three ordered indexes, so every trait method is atomic
//! and costs O(log n) plus the size of the one ticket it touches, never a scan of all
//! tickets: `activity` orders viewers by last activity (stale sweep), `deadlines` orders
//! typing statuses by deadline (expiry), `ranking` orders tickets by viewer count (stats).

mod state;

use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use plugboard::SocketId;

use crate::store::{StoreError, ViewRequest, ViewerStore};
use crate::{
    LeaveOutcome, Removal, StopOutcome, TicketStats, TypingOutcome, ViewOutcome, Viewer,
    ViewerSockets, ViewerStats,
};
use state::{Entry, Key, SocketEntry, State, list, viewer};

/// The in-process [`ViewerStore`].
#[derive(Default)]
pub struct MemoryViewerStore {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryViewerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryViewerStore")
    }
}

impl MemoryViewerStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ViewerStore for MemoryViewerStore {
    async fn view(&self, req: ViewRequest<'_>) -> Result<ViewOutcome, StoreError> {
        let mut st = self.state.lock();
        let ticket: Key = st.key(req.ticket).unwrap_or_else(|| Arc::from(req.ticket));
        let socket_added = st.viewing(req.ticket, req.socket).is_none();
        if socket_added {
            let views = st.sockets.get(&req.socket).map_or(0, |s| s.tickets.len());
            if views >= req.max_tickets_per_socket {
                return Err(StoreError::TooManyTickets {
                    limit: req.max_tickets_per_socket,
                });
            }
        }
        let agent: Key = match st.sockets.get(&req.socket) {
            Some(se) => se.agent.clone(),
            None => Arc::from(req.agent),
        };
        let t = st.tickets.entry(ticket.clone()).or_default();
        let before = t.viewers.len();
        let agent_joined = !t.viewers.contains_key(&agent);
        let e = t.viewers.entry(agent.clone()).or_insert_with(|| Entry {
            name: req.name.to_owned(),
            since: req.now,
            last_activity: req.now,
            typing_until: None,
            sockets: Vec::new(),
        });
        req.name.clone_into(&mut e.name);
        if socket_added {
            e.sockets.push(req.socket);
        }
        let after = t.viewers.len();
        if agent_joined {
            st.total_viewers += 1;
            st.activity.insert((req.now, ticket.clone(), agent.clone()));
            st.rank(&ticket, before, after);
        } else {
            st.touch(&ticket, &agent, req.now);
        }
        if socket_added {
            st.sockets
                .entry(req.socket)
                .or_insert_with(|| SocketEntry {
                    agent: agent.clone(),
                    tickets: Vec::new(),
                })
                .tickets
                .push(ticket.clone());
        }
        Ok(ViewOutcome {
            agent_joined,
            socket_added,
            viewers: list(st.tickets.get(&ticket)),
        })
    }

    async fn typing(
        &self,
        ticket: &str,
        socket: SocketId,
        now: u64,
        until: u64,
    ) -> Result<Option<TypingOutcome>, StoreError> {
        let mut st = self.state.lock();
        let Some((ticket, agent)) = st.viewing(ticket, socket) else {
            return Ok(None);
        };
        st.touch(&ticket, &agent, now);
        let started = st.set_typing(&ticket, &agent, Some(until));
        let Some(t) = st.tickets.get(&ticket) else {
            return Ok(None);
        };
        let Some(me) = t.viewers.get(&agent) else {
            return Ok(None);
        };
        let mut typers: Vec<ViewerSockets> = t
            .viewers
            .iter()
            .filter(|(_, e)| e.typing_until.is_some())
            .map(|(a, e)| ViewerSockets {
                viewer: viewer(a, e),
                sockets: e.sockets.clone(),
            })
            .collect();
        typers.sort_by(|a, b| a.viewer.agent_id.cmp(&b.viewer.agent_id));
        Ok(Some(TypingOutcome {
            started,
            viewer: viewer(&agent, me),
            viewers: list(Some(t)),
            typers,
        }))
    }

    async fn stop_typing(
        &self,
        ticket: &str,
        socket: SocketId,
        now: u64,
    ) -> Result<Option<StopOutcome>, StoreError> {
        let mut st = self.state.lock();
        let Some((ticket, agent)) = st.viewing(ticket, socket) else {
            return Ok(None);
        };
        st.touch(&ticket, &agent, now);
        Ok(st.stop(&ticket, &agent))
    }

    async fn expire_typing(
        &self,
        ticket: &str,
        agent: &str,
        now: u64,
    ) -> Result<Option<StopOutcome>, StoreError> {
        let mut st = self.state.lock();
        let Some(t) = st.tickets.get(ticket) else {
            return Ok(None);
        };
        let Some((agent, e)) = t.viewers.get_key_value(agent) else {
            return Ok(None);
        };
        if e.typing_until.is_none_or(|d| d > now) {
            return Ok(None);
        }
        let (agent, ticket) = (
            agent.clone(),
            st.key(ticket).unwrap_or_else(|| Arc::from(ticket)),
        );
        Ok(st.stop(&ticket, &agent))
    }

    async fn leave(
        &self,
        ticket: &str,
        socket: SocketId,
    ) -> Result<Option<LeaveOutcome>, StoreError> {
        let mut st = self.state.lock();
        let Some((ticket, agent)) = st.viewing(ticket, socket) else {
            return Ok(None);
        };
        let last = st
            .tickets
            .get(&ticket)
            .and_then(|t| t.viewers.get(&agent))
            .is_none_or(|e| e.sockets.len() <= 1);
        if last {
            let Some(removal) = st.removal(&ticket, &agent) else {
                return Ok(None);
            };
            return Ok(Some(LeaveOutcome {
                agent_left: true,
                viewer: removal.removed.viewer,
                viewers: removal.viewers,
            }));
        }
        st.unindex_socket(socket, &ticket);
        let Some(t) = st.tickets.get_mut(&ticket) else {
            return Ok(None);
        };
        let Some(e) = t.viewers.get_mut(&agent) else {
            return Ok(None);
        };
        e.sockets.retain(|s| *s != socket);
        let me = viewer(&agent, e);
        Ok(Some(LeaveOutcome {
            agent_left: false,
            viewer: me,
            viewers: list(Some(t)),
        }))
    }

    async fn tickets_of(&self, socket: SocketId) -> Result<Vec<String>, StoreError> {
        let st = self.state.lock();
        Ok(st
            .sockets
            .get(&socket)
            .map(|s| s.tickets.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default())
    }

    async fn remove_agent(&self, ticket: &str, agent: &str) -> Result<Option<Removal>, StoreError> {
        let mut st = self.state.lock();
        let Some(t) = st.tickets.get_key_value(ticket) else {
            return Ok(None);
        };
        let Some((agent, _)) = t.1.viewers.get_key_value(agent) else {
            return Ok(None);
        };
        let (ticket, agent) = (t.0.clone(), agent.clone());
        Ok(st.removal(&ticket, &agent))
    }

    async fn remove_if_stale(
        &self,
        ticket: &str,
        agent: &str,
        cutoff: u64,
    ) -> Result<Option<Removal>, StoreError> {
        let mut st = self.state.lock();
        let Some((ticket_key, t)) = st.tickets.get_key_value(ticket) else {
            return Ok(None);
        };
        let Some((agent, e)) = t.viewers.get_key_value(agent) else {
            return Ok(None);
        };
        if e.last_activity >= cutoff {
            return Ok(None);
        }
        let (ticket, agent) = (ticket_key.clone(), agent.clone());
        Ok(st.removal(&ticket, &agent))
    }

    async fn due_typing(
        &self,
        now: u64,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let st = self.state.lock();
        Ok(st
            .deadlines
            .iter()
            .take_while(|(d, _, _)| *d <= now)
            .take(limit)
            .map(|(_, t, a)| (t.to_string(), a.to_string()))
            .collect())
    }

    async fn stale(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, String)>, StoreError> {
        let st = self.state.lock();
        Ok(st
            .activity
            .iter()
            .take_while(|(at, _, _)| *at < cutoff)
            .take(limit)
            .map(|(_, t, a)| (t.to_string(), a.to_string()))
            .collect())
    }

    async fn viewers(&self, ticket: &str) -> Result<Vec<Viewer>, StoreError> {
        Ok(list(self.state.lock().tickets.get(ticket)))
    }

    async fn stats(&self, top: usize) -> Result<ViewerStats, StoreError> {
        let st = self.state.lock();
        let tickets = st
            .ranking
            .iter()
            .take(top)
            .map(|(_, id)| TicketStats {
                ticket_id: id.to_string(),
                viewer_count: st.tickets.get(id).map_or(0, |t| t.viewers.len()),
                typing_count: st.tickets.get(id).map_or(0, |t| t.typing),
            })
            .collect();
        Ok(ViewerStats {
            active_tickets: st.tickets.len(),
            total_viewers: st.total_viewers,
            typing_count: st.typing,
            tickets,
            tracked_sockets: st.sockets.len(),
        })
    }
}
