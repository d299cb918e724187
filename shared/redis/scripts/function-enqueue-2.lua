--[[
  Queues a batch of synchronous function invocations on the function's sync list, the lean lane that
  workers drain with BLMPOP (docs/functions.md, "Two lanes"), unless the function has a cluster-wide
  concurrency limit: that limit is BullMQ's global concurrency, so such a function's invocations must go
  through its BullMQ queue, and the caller adds them there instead.

  Input:
    KEYS[1] the function's sync list (<prefix>:fn:{name}:sync)
    KEYS[2] the function's BullMQ meta hash (<prefix>:fn:{name}:meta), whose `concurrency` field is the limit

    ARGV[1] ms the list may outlive its last push: nobody waits for a sync invocation that long, so the
            list of a function no worker serves does not stay behind
    ARGV[2..] the msgpackr-encoded invocations, oldest first

  Output: the list's length after the push, or 0 when nothing was queued because the function is limited
]]
if redis.call('HEXISTS', KEYS[2], 'concurrency') == 1 then
  return 0
end
local n = redis.call('LPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
