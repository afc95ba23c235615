--[[
  Blocks the HubSpot request budget for `blockMs` from now, unless a longer block is in place
  (request-budget.ts block, after a 429). Returns 0.
]]
local blockKey = KEYS[1]                   -- until when requests are blocked (ms)
local clockMs = ARGV[1]                    -- the budget's own clock (tests), or '' for Redis' TIME
local blockMs = ARGV[2]

-- Redis' own TIME unless the budget has a clock of its own, so that every process shares one clock
-- (the same lines open each of the budget's scripts).
local now = tonumber(clockMs)
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local untilMs = now + tonumber(blockMs)
if tonumber(redis.call('GET', blockKey) or '0') < untilMs then
  redis.call('SET', blockKey, string.format('%.3f', untilMs), 'PX', blockMs)
end
return 0
