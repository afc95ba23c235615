--[[
  Moves an alert condition to a new verdict (state.ts RedisAlertState.transition) unless it is
  there already, or its last message went out less than `minIntervalMs` ago (then the change waits
  for a later round). Only one caller gets a change, however many processes evaluate at once.
  Returns 1 changed (fire or resolve), 0 no change, -1 deferred (rate limit).
]]
local alertKey = KEYS[1]                   -- the condition's state (a hash)
local activeKey = KEYS[2]                  -- the set of firing conditions' ids
local id = ARGV[1]
local wanted = ARGV[2]                     -- '1' firing, '0' resolved
local nowMs = ARGV[3]
local minIntervalMs = ARGV[4]
local text = ARGV[5]                       -- the message

local cur = redis.call('HGET', alertKey, 'active') or '0'
if cur == wanted then return 0 end
local last = tonumber(redis.call('HGET', alertKey, 'sentAt') or '0')
if last > 0 and tonumber(nowMs) - last < tonumber(minIntervalMs) then return -1 end
redis.call('HSET', alertKey, 'active', wanted, 'sentAt', nowMs, 'prevSentAt', tostring(last), 'text', text)
if wanted == '1' then redis.call('SADD', activeKey, id) else redis.call('SREM', activeKey, id) end
return 1
