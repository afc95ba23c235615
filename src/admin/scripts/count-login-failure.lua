--[[
  Counts a failed login of one source address (login-throttle.ts): the window starts with the first
  failure (and again if the count ever lost its expiry).
  Returns {failures in this window, ms left of the window}.
]]
local failuresKey = KEYS[1]                -- the address's failures (a counter)
local windowMs = ARGV[1]

local n = redis.call('INCR', failuresKey)
if n == 1 or redis.call('PTTL', failuresKey) < 0 then redis.call('PEXPIRE', failuresKey, windowMs) end
return {n, redis.call('PTTL', failuresKey)}
