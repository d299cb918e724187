--[[
  Claims the edge nodes whose heartbeat is older than the timeout: removes them from the live set and
  returns them, in one step, so exactly one node claims each dead node and a node that renewed after
  being read as dead is never claimed (a separate read and ZREM would claim it).
  KEYS[1]  the live set (`wsnodes:{live}`: node incarnation → last heartbeat, ms on Redis's clock)
  ARGV[1]  the node timeout, ms
  ARGV[2]  the claiming node's incarnation (never claims itself)
  ARGV[3]  the most nodes to claim in one call
  Returns the claimed incarnations; the caller removes their connection entries.
]]
local t = redis.call('TIME')
local cutoff = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[3]) + 1)
local claimed = {}
for _, node in ipairs(dead) do
  if node ~= ARGV[2] and #claimed < tonumber(ARGV[3]) then
    redis.call('ZREM', KEYS[1], node)
    claimed[#claimed + 1] = node
  end
end
return claimed
