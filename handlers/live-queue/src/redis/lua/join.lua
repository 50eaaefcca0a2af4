-- ARGV: prefix, user, name, language or ''. { 1, position, new (0 | 1) } or
-- { 0, status, version, holder, updated } when the user is connecting or in a call.
local user, name, lang = ARGV[2], ARGV[3], ARGV[4]
local st = read(user)
if st.s == 'queueing' then
  -- Idempotent: the same place (resumed if kept during a rejoin grace).
  redis.call('ZADD', SEEN, now_ms(), user)
  if not place_of(user) then insert_place(user, name, lang) end
  resume(user)
  return { 1, position(user), 0 }
elseif st.s == 'available' then
  remove_place(user)
  insert_place(user, name, lang)
  set(user, st, 'queueing', '')
  return { 1, position(user), 1 }
end
local r = state_reply(user, st)
return { 0, r[1], r[2], r[3], r[4] }
