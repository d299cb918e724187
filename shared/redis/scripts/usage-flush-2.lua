--[[
  Adds one metering batch of an edge node to a key's usage for one day, at most once: an edge resends a
  batch whose reply it did not get (a timeout, a failover) with the same id, and the second arrival
  changes nothing. This is what makes metered calls countable exactly once, and so billable.

  Input:
    KEYS[1] the key's usage hash for the day (fields "<apiId>/<stage>/calls|bytes" and
            "r|calls|<apiId>|<stage>|<route>", "r|bytes|..."), tagged {keyId}
    KEYS[2] the key's applied-batch ids (a sorted set scored by arrival time), tagged {keyId}

    ARGV[1] batch id (unique per edge node and batch)
    ARGV[2] now, ms since the epoch
    ARGV[3] how long batch ids are remembered, ms (longer than any edge keeps retrying a batch)
    ARGV[4] how long the usage hash is kept, ms
    ARGV[5], ARGV[6], ... field, increment pairs

  Output: 1 when the batch was applied, 0 when it had been applied before
]]
local now = tonumber(ARGV[2])
local remember = tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - remember)
redis.call('PEXPIRE', KEYS[2], remember)
for i = 5, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
