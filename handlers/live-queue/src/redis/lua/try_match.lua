-- ARGV: prefix, user, new match id. Matches the user with the earliest-queued compatible,
-- matchable user: both leave the queue and become `connecting` for the match.
-- { first user, first name, second user, second name } (earlier-queued first), or {}.
local user, id = ARGV[2], ARGV[3]
local me = place_of(user)
if not me or me.s ~= 0 then return {} end
local function first_other(key)
  local r = redis.call('ZRANGE', key, 0, 1, 'WITHSCORES')
  for i = 1, #r, 2 do
    if r[i] ~= user then return r[i], tonumber(r[i + 1]) end
  end
  return nil, nil
end
local peer
if me.l == '' then
  peer = first_other(ACTIVE)
else
  -- Same language, or no preference: whichever queued first.
  local same, same_seq = first_other(lang_key(me.l))
  local open, open_seq = first_other(lang_key(''))
  if same and open then
    if same_seq < open_seq then peer = same else peer = open end
  else
    peer = same or open
  end
end
if not peer or redis.call('EXISTS', match_key(id)) == 1 then return {} end
local them = place_of(peer)
local su, sp = read(user), read(peer)
if not them or them.s ~= 0 or su.s ~= 'queueing' or sp.s ~= 'queueing'
    or not check(su, '', 'connecting', id) or not check(sp, '', 'connecting', id) then
  return {}
end
set(user, su, 'connecting', id)
set(peer, sp, 'connecting', id)
local first, second = { user, me.n }, { peer, them.n }
if them.q < me.q then first, second = second, first end
redis.call('HSET', match_key(id), 'a', first[1], 'b', second[1])
redis.call('SADD', MATCHES, id)
return { first[1], first[2], second[1], second[2] }
