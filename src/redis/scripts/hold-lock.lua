--[[
  Holds a lock for leader election (lock.ts): renews it when the caller's token holds it, else
  takes it if it is free.
  Returns 1 while the caller holds it, 0 when someone else does.
]]
local lockKey = KEYS[1]
local token = ARGV[1]    -- the lease's random token
local ttlMs = ARGV[2]

if redis.call('GET', lockKey) == token then redis.call('PEXPIRE', lockKey, ttlMs) return 1 end
if redis.call('SET', lockKey, token, 'NX', 'PX', ttlMs) then return 1 end
return 0
