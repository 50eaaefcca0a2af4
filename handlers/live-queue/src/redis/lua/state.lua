-- ARGV: prefix, user. The user's state (status, version, holder, updated ms).
return state_reply(ARGV[2], read(ARGV[2]))
