-- ARGV: prefix, user. Keeps the place but stops matching it: 1, or 0 without a place.
local user = ARGV[2]
local p = place_of(user)
if not p then return 0 end
if p.s == 0 then
  p.s = 1
  save_place(user, p)
  deactivate(user, p)
end
return 1
