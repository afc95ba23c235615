--[[
  Releases a lock only while it still holds the caller's token, so a holder that stalled past its
  TTL never releases a lock someone else took since (lock.ts).
  Returns 1 when it was held and is released, 0 otherwise.
]]
local lockKey = KEYS[1]
local token = ARGV[1]    -- the lease's random token

if redis.call('GET', lockKey) == token then return redis.call('DEL', lockKey) end
return 0
