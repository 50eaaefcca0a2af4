//! Reading the scripts' replies: viewer entries, index members, counts.

use plugboard::SocketId;
use serde::Deserialize;

use crate::store::StoreError;
use crate::{Viewer, ViewerSockets, ViewerStatus};

/// One viewer as stored in a ticket hash (field: the agent id).
#[derive(Debug, Deserialize)]
pub(super) struct Entry {
    /// Display name.
    n: String,
    /// Viewing since, ms.
    s: String,
    /// Typing deadline, ms; empty while viewing.
    #[serde(default)]
    u: String,
    /// Socket ids, oldest first, space separated.
    k: String,
}

impl Entry {
    pub(super) fn parse(raw: &str) -> Result<Self, StoreError> {
        serde_json::from_str(raw).map_err(|e| bad(format!("viewer entry {raw:?}: {e}")))
    }

    pub(super) fn typing(&self) -> bool {
        !self.u.is_empty()
    }

    pub(super) fn viewer(&self, agent: &str) -> Result<Viewer, StoreError> {
        Ok(Viewer {
            agent_id: agent.to_owned(),
            agent_name: self.n.clone(),
            status: if self.typing() {
                ViewerStatus::Typing
            } else {
                ViewerStatus::Viewing
            },
            since: number(&self.s)?,
        })
    }

    pub(super) fn sockets(&self) -> Vec<SocketId> {
        self.k
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    pub(super) fn with_sockets(&self, agent: &str) -> Result<ViewerSockets, StoreError> {
        Ok(ViewerSockets {
            viewer: self.viewer(agent)?,
            sockets: self.sockets(),
        })
    }
}

/// The viewers of a ticket from `agent, entry json` pairs.
pub(super) struct Ticket {
    entries: Vec<(String, Entry)>,
}

impl Ticket {
    pub(super) fn parse(pairs: &[String]) -> Result<Self, StoreError> {
        if !pairs.len().is_multiple_of(2) {
            return Err(bad("odd viewer list".into()));
        }
        let entries = pairs
            .chunks_exact(2)
            .map(|p| Ok((p[0].clone(), Entry::parse(&p[1])?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Self { entries })
    }

    /// Every viewer, oldest first (then by agent id).
    pub(super) fn viewers(&self) -> Result<Vec<Viewer>, StoreError> {
        let mut all = self
            .entries
            .iter()
            .map(|(a, e)| e.viewer(a))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| (a.since, &a.agent_id).cmp(&(b.since, &b.agent_id)));
        Ok(all)
    }

    /// The agent's viewer row.
    pub(super) fn viewer(&self, agent: &str) -> Result<Viewer, StoreError> {
        self.entries
            .iter()
            .find(|(a, _)| a == agent)
            .ok_or_else(|| bad(format!("agent {agent} missing from its ticket")))?
            .1
            .viewer(agent)
    }

    /// Every typing agent with its sockets, by agent id.
    pub(super) fn typers(&self) -> Result<Vec<ViewerSockets>, StoreError> {
        let mut typers = self
            .entries
            .iter()
            .filter(|(_, e)| e.typing())
            .map(|(a, e)| e.with_sockets(a))
            .collect::<Result<Vec<_>, _>>()?;
        typers.sort_by(|a, b| a.viewer.agent_id.cmp(&b.viewer.agent_id));
        Ok(typers)
    }
}

/// `(ticket, agent)` from an index member `<ticket byte length>:<ticket><agent>`.
pub(super) fn member(m: &str) -> Result<(String, String), StoreError> {
    let parsed = m.split_once(':').and_then(|(len, rest)| {
        let len: usize = len.parse().ok()?;
        let (ticket, agent) = (rest.get(..len)?, rest.get(len..)?);
        Some((ticket.to_owned(), agent.to_owned()))
    });
    parsed.ok_or_else(|| bad(format!("index member {m:?}")))
}

/// A decimal number written by the store.
pub(super) fn number(s: &str) -> Result<u64, StoreError> {
    s.parse().map_err(|_| bad(format!("number {s:?}")))
}

/// The flag strings `"1"` / `"0"`.
pub(super) fn flag(s: Option<&String>) -> Result<bool, StoreError> {
    match s.map(String::as_str) {
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        other => Err(bad(format!("flag {other:?}"))),
    }
}

pub(super) fn bad(what: String) -> StoreError {
    StoreError::Backend(format!("unexpected viewer store reply: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_members_split_at_the_ticket_length() {
        assert_eq!(member("3:T:1a:b").unwrap(), ("T:1".into(), "a:b".into()));
        assert_eq!(member("2:éx").unwrap(), ("é".into(), "x".into()));
        assert!(member("9:short").is_err());
        assert!(member("x:T").is_err());
    }

    #[test]
    fn entries_read_typing_and_sockets() {
        let sid = SocketId::new();
        let raw = format!(r#"{{"n":"Ann","s":"100","a":"120","u":"300","k":"{sid}"}}"#);
        let e = Entry::parse(&raw).unwrap();
        assert!(e.typing());
        assert_eq!(e.sockets(), vec![sid]);
        let v = e.viewer("a1").unwrap();
        assert_eq!((v.since, v.status), (100, ViewerStatus::Typing));
        assert!(Entry::parse("{}").is_err());
    }
}
