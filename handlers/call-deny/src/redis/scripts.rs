//! The Lua scripts of [`RedisCallStore`](super::RedisCallStore). Each runs atomically in
//! Redis; keys are built inside from the cluster prefix (ARGV[1]), see the key layout in
//! the module above. Calls are never decided here: [`decide`](crate::decide) runs in Rust
//! and [`COMMIT`] writes its result only if the record's revision is still the one read.

/// ARGV: prefix, call id or '', request id or ''. Resolves the reference (both ids given:
/// they must name the same call) and returns `{ id, rev, call json, deadline or '' }`, or
/// nil.
pub(super) const READ: &str = r#"
local p, id, req = ARGV[1], ARGV[2], ARGV[3]
if req ~= '' then
  local found = redis.call('GET', p .. 'cd:req:' .. req)
  if not found or (id ~= '' and found ~= id) then return false end
  id = found
end
local v = redis.call('HMGET', p .. 'cd:call:' .. id, 'rev', 'call', 'dl')
if not v[1] or not v[2] then return false end
return { id, v[1], v[2], v[3] or '' }
"#;

/// ARGV: prefix, call id, request id, caller, pair field, created at, ring deadline, call
/// json. Creates the ringing call unless the request id is known (`{ 'request', json }`)
/// or the pair has an open call (`{ 'pair', json }`); else `{ 'created', json }`.
pub(super) const CREATE: &str = r#"
local p, id, req, caller, pair = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local rk = p .. 'cd:req:' .. req
local known = redis.call('GET', rk)
if known then
  local c = redis.call('HGET', p .. 'cd:call:' .. known, 'call')
  if c then return { 'request', c } end
  redis.call('DEL', rk)
end
local pk = p .. 'cd:pairs'
local open = redis.call('HGET', pk, pair)
if open then
  local c = redis.call('HGET', p .. 'cd:call:' .. open, 'call')
  if c then return { 'pair', c } end
  redis.call('HDEL', pk, pair)
end
redis.call('HSET', p .. 'cd:call:' .. id, 'rev', 1, 'call', ARGV[8], 'dl', ARGV[7])
redis.call('SET', rk, id)
redis.call('HSET', pk, pair, id)
redis.call('SADD', p .. 'cd:open:' .. caller, id)
redis.call('SADD', p .. 'cd:users', caller)
redis.call('ZADD', p .. 'cd:status:ringing', ARGV[6], id)
redis.call('ZADD', p .. 'cd:deadlines', ARGV[7], id)
return { 'created', ARGV[8] }
"#;

/// ARGV: prefix, call id, expected rev, new call json, old status, new status, created at,
/// new deadline or '', pair field, caller, agent or '', updated at, finished ttl ms,
/// request id. Writes the record and every index if the revision is unchanged (returns
/// 1), else nothing (returns 0).
pub(super) const COMMIT: &str = r#"
local p, id = ARGV[1], ARGV[2]
local key = p .. 'cd:call:' .. id
if redis.call('HGET', key, 'rev') ~= ARGV[3] then return 0 end
local old, new, agent = ARGV[5], ARGV[6], ARGV[11]
redis.call('HINCRBY', key, 'rev', 1)
redis.call('HSET', key, 'call', ARGV[4])
redis.call('ZREM', p .. 'cd:deadlines', id)
if ARGV[8] ~= '' then
  redis.call('HSET', key, 'dl', ARGV[8])
  redis.call('ZADD', p .. 'cd:deadlines', ARGV[8], id)
else
  redis.call('HDEL', key, 'dl')
end
if old ~= new then
  redis.call('ZREM', p .. 'cd:status:' .. old, id)
  redis.call('ZADD', p .. 'cd:status:' .. new, ARGV[7], id)
end
local function close(user)
  local k = p .. 'cd:open:' .. user
  redis.call('SREM', k, id)
  if redis.call('SCARD', k) == 0 then redis.call('SREM', p .. 'cd:users', user) end
end
if new == 'ringing' or new == 'accepted' then
  if agent ~= '' then
    redis.call('SADD', p .. 'cd:open:' .. agent, id)
    redis.call('SADD', p .. 'cd:users', agent)
  end
else
  close(ARGV[10])
  if agent ~= '' then close(agent) end
  if redis.call('HGET', p .. 'cd:pairs', ARGV[9]) == id then
    redis.call('HDEL', p .. 'cd:pairs', ARGV[9])
  end
  redis.call('ZADD', p .. 'cd:finished', ARGV[12], id)
  redis.call('PEXPIRE', key, ARGV[13])
  local rk = p .. 'cd:req:' .. ARGV[14]
  if redis.call('GET', rk) == id then redis.call('PEXPIRE', rk, ARGV[13]) end
end
return 1
"#;

/// ARGV: prefix, call id. Drops a deadline whose record is gone (expired by its TTL).
pub(super) const DROP_DANGLING: &str = r#"
if redis.call('EXISTS', ARGV[1] .. 'cd:call:' .. ARGV[2]) == 0 then
  return redis.call('ZREM', ARGV[1] .. 'cd:deadlines', ARGV[2])
end
return 0
"#;

/// ARGV: prefix, before ms (exclusive), limit. Forgets finished calls and their indexes;
/// a record already gone by its TTL leaves only index entries, removed too.
pub(super) const PURGE: &str = r#"
local p = ARGV[1]
local fk = p .. 'cd:finished'
local ids = redis.call('ZRANGEBYSCORE', fk, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local key = p .. 'cd:call:' .. id
  local c = redis.call('HGET', key, 'call')
  if c then
    local call = cjson.decode(c)
    local rk = p .. 'cd:req:' .. call.requestId
    if redis.call('GET', rk) == id then redis.call('DEL', rk) end
    redis.call('ZREM', p .. 'cd:status:' .. call.status, id)
    redis.call('DEL', key)
  else
    for _, s in ipairs({ 'denied', 'ended', 'missed', 'cancelled' }) do
      redis.call('ZREM', p .. 'cd:status:' .. s, id)
    end
  end
  redis.call('ZREM', fk, id)
end
return #ids
"#;

/// ARGV: prefix, status, limit. The records of the oldest calls in a status, one snapshot.
pub(super) const LIST: &str = r#"
local p = ARGV[1]
local out = {}
local ids = redis.call('ZRANGE', p .. 'cd:status:' .. ARGV[2], 0, tonumber(ARGV[3]) - 1)
for _, id in ipairs(ids) do
  local c = redis.call('HGET', p .. 'cd:call:' .. id, 'call')
  if c then table.insert(out, c) end
end
return out
"#;

/// ARGV: prefix, user. The records of the user's open calls, one snapshot.
pub(super) const OPEN_OF: &str = r#"
local p = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'cd:open:' .. ARGV[2])) do
  local c = redis.call('HGET', p .. 'cd:call:' .. id, 'call')
  if c then table.insert(out, c) end
end
return out
"#;

/// ARGV: prefix, now ms, token (now + lease), limit. Claims due departures: each is due
/// again at the token. Returns the users.
pub(super) const CLAIM_DEPARTURES: &str = r#"
local k = ARGV[1] .. 'cd:departures'
local users = redis.call('ZRANGEBYSCORE', k, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
for _, u in ipairs(users) do redis.call('ZADD', k, ARGV[3], u) end
return users
"#;

/// ARGV: prefix, user, token. Forgets the departure if it still holds the claim's token.
pub(super) const SETTLE_DEPARTURE: &str = r#"
local k = ARGV[1] .. 'cd:departures'
local s = redis.call('ZSCORE', k, ARGV[2])
if s and tonumber(s) == tonumber(ARGV[3]) then return redis.call('ZREM', k, ARGV[2]) end
return 0
"#;
