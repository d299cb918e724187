--[[
  Claims the edge nodes whose heartbeat is older than the timeout, in one step: exactly one node claims
  each dead node, and a node that renewed after being read as dead is never claimed (a separate read and
  ZREM would claim it). A claimed node stays in the set, scored minus the claim's time, until its
  claimer has removed its connection entries (then ZREM); a claim that old (its claimer died or stalled
  while removing) is claimed again, so a dead node's entries are removed even if its first claimer dies.
  KEYS[1]  the live set (`wsnodes:{live}`: node incarnation → last heartbeat, ms on Redis's clock;
           a negative score is minus the time it was claimed)
  ARGV[1]  the node timeout, ms
  ARGV[2]  the claiming node's incarnation (never claims itself)
  ARGV[3]  the most nodes to claim in one call
  Returns the claimed incarnations; the caller removes their connection entries, then ZREMs them.
]]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local cutoff = now - tonumber(ARGV[1])
local max = tonumber(ARGV[3])
local claimed = {}
local function claim(candidates)
  for _, node in ipairs(candidates) do
    if node ~= ARGV[2] and #claimed < max then
      redis.call('ZADD', KEYS[1], -now, node)
      claimed[#claimed + 1] = node
    end
  end
end
-- Silent live nodes: heartbeat in [0, cutoff]. Stale claims: claimed before cutoff, score in (-cutoff, 0).
claim(redis.call('ZRANGEBYSCORE', KEYS[1], 0, cutoff, 'LIMIT', 0, max + 1))
if #claimed < max then claim(redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%.0f', -cutoff), '(0', 'LIMIT', 0, max + 1)) end
return claimed
