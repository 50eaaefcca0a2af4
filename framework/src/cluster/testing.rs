//! Test support for cluster behaviour. Not part of the stable API.

use redis::Script;

use super::{RedisSessionStore, RedisStore};
use crate::{Identity, SocketId, StoreError};

const REGISTER: &str = r#"
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
return 1
"#;

/// Writes into Redis what a node that crashed right now leaves behind: its registration
/// (last heartbeat: now) and `sockets` in its sessions index, written by the same script a
/// live node uses. The cluster's live nodes reap it once it has been silent for
/// `node_timeout_ms - 2 * heartbeat_ms`. Handler state of those sockets is the test's to
/// write, through the handler's own store.
pub async fn crashed_node(
    redis: &RedisStore,
    node: &str,
    sockets: &[(Identity, SocketId)],
) -> Result<(), StoreError> {
    let sessions = RedisSessionStore::new(redis.clone());
    for (identity, sid) in sockets {
        sessions.add_on(node, identity, *sid).await?;
    }
    redis
        .invoke::<i64>(Script::new(REGISTER).key(redis.key("nodes")).arg(node))
        .await
        .map(|_| ())
}
