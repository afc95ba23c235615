--[[
  How long the HubSpot request budget stays blocked (request-budget.ts blockedFor).
  Returns the milliseconds left of the block, 0 when none.
]]
local blockKey = KEYS[1]                   -- until when requests are blocked (ms)
local clockMs = ARGV[1]                    -- the budget's own clock (tests), or '' for Redis' TIME

-- Redis' own TIME unless the budget has a clock of its own, so that every process shares one clock
-- (the same lines open each of the budget's scripts).
local now = tonumber(clockMs)
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

return math.max(0, math.ceil(tonumber(redis.call('GET', blockKey) or '0') - now))
