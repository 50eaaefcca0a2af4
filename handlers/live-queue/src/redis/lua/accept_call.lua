-- ARGV: prefix, match id, user. The callee accepts the ringing call: both `in-call`.
-- { 'ok', stage, caller, callee } | { 'err', 'not-found' | 'forbidden' | 'in-progress' } |
-- { 'err', 'caller-busy' | 'callee-busy', state }.
local id, user = ARGV[2], ARGV[3]
local mk = match_key(id)
local m = redis.call('HMGET', mk, 'a', 'b', 'caller', 'callee', 'stage', 'active')
if not m[1] then return { 'err', 'not-found' } end
if m[1] ~= user and m[2] ~= user then return { 'err', 'forbidden' } end
if not m[3] then return { 'err', 'not-found' } end
if m[6] == '1' then return { 'err', 'in-progress' } end
if m[4] ~= user then return { 'err', 'not-found' } end
local caller, callee = m[3], m[4]
local sa, sb = read(caller), read(callee)
local function busy(kind, u, st)
  local r = state_reply(u, st)
  return { 'err', kind, r[1], r[2], r[3], r[4] }
end
-- Named from the accepting callee's side, as the memory store does.
if not check(sa, '', 'in-call', id) then return busy('callee-busy', caller, sa) end
if not check(sb, '', 'in-call', id) then return busy('caller-busy', callee, sb) end
set(caller, sa, 'in-call', id)
set(callee, sb, 'in-call', id)
redis.call('HSET', mk, 'active', '1')
return { 'ok', m[5], caller, callee }
