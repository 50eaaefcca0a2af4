-- ARGV: prefix, user. Makes a suspended place matchable: 1, or 0 when there is none.
if resume(ARGV[2]) then return 1 end
return 0
