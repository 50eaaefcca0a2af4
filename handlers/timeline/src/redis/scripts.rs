//! The Lua scripts of [`RedisTimelineStore`](super::RedisTimelineStore): each check-and-set
//! is one script, so it is atomic in Redis whichever node runs it.
//!
//! Common arguments: `KEYS[1]` the entities ranking (`tl:entities`, member = entity code,
//! score = minus its subscriber count), `KEYS[2]` the sockets index (`tl:sockets`, member
//! = socket id, score = sweep deadline in Redis ms), `KEYS[3]` the socket's set of
//! followed entity codes (`tl:sock:<sid>`). Keys built inside a script use the cluster
//! prefix passed as an argument (one hash slot thanks to the `{cluster}` braces).

use plugboard::redis::Script;

/// Helpers prepended to every script: Redis time in ms, and dropping one socket.
const COMMON: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function count_of(ranking, code)
  local s = redis.call('ZSCORE', ranking, code)
  if s then return -tonumber(s) end
  return 0
end
-- One subscriber fewer for `code`; an entity left without any leaves the ranking.
local function decrement(ranking, code)
  local n = -tonumber(redis.call('ZINCRBY', ranking, 1, code))
  if n <= 0 then
    redis.call('ZREM', ranking, code)
    return 0
  end
  return n
end
-- Removes every subscription of a socket; returns the codes it followed.
local function drop(ranking, sockets, sock_key, sid)
  local followed = redis.call('SMEMBERS', sock_key)
  for _, code in ipairs(followed) do decrement(ranking, code) end
  redis.call('DEL', sock_key)
  redis.call('ZREM', sockets, sid)
  return followed
end
"#;

/// KEYS: ranking, sockets, sock. ARGV: code, sid, limit (0: none), ttl ms.
/// Returns `{0, count}` added, `{1, count}` already subscribed, `{2, limit}` refused.
const SUBSCRIBE: &str = r#"
local code, sid, limit, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('SISMEMBER', KEYS[3], code) == 1 then
  return { 1, count_of(KEYS[1], code) }
end
if limit > 0 and redis.call('SCARD', KEYS[3]) >= limit then
  return { 2, limit }
end
redis.call('SADD', KEYS[3], code)
redis.call('PEXPIRE', KEYS[3], ttl * 2)
redis.call('ZADD', KEYS[2], now_ms() + ttl, sid)
return { 0, -tonumber(redis.call('ZINCRBY', KEYS[1], -1, code)) }
"#;

/// KEYS: ranking, sockets, sock. ARGV: code, sid. Returns the subscribers left.
const UNSUBSCRIBE: &str = r#"
local code, sid = ARGV[1], ARGV[2]
if redis.call('SREM', KEYS[3], code) == 0 then
  return count_of(KEYS[1], code)
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('ZREM', KEYS[2], sid)
end
return decrement(KEYS[1], code)
"#;

/// KEYS: ranking, sockets, sock. ARGV: sid. Returns the codes the socket followed.
const DROP: &str = r#"
return drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
"#;

/// KEYS: sockets. ARGV: prefix, ttl ms, sid... Pushes back the deadline and the TTL of
/// sockets that still follow something (never recreates a dropped one). Returns how
/// many it refreshed.
const REFRESH: &str = r#"
local prefix, ttl = ARGV[1], tonumber(ARGV[2])
local deadline = now_ms() + ttl
local n = 0
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], deadline, ARGV[i])
    redis.call('PEXPIRE', prefix .. 'tl:sock:' .. ARGV[i], ttl * 2)
    n = n + 1
  end
end
return n
"#;

/// KEYS: ranking, sockets. ARGV: prefix, batch. Drops up to `batch` sockets whose deadline
/// passed (no node refreshed or cleaned them up); returns how many.
const SWEEP: &str = r#"
local prefix, batch = ARGV[1], tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, batch)
for _, sid in ipairs(due) do
  drop(KEYS[1], KEYS[2], prefix .. 'tl:sock:' .. sid, sid)
end
return #due
"#;

/// The loaded scripts (hashed once; Redis loads them on first use and after a restart).
pub(super) struct Scripts {
    pub(super) subscribe: Script,
    pub(super) unsubscribe: Script,
    pub(super) drop: Script,
    pub(super) refresh: Script,
    pub(super) sweep: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let script = |body: &str| Script::new(&format!("{COMMON}{body}"));
        Self {
            subscribe: script(SUBSCRIBE),
            unsubscribe: script(UNSUBSCRIBE),
            drop: script(DROP),
            refresh: script(REFRESH),
            sweep: script(SWEEP),
        }
    }
}
