-- ARGV: prefix, user. Refreshes `updated` of a known user: 1, or 0 when unknown.
if redis.call('HEXISTS', BUSY, ARGV[2]) == 0 then return 0 end
redis.call('ZADD', SEEN, now_ms(), ARGV[2])
return 1
