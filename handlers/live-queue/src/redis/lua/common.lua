-- Shared by every live-queue script (prepended to each). ARGV[1] is the cluster's key
-- prefix (`plugboard:{<cluster>}:`); every key is built from it, so all keys of a
-- cluster share one hash slot. Layout: see src/redis/mod.rs.
local P = ARGV[1]
local BUSY, SEEN, COUNTS = P .. 'lq:busy', P .. 'lq:seen', P .. 'lq:counts'
local QUEUE, ACTIVE, PLACES, SEQ = P .. 'lq:queue', P .. 'lq:active', P .. 'lq:places', P .. 'lq:seq'
local MATCHES = P .. 'lq:matches'

local function match_key(id) return P .. 'lq:match:' .. id end
local function lang_key(lang)
  if lang == '' then return P .. 'lq:any' end
  return P .. 'lq:lang:' .. lang
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function is_held(s) return s == 'connecting' or s == 'in-call' end

-- The transition table of `allowed()` in src/state.rs (a test checks they agree).
local MOVES = {
  ['available'] = { ['queueing'] = true, ['connecting'] = true },
  ['queueing'] = { ['available'] = true, ['connecting'] = true, ['in-call'] = true },
  ['connecting'] = { ['available'] = true, ['in-call'] = true, ['connecting'] = true },
  ['in-call'] = { ['available'] = true },
}

-- `allowed(from, held_by, to, holder)`; '' stands for no holder.
local function allowed(from, held_by, to, holder)
  if is_held(to) and holder == '' then return false end
  if is_held(from) and holder ~= '' and held_by ~= holder then return false end
  return MOVES[from] ~= nil and MOVES[from][to] == true
end

-- A user's busy state: { s = status, v = version, h = holder or '', known }.
local function read(user)
  local raw = redis.call('HGET', BUSY, user)
  if not raw then return { s = 'available', v = 0, h = '', known = false } end
  local s, v, h = string.match(raw, '^([^:]*):(%d+):(.*)$')
  return { s = s, v = tonumber(v), h = h, known = true }
end

-- The state as a reply: status, version, holder, updated ms.
local function state_reply(user, st)
  local updated = redis.call('ZSCORE', SEEN, user)
  return { st.s, st.v, st.h, tonumber(updated or '0') }
end

-- `expected` ('' or a version) matches and the move is allowed.
local function check(st, expected, to, holder)
  return (expected == '' or tonumber(expected) == st.v) and allowed(st.s, st.h, to, holder)
end

-- Queue places: PLACES[user] = json { n = name, l = language or '', s = 1 if suspended, q = seq }.
local function place_of(user)
  local raw = redis.call('HGET', PLACES, user)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function save_place(user, p) redis.call('HSET', PLACES, user, cjson.encode(p)) end

local function activate(user, p)
  redis.call('ZADD', ACTIVE, p.q, user)
  redis.call('ZADD', lang_key(p.l), p.q, user)
end

local function deactivate(user, p)
  redis.call('ZREM', ACTIVE, user)
  redis.call('ZREM', lang_key(p.l), user)
end

local function insert_place(user, name, lang)
  if redis.call('HEXISTS', PLACES, user) == 1 then return false end
  local p = { n = name, l = lang, s = 0, q = redis.call('INCR', SEQ) }
  save_place(user, p)
  redis.call('ZADD', QUEUE, p.q, user)
  activate(user, p)
  return true
end

local function remove_place(user)
  local p = place_of(user)
  if not p then return end
  redis.call('HDEL', PLACES, user)
  redis.call('ZREM', QUEUE, user)
  deactivate(user, p)
end

local function position(user)
  local r = redis.call('ZRANK', QUEUE, user)
  if r then return r + 1 end
  return 0
end

local function resume(user)
  local p = place_of(user)
  if not p or p.s == 0 then return false end
  p.s = 0
  save_place(user, p)
  activate(user, p)
  return true
end

-- Writes a checked transition and keeps the counts, the `seen` index and the queue in
-- step (leaving `queueing` leaves the queue; entering it takes a place). Returns the version.
local function set(user, st, to, holder)
  local h = ''
  if is_held(to) then h = holder end
  redis.call('ZADD', SEEN, now_ms(), user)
  if st.known and st.s == to and st.h == h then return st.v end
  if st.known then redis.call('HINCRBY', COUNTS, st.s, -1) end
  redis.call('HINCRBY', COUNTS, to, 1)
  local from = st.s
  st.s, st.v, st.h, st.known = to, st.v + 1, h, true
  redis.call('HSET', BUSY, user, to .. ':' .. string.format('%d', st.v) .. ':' .. h)
  if from == 'queueing' and to ~= 'queueing' then
    remove_place(user)
  elseif to == 'queueing' and from ~= 'queueing' then
    insert_place(user, user, '')
  end
  return st.v
end

-- Ends match `id` (its record exists): every party still held by it becomes available.
local function end_match(id)
  local mk = match_key(id)
  local m = redis.call('HMGET', mk, 'a', 'b')
  for _, u in ipairs(m) do
    if u then
      local st = read(u)
      if is_held(st.s) and st.h == id then set(u, st, 'available', id) end
    end
  end
  redis.call('DEL', mk)
  redis.call('SREM', MATCHES, id)
  return { m[1] or '', m[2] or '' }
end
