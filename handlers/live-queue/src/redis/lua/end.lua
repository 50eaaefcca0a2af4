-- ARGV: prefix, match id, user. A party ends the match and its call: both `available`.
-- { 'ok', party a, party b } | { 'err', 'not-found' | 'forbidden' }.
local id, user = ARGV[2], ARGV[3]
local m = redis.call('HMGET', match_key(id), 'a', 'b')
if not m[1] then return { 'err', 'not-found' } end
if m[1] ~= user and m[2] ~= user then return { 'err', 'forbidden' } end
local p = end_match(id)
return { 'ok', p[1], p[2] }
