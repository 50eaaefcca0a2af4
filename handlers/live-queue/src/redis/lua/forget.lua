-- ARGV: prefix, user, version. Drops an `available` record still at `version`: 1 or 0.
local user = ARGV[2]
local st = read(user)
if not st.known or st.s ~= 'available' or st.v ~= tonumber(ARGV[3]) then return 0 end
redis.call('HDEL', BUSY, user)
redis.call('ZREM', SEEN, user)
redis.call('HINCRBY', COUNTS, 'available', -1)
return 1
