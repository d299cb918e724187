--[[
  Delivers function results to the edge node waiting for them (a worker sends all the results of one
  event-loop turn for one node at once).

  Input:
    KEYS[1] the node's reply list (<prefix>:reply:{nodeId})

    ARGV[1] ms the list may outlive its last reply: a node that died leaves nothing behind for long
    ARGV[2..] the msgpackr-encoded replies

  Output: the list's length after the push
]]
local n = redis.call('LPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
