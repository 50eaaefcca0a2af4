-- ARGV: prefix, user, expected version or '', to, holder or ''.
-- { 1, version } or { 0, status, version, holder, updated } (the current state).
local user, expected, to, holder = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local st = read(user)
if not check(st, expected, to, holder) then
  local r = state_reply(user, st)
  return { 0, r[1], r[2], r[3], r[4] }
end
return { 1, set(user, st, to, holder) }
