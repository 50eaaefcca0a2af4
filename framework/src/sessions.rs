//! The sessions index: which sockets each user holds (several tabs, or one with `kick_old`).

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;

use crate::{Identity, SocketId, StoreError};

/// Storage of the user -> sockets index: [`MemorySessionStore`] on one node,
/// [`RedisSessionStore`](crate::RedisSessionStore) across a cluster.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Adds a socket of `identity`; returns the user's other sockets, oldest first.
    async fn add(&self, identity: &Identity, socket: SocketId)
    -> Result<Vec<SocketId>, StoreError>;
    /// Removes a socket; returns how many sockets the user still has.
    async fn remove(&self, user: &str, socket: SocketId) -> Result<usize, StoreError>;
    /// The user's sockets, oldest first.
    async fn sockets(&self, user: &str) -> Result<Vec<SocketId>, StoreError>;
    /// How many users have at least one socket.
    async fn users(&self) -> Result<usize, StoreError>;
}

/// The in-process session index.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    by_user: DashMap<String, Vec<SocketId>>,
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn add(
        &self,
        identity: &Identity,
        socket: SocketId,
    ) -> Result<Vec<SocketId>, StoreError> {
        let mut entry = self.by_user.entry(identity.user_id.clone()).or_default();
        let others: Vec<SocketId> = entry.iter().copied().filter(|s| *s != socket).collect();
        if !entry.contains(&socket) {
            entry.push(socket);
        }
        Ok(others)
    }

    async fn remove(&self, user: &str, socket: SocketId) -> Result<usize, StoreError> {
        let left = match self.by_user.get_mut(user) {
            Some(mut sockets) => {
                sockets.retain(|s| *s != socket);
                sockets.len()
            }
            None => return Ok(0),
        };
        if left == 0 {
            self.by_user.remove_if(user, |_, v| v.is_empty());
        }
        Ok(left)
    }

    async fn sockets(&self, user: &str) -> Result<Vec<SocketId>, StoreError> {
        Ok(self
            .by_user
            .get(user)
            .map(|s| s.clone())
            .unwrap_or_default())
    }

    async fn users(&self) -> Result<usize, StoreError> {
        Ok(self.by_user.len())
    }
}

/// A handle to the sessions index, for handlers that must know whether a user is still
/// connected (e.g. "the last socket of a party went away"). On a cluster it answers for
/// every node; while Redis is unreachable it answers [`StoreError::Unavailable`], and a
/// handler should then leave state as it is rather than assume the user left.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

impl Sessions {
    pub(crate) fn new(store: Arc<dyn SessionStore>) -> Self {
        Self { store }
    }

    /// The sockets a user holds now (on any node), oldest first.
    pub async fn sockets_of(&self, user: &str) -> Result<Vec<SocketId>, StoreError> {
        self.store.sockets(user).await
    }

    /// True while the user holds at least one socket (on any node).
    pub async fn is_connected(&self, user: &str) -> Result<bool, StoreError> {
        Ok(!self.store.sockets(user).await?.is_empty())
    }

    /// How many users are connected.
    pub async fn users(&self) -> Result<usize, StoreError> {
        self.store.users().await
    }

    pub(crate) async fn add(
        &self,
        identity: &Identity,
        socket: SocketId,
    ) -> Result<Vec<SocketId>, StoreError> {
        self.store.add(identity, socket).await
    }

    pub(crate) async fn remove(&self, user: &str, socket: SocketId) -> Result<usize, StoreError> {
        self.store.remove(user, socket).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Identity {
        Identity {
            user_id: id.into(),
            name: id.into(),
            roles: vec![],
        }
    }

    #[tokio::test]
    async fn last_socket_leaving_removes_the_user() {
        let s = MemorySessionStore::default();
        let (a, b) = (SocketId::new(), SocketId::new());
        assert!(s.add(&user("u"), a).await.unwrap().is_empty());
        assert_eq!(s.add(&user("u"), b).await.unwrap(), vec![a]);
        assert_eq!(s.remove("u", a).await.unwrap(), 1);
        assert_eq!(s.sockets("u").await.unwrap(), vec![b]);
        assert_eq!(s.remove("u", b).await.unwrap(), 0);
        assert_eq!(s.users().await.unwrap(), 0);
    }
}
