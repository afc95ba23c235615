--[[
  Renews a lock only while it still holds the caller's token (lock.ts).
  Returns 1 when renewed, 0 when the lease was lost (expired, and maybe taken by another).
]]
local lockKey = KEYS[1]
local token = ARGV[1]    -- the lease's random token
local ttlMs = ARGV[2]

if redis.call('GET', lockKey) == token then return redis.call('PEXPIRE', lockKey, ttlMs) end
return 0
