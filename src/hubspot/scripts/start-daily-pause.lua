--[[
  Starts a daily-limit pause unless one is in force (daily-limit-store.ts startPause), so that all
  processes meeting the limit at once agree on one record.
  Returns 1 when this caller started it (and should find its reset), 0 when one runs.
]]
local pauseKey = KEYS[1]                   -- the pause record (a hash)
local nowMs = ARGV[1]
local ttlMs = ARGV[2]
local FIRST_FIELD = 3                      -- ARGV[3..]: the record's field, value pairs
local function pairFrom(i) return ARGV[i], ARGV[i + 1] end

local ends = tonumber(redis.call('HGET', pauseKey, 'until') or '0')
if ends > tonumber(nowMs) then return 0 end
redis.call('DEL', pauseKey)
for i = FIRST_FIELD, #ARGV, 2 do redis.call('HSET', pauseKey, pairFrom(i)) end
redis.call('PEXPIRE', pauseKey, ttlMs)
return 1
