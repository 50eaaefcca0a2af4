-- ARGV: prefix, user, expected version or ''. Makes the user available whatever it holds:
-- leaves the queue, ends its match for both. {} when nothing changed, else the state
-- before (status, version, holder, updated) followed by the ended match (id, a, b) if any.
local user, expected = ARGV[2], ARGV[3]
local st = read(user)
if (expected ~= '' and tonumber(expected) ~= st.v) or st.s == 'available' then return {} end
local prev = state_reply(user, st)
if is_held(st.s) and st.h ~= '' then
  local m = redis.call('HMGET', match_key(st.h), 'a', 'b')
  if m[1] == user or m[2] == user then
    local p = end_match(st.h)
    return { prev[1], prev[2], prev[3], prev[4], st.h, p[1], p[2] }
  end
end
set(user, st, 'available', '')
return prev
