--[[
  After SendGrid accepted a welcome email (sent-markers.ts record): writes the sent marker and the
  message id → enrollment index, drops the job's claim and the attempt. Returns 1.
]]
local sentKey = KEYS[1]                    -- the sent marker (a hash)
local claimKey = KEYS[2]
local attemptKey = KEYS[3]
local messageKey = KEYS[4]                 -- the message id → enrollment index entry
local jobId = ARGV[1]                      -- the job that sent it (its claim's token)
local messageId = ARGV[2]                  -- SendGrid's X-Message-Id, '' when none came
local sentAt = ARGV[3]
local messageIndexTtlSeconds = ARGV[4]     -- SENDGRID_MESSAGE_INDEX_DAYS
local enrollmentId = ARGV[5]
local markerTtlSeconds = ARGV[6]           -- SENT_MARKER_TTL_DAYS
local keptJobId = ARGV[7]                  -- the job id the marker keeps; '' for the enrollment's own job (not stored, 25 B less)

redis.call('HSET', sentKey, 'messageId', messageId, 'sentAt', sentAt)
if keptJobId ~= '' then redis.call('HSET', sentKey, 'jobId', keptJobId) end
redis.call('EXPIRE', sentKey, markerTtlSeconds)
if redis.call('GET', claimKey) == jobId then redis.call('DEL', claimKey) end
redis.call('DEL', attemptKey)
if messageId ~= '' then redis.call('SET', messageKey, enrollmentId, 'EX', messageIndexTtlSeconds) end
return 1
