--[[
  Before a welcome email is sent (sent-markers.ts claim): says whether it was sent already; if not,
  claims the enrollment for the job. With SendGrid's Event Webhook on (a grace), the claim also
  notes when the attempt started, and an attempt that never recorded its end makes the next one
  wait up to the grace for SendGrid's event.
  Returns {'sent', messageId, sentAt, jobId} | {'claimed'} | {'busy', ms left of the claim}
  | {'unsure', ms left of the grace}.
]]
local sentKey = KEYS[1]                    -- the sent marker (a hash)
local claimKey = KEYS[2]                   -- the claim, holding the job id
local attemptKey = KEYS[3]                 -- when the last attempt started (ms)
local jobId = ARGV[1]
local claimTtlMs = ARGV[2]
local graceMs = ARGV[3]                    -- 0: no waiting (no Event Webhook)

local sent = redis.call('HMGET', sentKey, 'messageId', 'sentAt', 'jobId')
if sent[2] then return {'sent', sent[1] or '', sent[2], sent[3] or ''} end
if not redis.call('SET', claimKey, jobId, 'NX', 'PX', claimTtlMs) then return {'busy', redis.call('PTTL', claimKey)} end
local grace = tonumber(graceMs)
if grace > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local started = tonumber(redis.call('GET', attemptKey) or '0')
  if started > 0 and now - started < grace then
    redis.call('DEL', claimKey)
    return {'unsure', grace - (now - started)}
  end
  redis.call('SET', attemptKey, now, 'PX', grace + tonumber(claimTtlMs))
end
return {'claimed'}
