//! [`RedisSessionStore`]: the user -> sockets index shared by every node.
//!
//! Each node keeps its own sockets in one hash, `node:<id>:sessions` (user -> the
//! identity and the node's sockets of that user). The hash is the node's presence: the
//! heartbeat refreshes its TTL, and when the node dies another node reads it to clean up
//! after every socket it held. A lookup of a user reads that user's field on every
//! registered node in one script, so the index answers for the whole cluster.

use async_trait::async_trait;
use redis::Script;

use super::RedisStore;
use crate::{Identity, SessionStore, SocketId, StoreError};

/// Lua helpers shared by the scripts: the sessions hash of a node, and the fields of a
/// user on every registered node (ours too, even before our first heartbeat).
const COMMON: &str = r#"
local prefix = ARGV[1]
local function hkey(node) return prefix .. 'node:' .. node .. ':sessions' end
local function each_node(own, f)
  local seen = false
  for _, n in ipairs(redis.call('ZRANGE', prefix .. 'nodes', 0, -1)) do
    if n == own then seen = true end
    f(hkey(n))
  end
  if not seen then f(hkey(own)) end
end
"#;

/// ARGV: prefix, own node, user, identity json, socket, now ms. Returns the user's other
/// sockets as `sid|since` before the add.
const ADD: &str = r#"
local own, user, ident, sid, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local others = {}
each_node(own, function(h)
  local v = redis.call('HGET', h, user)
  if v then
    for _, s in ipairs(cjson.decode(v).s) do
      if s[1] ~= sid then table.insert(others, s[1] .. '|' .. s[2]) end
    end
  end
end)
local v = redis.call('HGET', hkey(own), user)
local e = v and cjson.decode(v) or { s = {} }
e.i = ident
local present = false
for _, s in ipairs(e.s) do if s[1] == sid then present = true end end
if not present then table.insert(e.s, { sid, now }) end
redis.call('HSET', hkey(own), user, cjson.encode(e))
return others
"#;

/// ARGV: prefix, own node, user, socket. Removes the socket from whichever node holds it;
/// returns how many sockets the user still has in the cluster.
const REMOVE: &str = r#"
local own, user, sid = ARGV[2], ARGV[3], ARGV[4]
local left = 0
each_node(own, function(h)
  local v = redis.call('HGET', h, user)
  if not v then return end
  local e = cjson.decode(v)
  local keep = {}
  for _, s in ipairs(e.s) do if s[1] ~= sid then table.insert(keep, s) end end
  if #keep == 0 then
    redis.call('HDEL', h, user)
  else
    if #keep ~= #e.s then
      e.s = keep
      redis.call('HSET', h, user, cjson.encode(e))
    end
    left = left + #keep
  end
end)
return left
"#;

/// ARGV: prefix, own node, user. The user's sockets as `sid|since`.
const SOCKETS: &str = r#"
local own, user = ARGV[2], ARGV[3]
local out = {}
each_node(own, function(h)
  local v = redis.call('HGET', h, user)
  if v then
    for _, s in ipairs(cjson.decode(v).s) do table.insert(out, s[1] .. '|' .. s[2]) end
  end
end)
return out
"#;

/// ARGV: prefix, own node. How many distinct users hold a socket.
const USERS: &str = r#"
local seen, n = {}, 0
each_node(ARGV[2], function(h)
  for _, u in ipairs(redis.call('HKEYS', h)) do
    if not seen[u] then seen[u] = true; n = n + 1 end
  end
end)
return n
"#;

/// The sessions index on Redis.
#[derive(Debug, Clone)]
pub struct RedisSessionStore {
    redis: RedisStore,
    add: std::sync::Arc<Script>,
    remove: std::sync::Arc<Script>,
    sockets: std::sync::Arc<Script>,
    users: std::sync::Arc<Script>,
}

fn script(body: &str) -> std::sync::Arc<Script> {
    std::sync::Arc::new(Script::new(&format!("{COMMON}\n{body}")))
}

/// Parses `sid|since` entries, oldest first.
fn parse(entries: Vec<String>) -> Vec<SocketId> {
    let mut all: Vec<(u64, SocketId)> = entries
        .iter()
        .filter_map(|e| {
            let (sid, since) = e.split_once('|')?;
            Some((since.parse().unwrap_or(0), sid.parse().ok()?))
        })
        .collect();
    all.sort();
    all.into_iter().map(|(_, s)| s).collect()
}

impl RedisSessionStore {
    /// The index of the cluster `redis` belongs to.
    pub fn new(redis: RedisStore) -> Self {
        Self {
            redis,
            add: script(ADD),
            remove: script(REMOVE),
            sockets: script(SOCKETS),
            users: script(USERS),
        }
    }

    /// Adds a socket of `identity` to the sessions hash of `node` (this node's, or, in
    /// tests, a node that is to look crashed).
    pub(crate) async fn add_on(
        &self,
        node: &str,
        identity: &Identity,
        socket: SocketId,
    ) -> Result<Vec<SocketId>, StoreError> {
        let ident = serde_json::to_string(identity)
            .map_err(|e| StoreError::Backend(format!("identity not serializable: {e}")))?;
        let now = crate::cluster::now_ms();
        let others: Vec<String> = self
            .redis
            .invoke(
                self.add
                    .arg(self.redis.prefix())
                    .arg(node)
                    .arg(&identity.user_id)
                    .arg(ident)
                    .arg(socket.to_string())
                    .arg(now),
            )
            .await?;
        Ok(parse(others))
    }

    /// The key of a node's sessions hash.
    pub(crate) fn node_hash(&self, node: &str) -> String {
        self.redis.key(&format!("node:{node}:sessions"))
    }

    /// Every socket a node holds, with its identity.
    pub(crate) async fn node_sockets(
        &self,
        node: &str,
    ) -> Result<Vec<(Identity, SocketId)>, StoreError> {
        let all: Vec<(String, String)> = self
            .redis
            .query(redis::cmd("HGETALL").arg(self.node_hash(node)))
            .await?;
        let mut out = Vec::new();
        for (user, entry) in all {
            let Ok(entry) = serde_json::from_str::<Entry>(&entry) else {
                tracing::warn!(node, user, "unreadable sessions entry skipped");
                continue;
            };
            let Ok(identity) = serde_json::from_str::<Identity>(&entry.i) else {
                tracing::warn!(node, user, "unreadable identity skipped");
                continue;
            };
            for (sid, _) in entry.s {
                if let Ok(sid) = sid.parse() {
                    out.push((identity.clone(), sid));
                }
            }
        }
        Ok(out)
    }
}

#[derive(serde::Deserialize)]
struct Entry {
    i: String,
    #[serde(default, deserialize_with = "lua_list")]
    s: Vec<(String, serde_json::Value)>,
}

/// cjson writes an empty Lua table as `{}`; read it as an empty list.
fn lua_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, serde_json::Value)>, D::Error> {
    use serde::Deserialize;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect()),
        _ => Ok(Vec::new()),
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn add(
        &self,
        identity: &Identity,
        socket: SocketId,
    ) -> Result<Vec<SocketId>, StoreError> {
        self.add_on(self.redis.node_id(), identity, socket).await
    }

    async fn remove(&self, user: &str, socket: SocketId) -> Result<usize, StoreError> {
        self.redis
            .invoke(
                self.remove
                    .arg(self.redis.prefix())
                    .arg(self.redis.node_id())
                    .arg(user)
                    .arg(socket.to_string()),
            )
            .await
    }

    async fn sockets(&self, user: &str) -> Result<Vec<SocketId>, StoreError> {
        let all: Vec<String> = self
            .redis
            .invoke(
                self.sockets
                    .arg(self.redis.prefix())
                    .arg(self.redis.node_id())
                    .arg(user),
            )
            .await?;
        Ok(parse(all))
    }

    async fn users(&self) -> Result<usize, StoreError> {
        self.redis
            .invoke(
                self.users
                    .arg(self.redis.prefix())
                    .arg(self.redis.node_id()),
            )
            .await
    }
}
