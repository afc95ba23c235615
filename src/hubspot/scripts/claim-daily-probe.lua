--[[
  Claims the probe of a daily-limit pause if none was sent in the last `intervalMs`
  (daily-limit-store.ts claimProbe): one process probes for all.
  Returns 1 when this caller may probe (probedAt set to now), 0 otherwise (no pause, or probed recently).
]]
local pauseKey = KEYS[1]                   -- the pause record (a hash)
local nowMs = ARGV[1]
local intervalMs = ARGV[2]

if redis.call('EXISTS', pauseKey) == 0 then return 0 end
local last = tonumber(redis.call('HGET', pauseKey, 'probedAt') or '0')
if tonumber(nowMs) - last < tonumber(intervalMs) then return 0 end
redis.call('HSET', pauseKey, 'probedAt', nowMs)
return 1
