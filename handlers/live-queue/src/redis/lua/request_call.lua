-- ARGV: prefix, match id, caller, callee, stage. Rings the callee (both `connecting`), or
-- merges with the callee's pending request to the caller into one call (both `in-call`).
-- { 'ringing' } | { 'merged', stage, first requester, other } |
-- { 'err', 'forbidden' | 'in-progress' } | { 'err', 'caller-busy' | 'callee-busy', state }.
local id, caller, callee, stage = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if caller == callee then return { 'err', 'forbidden' } end
local mk = match_key(id)
local created = false
if redis.call('EXISTS', mk) == 0 then
  redis.call('HSET', mk, 'a', caller, 'b', callee)
  redis.call('SADD', MATCHES, id)
  created = true
end
local m = redis.call('HMGET', mk, 'a', 'b', 'caller', 'callee', 'stage', 'active')
local other = false
if m[1] == caller then other = m[2] elseif m[2] == caller then other = m[1] end
if other ~= callee then return { 'err', 'forbidden' } end
local function busy(kind, user, st)
  -- A match this request created goes again when it failed.
  if created then
    redis.call('DEL', mk)
    redis.call('SREM', MATCHES, id)
  end
  local r = state_reply(user, st)
  return { 'err', kind, r[1], r[2], r[3], r[4] }
end
local sa, sb = read(caller), read(callee)
if m[3] then
  if m[6] == '1' or m[3] ~= callee or m[4] ~= caller then return { 'err', 'in-progress' } end
  -- Glare: the callee already rings the caller for this match.
  if not check(sa, '', 'in-call', id) then return busy('caller-busy', caller, sa) end
  if not check(sb, '', 'in-call', id) then return busy('callee-busy', callee, sb) end
  set(caller, sa, 'in-call', id)
  set(callee, sb, 'in-call', id)
  redis.call('HSET', mk, 'active', '1')
  return { 'merged', m[5], callee, caller }
end
if not check(sa, '', 'connecting', id) then return busy('caller-busy', caller, sa) end
if not check(sb, '', 'connecting', id) then return busy('callee-busy', callee, sb) end
set(caller, sa, 'connecting', id)
set(callee, sb, 'connecting', id)
redis.call('HSET', mk, 'caller', caller, 'callee', callee, 'stage', stage, 'active', '0')
return { 'ringing' }
