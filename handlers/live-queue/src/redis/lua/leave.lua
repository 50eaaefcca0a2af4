-- ARGV: prefix, user. { 1, left (0 | 1) } or { 0, state } when connecting or in a call.
local user = ARGV[2]
local st = read(user)
if st.s == 'queueing' then
  set(user, st, 'available', '')
  return { 1, 1 }
elseif st.s == 'available' then
  return { 1, 0 }
end
local r = state_reply(user, st)
return { 0, r[1], r[2], r[3], r[4] }
