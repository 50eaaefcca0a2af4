-- ARGV: prefix, user a, expected a or '', user b, expected b or '', to, holder or ''.
-- Both or neither: { 1, version a, version b } or { 0, side (0 | 1), state of that side }.
local a, ea, b, eb, to, holder = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local function refused(side, user, st)
  local r = state_reply(user, st)
  return { 0, side, r[1], r[2], r[3], r[4] }
end
if a == b then return refused(1, b, read(b)) end
local sa, sb = read(a), read(b)
if not check(sa, ea, to, holder) then return refused(0, a, sa) end
if not check(sb, eb, to, holder) then return refused(1, b, sb) end
local va = set(a, sa, to, holder)
local vb = set(b, sb, to, holder)
return { 1, va, vb }
