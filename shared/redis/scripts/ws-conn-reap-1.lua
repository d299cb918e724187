--[[
  Removes one connection's registry hash on behalf of a dead node, only if that node incarnation still
  owns it: a node wrongly taken for dead registers its connections again under a new incarnation, and
  those entries must survive the removal of the old ones, in whatever order the two interleave.
  KEYS[1]  the connection's registry hash (`wsconn:{id}`, field `node`: the owning incarnation)
  ARGV[1]  the dead node's incarnation
  Returns 1 when removed, 0 when kept (owned by another incarnation). A hash without an owner is an
  orphan (a lastActiveAt write that raced the removal) and is removed too.
]]
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= ARGV[1] then return 0 end
return redis.call('UNLINK', KEYS[1])
