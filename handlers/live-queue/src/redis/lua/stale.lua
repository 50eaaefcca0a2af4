-- ARGV: prefix, before ms, limit. Users last refreshed before `before`, oldest first:
-- flat { user, status, version, holder, updated, ... }.
local users = redis.call('ZRANGEBYSCORE', SEEN, '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, u in ipairs(users) do
  local st = read(u)
  if st.known then
    local r = state_reply(u, st)
    table.insert(out, u)
    for i = 1, 4 do table.insert(out, r[i]) end
  else
    redis.call('ZREM', SEEN, u)
  end
end
return out
