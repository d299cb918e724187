--[[
  Renews one edge node in the WebSocket registry's live set, on Redis's clock: every heartbeat and
  every claim (ws-node-claim-1.lua) is on this one key, so they read one clock whatever the nodes'
  clocks say.
  KEYS[1]  the live set (`wsnodes:{live}`: node incarnation → last heartbeat, ms; negative: claimed)
  ARGV[1]  the node's incarnation id
  ARGV[2]  '1' to join the set, '0' to renew only
  Returns 1 when the node is in the set now, 0 when it was not there to renew: another node took it for
  dead and claimed it (its registry entries are being removed), or Redis lost its data. Either way it
  must join again under a new incarnation: renewing the old one would let a claimer remove what the
  node registers again.
]]
if ARGV[2] == '0' then
  -- Absent, or claimed (a negative score: see ws-node-claim-1.lua): not renewed.
  local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not score or tonumber(score) < 0 then return 0 end
end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
return 1
