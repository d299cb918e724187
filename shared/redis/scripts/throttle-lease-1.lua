--[[
  Leases up to `want` tokens from a shared token bucket, so an edge node can admit that many requests
  without asking Redis again. The bucket refills continuously at `rate` tokens per second up to `burst`;
  every token a node admits was debited here first, so all nodes together never admit more than
  burst + rate * elapsed.

  Input:
    KEYS[1] the bucket: a hash { t = tokens (fractional), ts = ms of the last refill }

    ARGV[1] rate, tokens per second
    ARGV[2] burst, the capacity
    ARGV[3] want, tokens to lease (>= 1)
    ARGV[4] returned, unused tokens of an expired lease handed back (>= 0)
    ARGV[5] now in ms; 0 takes the Redis server's clock, the one clock every node shares

  Output: { granted, remaining whole tokens after the grant, ms until the next whole token (0 if granted > 0) }
]]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local returned = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
tokens = math.min(burst, tokens + returned)

local granted = math.min(want, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
local wait = 0
if granted == 0 then wait = math.ceil((1 - tokens) * 1000 / rate) end

redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
-- A full bucket and a missing one mean the same, so an idle bucket may vanish once it has refilled.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return { granted, math.floor(tokens), wait }
