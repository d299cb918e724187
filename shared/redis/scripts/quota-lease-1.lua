--[[
  Leases up to `want` requests of a usage plan quota for the current period, so an edge node can admit
  that many requests without asking Redis again. Every admitted request was counted here first, so all
  nodes together never admit more than `limit` in one period.

  Input:
    KEYS[1] the period's counter (a string holding the count leased so far); one key per period

    ARGV[1] limit, requests per period
    ARGV[2] want, requests to lease (>= 1)
    ARGV[3] returned, unused requests of an earlier lease of this period handed back (>= 0)
    ARGV[4] ms until the period ends: the counter expires a day after that

  Output: { granted, requests left in the period after the grant }
]]
local limit = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local returned = tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]) or '0') - returned
if used < 0 then used = 0 end

local granted = math.min(want, limit - used)
if granted < 0 then granted = 0 end
used = used + granted
if granted > 0 or returned > 0 then
  redis.call('SET', KEYS[1], used, 'PX', tonumber(ARGV[4]) + 86400000)
end
return { granted, limit - used }
