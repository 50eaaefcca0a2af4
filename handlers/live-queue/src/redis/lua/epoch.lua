-- ARGV: prefix, candidate. The queue epoch: set once (NX), so every node reads the same
-- value until Redis loses its data, when the next caller sets a new one.
redis.call('SET', P .. 'lq:epoch', ARGV[2], 'NX')
return redis.call('GET', P .. 'lq:epoch')
