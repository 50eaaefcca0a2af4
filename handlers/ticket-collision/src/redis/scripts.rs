//! The Lua scripts behind [`RedisViewerStore`](super::RedisViewerStore): one per store
//! method, each one atomic step in Redis. Every script starts with [`COMMON`]; its
//! ARGV[1] is the key prefix (`plugboard:{<cluster>}:tc:`) and ARGV[2] the presence TTL
//! in ms. Times and deadlines are stored as the decimal strings the caller gave, so no
//! number ever goes through Lua's 14-digit formatting. Replies are arrays of strings.

use plugboard::redis::Script;

/// Keys, the `(ticket, agent)` index member, and the helpers that keep the indexes in
/// step with the ticket hashes and socket hashes.
const COMMON: &str = r#"
local P, TTL = ARGV[1], ARGV[2]
local ACT, TYP, RANK, SOCKS = P .. 'activity', P .. 'typing', P .. 'ranking', P .. 'sockets'
local function tkey(t) return P .. 't:' .. t end
local function skey(s) return P .. 's:' .. s end
local function member(t, a) return #t .. ':' .. t .. a end
local function split(k)
  local out = {}
  for s in string.gmatch(k, '%S+') do out[#out + 1] = s end
  return out
end
local function entry(t, a)
  if not a then return nil end
  local raw = redis.call('HGET', tkey(t), a)
  if raw then return cjson.decode(raw) end
  return nil
end
-- The reply: `head` followed by agent, entry json pairs of every viewer of the ticket.
local function reply(head, t)
  local flat = redis.call('HGETALL', tkey(t))
  for i = 1, #flat do head[#head + 1] = flat[i] end
  return head
end
local function ticket_count(sk)
  return redis.call('HLEN', sk) - redis.call('HEXISTS', sk, 'a')
end
-- Takes a socket off a ticket; a socket left with no ticket leaves no key.
local function unindex(s, t)
  local sk = skey(s)
  redis.call('HDEL', sk, 't:' .. t)
  if ticket_count(sk) <= 0 then
    redis.call('DEL', sk)
    redis.call('ZREM', SOCKS, s)
  end
end
-- Removes a whole viewer with its index entries; an empty ticket leaves no key.
local function remove(t, a, e)
  local tk, m = tkey(t), member(t, a)
  redis.call('HDEL', tk, a)
  redis.call('ZREM', ACT, m)
  redis.call('ZREM', TYP, m)
  local n = redis.call('HLEN', tk)
  if n == 0 then redis.call('ZREM', RANK, t) else redis.call('ZADD', RANK, -n, t) end
  for _, s in ipairs(split(e.k)) do unindex(s, t) end
end
-- Activity: the ticket key, the viewer's socket keys and the indexes live TTL longer.
local function touch(t, a, e, now)
  redis.call('ZADD', ACT, now, member(t, a))
  redis.call('PEXPIRE', tkey(t), TTL)
  for _, s in ipairs(split(e.k)) do
    if redis.call('PEXPIRE', skey(s), TTL) == 1 then redis.call('ZADD', SOCKS, now, s) end
  end
  for _, k in ipairs({ ACT, TYP, RANK, SOCKS }) do redis.call('PEXPIRE', k, TTL) end
end
-- The agent of a socket that views the ticket, and its entry.
local function viewing(t, s)
  local sk = skey(s)
  if redis.call('HEXISTS', sk, 't:' .. t) == 0 then return nil, nil end
  local a = redis.call('HGET', sk, 'a')
  return a, entry(t, a)
end
"#;

/// ARGV: ticket, agent, name, socket, now, max tickets per socket.
/// `{'limit'}` | `{'ok', joined, added, viewers...}`.
const VIEW: &str = r#"
local t, agent, name, s, now, max = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local sk, tk = skey(s), tkey(t)
local was = redis.call('HEXISTS', sk, 't:' .. t) == 1
if not was and ticket_count(sk) >= max then return { 'limit' } end
agent = redis.call('HGET', sk, 'a') or agent
local raw = redis.call('HGET', tk, agent)
local e = raw and cjson.decode(raw) or { s = now, u = '', k = '' }
e.n, e.a = name, now
local listed = false
for _, x in ipairs(split(e.k)) do if x == s then listed = true end end
if not listed then e.k = (e.k == '' and s) or (e.k .. ' ' .. s) end
redis.call('HSET', tk, agent, cjson.encode(e))
if not raw then redis.call('ZADD', RANK, -redis.call('HLEN', tk), t) end
if not was then redis.call('HSET', sk, 'a', agent, 't:' .. t, '1') end
touch(t, agent, e, now)
return reply({ 'ok', raw and '0' or '1', (was and listed) and '0' or '1' }, t)
"#;

/// ARGV: ticket, socket, now, until. `{}` | `{started, agent, viewers...}`.
const TYPING: &str = r#"
local t, s, now, till = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local a, e = viewing(t, s)
if not e then return {} end
local started = e.u == ''
e.u, e.a = till, now
redis.call('HSET', tkey(t), a, cjson.encode(e))
redis.call('ZADD', TYP, till, member(t, a))
touch(t, a, e, now)
return reply({ started and '1' or '0', a }, t)
"#;

/// ARGV: ticket, socket, now. `{}` | `{stopped, agent, viewers...}`.
const STOP_TYPING: &str = r#"
local t, s, now = ARGV[3], ARGV[4], ARGV[5]
local a, e = viewing(t, s)
if not e then return {} end
local stopped = e.u ~= ''
e.u, e.a = '', now
redis.call('HSET', tkey(t), a, cjson.encode(e))
redis.call('ZREM', TYP, member(t, a))
touch(t, a, e, now)
return reply({ stopped and '1' or '0', a }, t)
"#;

/// ARGV: ticket, agent, now. Re-checks the deadline. `{}` | `{'1', agent, viewers...}`.
const EXPIRE_TYPING: &str = r#"
local t, a, now = ARGV[3], ARGV[4], ARGV[5]
local e = entry(t, a)
if not e or e.u == '' then
  redis.call('ZREM', TYP, member(t, a))
  return {}
end
if tonumber(e.u) > tonumber(now) then return {} end
e.u = ''
redis.call('HSET', tkey(t), a, cjson.encode(e))
redis.call('ZREM', TYP, member(t, a))
return reply({ '1', a }, t)
"#;

/// ARGV: ticket, socket. `{}` | `{agent_left, agent, entry json, viewers...}`.
const LEAVE: &str = r#"
local t, s = ARGV[3], ARGV[4]
local a, e = viewing(t, s)
if not a then return {} end
if not e then
  unindex(s, t)
  return {}
end
local keep = {}
for _, x in ipairs(split(e.k)) do if x ~= s then keep[#keep + 1] = x end end
if #keep == 0 then
  local raw = cjson.encode(e)
  remove(t, a, e)
  return reply({ '1', a, raw }, t)
end
e.k = table.concat(keep, ' ')
local raw = cjson.encode(e)
redis.call('HSET', tkey(t), a, raw)
unindex(s, t)
return reply({ '0', a, raw }, t)
"#;

/// ARGV: socket. The tickets it views.
const TICKETS_OF: &str = r#"
local out = {}
for _, f in ipairs(redis.call('HKEYS', skey(ARGV[3]))) do
  if string.sub(f, 1, 2) == 't:' then out[#out + 1] = string.sub(f, 3) end
end
return out
"#;

/// ARGV: ticket, agent. `{}` | `{agent, entry json, viewers...}`.
const REMOVE_AGENT: &str = r#"
local t, a = ARGV[3], ARGV[4]
local e = entry(t, a)
if not e then return {} end
local raw = cjson.encode(e)
remove(t, a, e)
return reply({ a, raw }, t)
"#;

/// ARGV: ticket, agent, cutoff. Re-checks the activity; drops index entries of a viewer
/// whose key expired. `{}` | `{agent, entry json, viewers...}`.
const REMOVE_IF_STALE: &str = r#"
local t, a, cutoff = ARGV[3], ARGV[4], ARGV[5]
local e = entry(t, a)
if not e then
  redis.call('ZREM', ACT, member(t, a))
  redis.call('ZREM', TYP, member(t, a))
  if redis.call('EXISTS', tkey(t)) == 0 then redis.call('ZREM', RANK, t) end
  return {}
end
if tonumber(e.a) >= tonumber(cutoff) then return {} end
local raw = cjson.encode(e)
remove(t, a, e)
return reply({ a, raw }, t)
"#;

/// ARGV: now, limit. Index members due, earliest first.
const DUE_TYPING: &str = r#"
return redis.call('ZRANGEBYSCORE', TYP, '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
"#;

/// ARGV: cutoff, limit. Index members idle since before the cutoff, oldest first. Also
/// forgets sockets idle as long whose key is gone (expired by TTL, never cleaned up).
const STALE: &str = r#"
local cutoff, limit = ARGV[3], tonumber(ARGV[4])
for _, s in ipairs(redis.call('ZRANGEBYSCORE', SOCKS, '-inf', '(' .. cutoff, 'LIMIT', 0, limit)) do
  if redis.call('EXISTS', skey(s)) == 0 then redis.call('ZREM', SOCKS, s) end
end
return redis.call('ZRANGEBYSCORE', ACT, '-inf', '(' .. cutoff, 'LIMIT', 0, limit)
"#;

/// ARGV: ticket. Agent, entry json pairs.
const VIEWERS: &str = r#"
return reply({}, ARGV[3])
"#;

/// ARGV: top. `{tickets, viewers, typing, sockets, (ticket, viewers, typing)...}`.
const STATS: &str = r#"
local top = tonumber(ARGV[3])
local out = { tostring(redis.call('ZCARD', RANK)), tostring(redis.call('ZCARD', ACT)),
  tostring(redis.call('ZCARD', TYP)), tostring(redis.call('ZCARD', SOCKS)) }
if top <= 0 then return out end
for _, t in ipairs(redis.call('ZRANGE', RANK, 0, top - 1)) do
  local typing = 0
  for _, raw in ipairs(redis.call('HVALS', tkey(t))) do
    if cjson.decode(raw).u ~= '' then typing = typing + 1 end
  end
  out[#out + 1] = t
  out[#out + 1] = tostring(redis.call('HLEN', tkey(t)))
  out[#out + 1] = tostring(typing)
end
return out
"#;

/// One loaded script per store method.
pub(super) struct Scripts {
    pub(super) view: Script,
    pub(super) typing: Script,
    pub(super) stop_typing: Script,
    pub(super) expire_typing: Script,
    pub(super) leave: Script,
    pub(super) tickets_of: Script,
    pub(super) remove_agent: Script,
    pub(super) remove_if_stale: Script,
    pub(super) due_typing: Script,
    pub(super) stale: Script,
    pub(super) viewers: Script,
    pub(super) stats: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            view: script(VIEW),
            typing: script(TYPING),
            stop_typing: script(STOP_TYPING),
            expire_typing: script(EXPIRE_TYPING),
            leave: script(LEAVE),
            tickets_of: script(TICKETS_OF),
            remove_agent: script(REMOVE_AGENT),
            remove_if_stale: script(REMOVE_IF_STALE),
            due_typing: script(DUE_TYPING),
            stale: script(STALE),
            viewers: script(VIEWERS),
            stats: script(STATS),
        }
    }
}
