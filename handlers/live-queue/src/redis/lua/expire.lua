-- ARGV: prefix, user. Removes a place still suspended and makes the user available: 1 or 0.
local user = ARGV[2]
local st = read(user)
local p = place_of(user)
if st.s ~= 'queueing' or not p or p.s ~= 1 then return 0 end
set(user, st, 'available', '')
return 1
