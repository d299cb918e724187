--[[
  Hands a message (a msgpack envelope) to the edge node that holds a WebSocket connection, in one round trip.
  KEYS[1]  the connection's registry hash (field `inbox`: the owning node's pub/sub channel)
  ARGV[1]  the envelope
  Returns -1 when the connection is not registered (gone), else the number of nodes that received it
  (0: the owning node is dead and its entries are about to be reaped).
]]
local inbox = redis.call('HGET', KEYS[1], 'inbox')
if not inbox then return -1 end
return redis.call('PUBLISH', inbox, ARGV[1])
