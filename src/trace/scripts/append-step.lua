--[[
  Writes a step of a trace once (step-log.ts): HSETNX on its field makes a second writer (another
  worker process's tracer, or a re-read of the same event stream entry) a no-op, and only the first
  writer bumps the job counter. With a marker field, the step is written only by the first call
  carrying it. Returns 1 when the step is new, 0 otherwise.
]]
local traceKey = KEYS[1]
local minuteCounterKey = KEYS[2]          -- the counter's minute bucket (the trace key when no counter)
local quarterCounterKey = KEYS[3]         -- its quarter-hour bucket (likewise)
local stepField = ARGV[1]                 -- s:<time>-<unique>
local stepJson = ARGV[2]
local ttlSeconds = ARGV[3]                -- TRACE_RETENTION_DAYS
local counterField = ARGV[4]              -- completed, retried, failed, a SendGrid event type; '' no counter
local minuteExpiresAt = ARGV[5]           -- when each bucket expires (Unix s)
local quarterExpiresAt = ARGV[6]
local onceField = ARGV[7]                 -- a marker field (o:…): the step is written once for it; '' none

if onceField ~= '' and redis.call('HSETNX', traceKey, onceField, '1') == 0 then return 0 end
if redis.call('HSETNX', traceKey, stepField, stepJson) == 0 then return 0 end
redis.call('EXPIRE', traceKey, ttlSeconds)
if counterField ~= '' then
  redis.call('HINCRBY', minuteCounterKey, counterField, 1)
  redis.call('EXPIREAT', minuteCounterKey, minuteExpiresAt)
  redis.call('HINCRBY', quarterCounterKey, counterField, 1)
  redis.call('EXPIREAT', quarterCounterKey, quarterExpiresAt)
end
return 1
