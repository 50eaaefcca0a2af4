//! The sessions index: which sockets each user holds (several tabs, or one with `kick_old`).

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;

use crate::SocketId;

/// Storage of the user -> sockets index. Memory now; the cluster backend adds Redis.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Adds a socket; returns the user's other sockets, oldest first.
    async fn add(&self, user: &str, socket: SocketId) -> Vec<SocketId>;
    /// Removes a socket; returns how many sockets the user still has.
    async fn remove(&self, user: &str, socket: SocketId) -> usize;
    /// The user's sockets, oldest first.
    async fn sockets(&self, user: &str) -> Vec<SocketId>;
    /// How many users have at least one socket.
    async fn users(&self) -> usize;
}

/// The in-process session index.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    by_user: DashMap<String, Vec<SocketId>>,
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn add(&self, user: &str, socket: SocketId) -> Vec<SocketId> {
        let mut entry = self.by_user.entry(user.to_owned()).or_default();
        let others = entry.clone();
        if !entry.contains(&socket) {
            entry.push(socket);
        }
        others
    }

    async fn remove(&self, user: &str, socket: SocketId) -> usize {
        let left = match self.by_user.get_mut(user) {
            Some(mut sockets) => {
                sockets.retain(|s| *s != socket);
                sockets.len()
            }
            None => return 0,
        };
        if left == 0 {
            self.by_user.remove_if(user, |_, v| v.is_empty());
        }
        left
    }

    async fn sockets(&self, user: &str) -> Vec<SocketId> {
        self.by_user
            .get(user)
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    async fn users(&self) -> usize {
        self.by_user.len()
    }
}

/// A handle to the sessions index, for handlers that must know whether a user is still
/// connected (e.g. "the last socket of a party went away").
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

    /// The sockets a user holds now, oldest first.
    pub async fn sockets_of(&self, user: &str) -> Vec<SocketId> {
        self.store.sockets(user).await
    }

    /// True while the user holds at least one socket.
    pub async fn is_connected(&self, user: &str) -> bool {
        !self.store.sockets(user).await.is_empty()
    }

    /// How many users are connected.
    pub async fn users(&self) -> usize {
        self.store.users().await
    }

    pub(crate) async fn add(&self, user: &str, socket: SocketId) -> Vec<SocketId> {
        self.store.add(user, socket).await
    }

    pub(crate) async fn remove(&self, user: &str, socket: SocketId) -> usize {
        self.store.remove(user, socket).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn last_socket_leaving_removes_the_user() {
        let s = MemorySessionStore::default();
        let (a, b) = (SocketId::new(), SocketId::new());
        assert!(s.add("u", a).await.is_empty());
        assert_eq!(s.add("u", b).await, vec![a]);
        assert_eq!(s.remove("u", a).await, 1);
        assert_eq!(s.sockets("u").await, vec![b]);
        assert_eq!(s.remove("u", b).await, 0);
        assert_eq!(s.users().await, 0);
    }
}
