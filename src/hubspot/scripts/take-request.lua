--[[
  Takes one request of the HubSpot request budget (request-budget.ts). Two rules must both allow
  it: requests are spaced `spacingMs` apart (GCRA; a request may go up to `toleranceMs` early, which
  gives back time lost to timer and network lateness), so they flow evenly instead of in bursts that
  a rolling window would repeat window after window; and a rolling window of `max` requests per
  `windowMs` is never exceeded. No request while a block (after a 429) is in force.
  Returns 0 when granted, else the milliseconds to wait.
]]
local windowKey = KEYS[1]                  -- the requests of the rolling window (a sorted set)
local blockKey = KEYS[2]                   -- until when requests are blocked (ms), set after a 429
local tatKey = KEYS[3]                     -- the theoretical arrival time of the next request (GCRA)
local clockMs = ARGV[1]                    -- the budget's own clock (tests), or '' for Redis' TIME
local max = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local member = ARGV[4]                     -- this request's entry in the window
local spacingMs = tonumber(ARGV[5])
local toleranceMs = tonumber(ARGV[6])

-- Redis' own TIME unless the budget has a clock of its own, so that every process shares one clock
-- (the same lines open each of the budget's scripts). Key TTLs only collect garbage.
local now = tonumber(clockMs)
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local blocked = tonumber(redis.call('GET', blockKey) or '0') - now
if blocked > 0 then return math.max(1, math.ceil(blocked)) end
local tat = math.max(tonumber(redis.call('GET', tatKey) or '0'), now)
local wait = tat - now - toleranceMs
redis.call('ZREMRANGEBYSCORE', windowKey, '-inf', now - windowMs)
if redis.call('ZCARD', windowKey) >= max then
  local oldest = redis.call('ZRANGE', windowKey, 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + windowMs - now)
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
redis.call('ZADD', windowKey, now, member)
redis.call('PEXPIRE', windowKey, windowMs)
redis.call('SET', tatKey, string.format('%.3f', tat + spacingMs), 'PX', windowMs)
return 0
