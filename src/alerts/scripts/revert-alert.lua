--[[
  Undoes the last transition of an alert condition (state.ts RedisAlertState.revert): its message
  could not be delivered, and a later round retries. Returns 1.
]]
local alertKey = KEYS[1]                   -- the condition's state (a hash)
local activeKey = KEYS[2]                  -- the set of firing conditions' ids
local id = ARGV[1]

local cur = redis.call('HGET', alertKey, 'active') or '0'
local back = cur == '1' and '0' or '1'
redis.call('HSET', alertKey, 'active', back, 'sentAt', redis.call('HGET', alertKey, 'prevSentAt') or '0')
if back == '1' then redis.call('SADD', activeKey, id) else redis.call('SREM', activeKey, id) end
return 1
