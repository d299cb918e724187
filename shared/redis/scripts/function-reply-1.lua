--[[
  Delivers a function's result to the edge node waiting for it.

  KEYS[1] the node's reply list (tp:reply:{nodeId})
  ARGV[1] the msgpackr-encoded reply
  ARGV[2] ms the list may outlive its last reply: a node that died leaves nothing behind for long
]]
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
