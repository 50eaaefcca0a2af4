//! The maps and indexes behind [`MemoryViewerStore`](super::MemoryViewerStore), and the
//! helpers that keep them consistent.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use plugboard::SocketId;

use crate::{Removal, StopOutcome, Viewer, ViewerSockets, ViewerStatus};

pub(super) type Key = Arc<str>;

pub(super) struct Entry {
    pub(super) name: String,
    pub(super) since: u64,
    pub(super) last_activity: u64,
    pub(super) typing_until: Option<u64>,
    pub(super) sockets: Vec<SocketId>,
}

#[derive(Default)]
pub(super) struct Ticket {
    pub(super) viewers: HashMap<Key, Entry>,
    pub(super) typing: usize,
}

pub(super) struct SocketEntry {
    pub(super) agent: Key,
    pub(super) tickets: Vec<Key>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) tickets: HashMap<Key, Ticket>,
    pub(super) sockets: HashMap<SocketId, SocketEntry>,
    pub(super) activity: BTreeSet<(u64, Key, Key)>,
    pub(super) deadlines: BTreeSet<(u64, Key, Key)>,
    pub(super) ranking: BTreeSet<(Reverse<usize>, Key)>,
    pub(super) total_viewers: usize,
    pub(super) typing: usize,
}

pub(super) fn viewer(agent: &str, e: &Entry) -> Viewer {
    Viewer {
        agent_id: agent.to_owned(),
        agent_name: e.name.clone(),
        status: if e.typing_until.is_some() {
            ViewerStatus::Typing
        } else {
            ViewerStatus::Viewing
        },
        since: e.since,
    }
}

pub(super) fn list(t: Option<&Ticket>) -> Vec<Viewer> {
    let mut all: Vec<Viewer> = t
        .map(|t| t.viewers.iter().map(|(a, e)| viewer(a, e)).collect())
        .unwrap_or_default();
    all.sort_by(|a, b| (a.since, &a.agent_id).cmp(&(b.since, &b.agent_id)));
    all
}

impl State {
    pub(super) fn key(&self, ticket: &str) -> Option<Key> {
        self.tickets.get_key_value(ticket).map(|(k, _)| k.clone())
    }

    pub(super) fn rank(&mut self, ticket: &Key, before: usize, after: usize) {
        if before > 0 {
            self.ranking.remove(&(Reverse(before), ticket.clone()));
        }
        if after > 0 {
            self.ranking.insert((Reverse(after), ticket.clone()));
        }
    }

    pub(super) fn touch(&mut self, ticket: &Key, agent: &Key, now: u64) {
        let Some(e) = self
            .tickets
            .get_mut(ticket)
            .and_then(|t| t.viewers.get_mut(agent))
        else {
            return;
        };
        let before = std::mem::replace(&mut e.last_activity, now);
        self.activity
            .remove(&(before, ticket.clone(), agent.clone()));
        self.activity.insert((now, ticket.clone(), agent.clone()));
    }

    /// Sets or clears the typing deadline; returns whether the status changed.
    pub(super) fn set_typing(&mut self, ticket: &Key, agent: &Key, until: Option<u64>) -> bool {
        let Some(t) = self.tickets.get_mut(ticket) else {
            return false;
        };
        let Some(e) = t.viewers.get_mut(agent) else {
            return false;
        };
        let before = std::mem::replace(&mut e.typing_until, until);
        if let Some(d) = before {
            self.deadlines.remove(&(d, ticket.clone(), agent.clone()));
        }
        if let Some(d) = until {
            self.deadlines.insert((d, ticket.clone(), agent.clone()));
        }
        let changed = before.is_some() != until.is_some();
        if changed && until.is_some() {
            t.typing += 1;
            self.typing += 1;
        } else if changed {
            t.typing -= 1;
            self.typing -= 1;
        }
        changed
    }

    /// Removes a whole agent from a ticket, with every index; drops an empty ticket.
    pub(super) fn remove_entry(
        &mut self,
        ticket: &Key,
        agent: &Key,
    ) -> Option<(Viewer, Vec<SocketId>)> {
        self.set_typing(ticket, agent, None);
        let t = self.tickets.get_mut(ticket)?;
        let before = t.viewers.len();
        let e = t.viewers.remove(agent)?;
        let after = t.viewers.len();
        if after == 0 {
            self.tickets.remove(ticket);
        }
        self.rank(ticket, before, after);
        self.total_viewers -= 1;
        self.activity
            .remove(&(e.last_activity, ticket.clone(), agent.clone()));
        for s in &e.sockets {
            self.unindex_socket(*s, ticket);
        }
        Some((viewer(agent, &e), e.sockets))
    }

    pub(super) fn unindex_socket(&mut self, socket: SocketId, ticket: &Key) {
        if let Some(se) = self.sockets.get_mut(&socket) {
            se.tickets.retain(|t| t != ticket);
            if se.tickets.is_empty() {
                self.sockets.remove(&socket);
            }
        }
    }

    /// The agent of a socket that views `ticket`.
    pub(super) fn viewing(&self, ticket: &str, socket: SocketId) -> Option<(Key, Key)> {
        let se = self.sockets.get(&socket)?;
        let t = se.tickets.iter().find(|t| &***t == ticket)?;
        Some((t.clone(), se.agent.clone()))
    }

    pub(super) fn removal(&mut self, ticket: &Key, agent: &Key) -> Option<Removal> {
        let (viewer, sockets) = self.remove_entry(ticket, agent)?;
        Some(Removal {
            removed: ViewerSockets { viewer, sockets },
            viewers: list(self.tickets.get(ticket)),
        })
    }

    pub(super) fn stop(&mut self, ticket: &Key, agent: &Key) -> Option<StopOutcome> {
        let stopped = self.set_typing(ticket, agent, None);
        let t = self.tickets.get(ticket)?;
        Some(StopOutcome {
            stopped,
            viewer: viewer(agent, t.viewers.get(agent)?),
            viewers: list(Some(t)),
        })
    }
}
