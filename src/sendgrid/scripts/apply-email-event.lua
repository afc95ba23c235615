--[[
  Takes one SendGrid event in, once (email-status.ts): deduplicated by its sg_event_id; counts an
  open or a click; a send of unknown outcome settled by an event that proves it happened; and the
  enrollment's welcome email status moved, only forward. A status's rank is not stored (records of
  earlier versions have it as statusRank): RANKS gives it.
  Returns -1 duplicate, 0 taken without a status change, 1 status changed.
]]
local dedupeKey = KEYS[1]                  -- the event's dedupe marker
local sentKey = KEYS[2]                    -- the enrollment's sent record (a hash; the unmatched stream when none)
local dedupeTtlSeconds = ARGV[1]
local status = ARGV[2]                     -- the status the event means, '' for none
local rank = tonumber(ARGV[3])             -- its rank
local eventAtMs = ARGV[4]
local reason = ARGV[5]                     -- what SendGrid said (addresses masked), or ''
local counterField = ARGV[6]               -- 'opens', 'clicks', or '' for none
local sendId = ARGV[7]                     -- the send's X-Message-Id, '' when unknown
local provesSend = ARGV[8]                 -- '1' when the event proves the send happened
local eventAtIso = ARGV[9]                 -- the event's time as ISO: the sent marker it writes then
local recordTtlSeconds = ARGV[10]          -- SENT_MARKER_TTL_DAYS

-- events.ts statusRank: sent 1, deferred 2, delivered 3, any final one 4.
local RANKS = {sent = 1, deferred = 2, delivered = 3, bounced = 4, dropped = 4, spam_report = 4, unsubscribed = 4}

if not redis.call('SET', dedupeKey, '1', 'NX', 'EX', dedupeTtlSeconds) then return -1 end
if counterField ~= '' then redis.call('HINCRBY', sentKey, counterField, 1) end
if provesSend == '1' and redis.call('HEXISTS', sentKey, 'sentAt') == 0 then
  redis.call('HSET', sentKey, 'messageId', sendId, 'sentAt', eventAtIso, 'jobId', 'SendGrid event')
end
if redis.call('EXISTS', sentKey) == 1 then redis.call('EXPIRE', sentKey, recordTtlSeconds) end
if status == '' then return 0 end
local cur = redis.call('HMGET', sentKey, 'status', 'statusRank', 'statusAt')
local was = tonumber(cur[2] or RANKS[cur[1] or ''] or '0')
local later = tonumber(eventAtMs) > tonumber(cur[3] or '0')
if rank > was or (rank == 4 and was == 4 and later and status ~= cur[1]) then
  redis.call('HSET', sentKey, 'status', status, 'statusAt', eventAtMs)
  if reason ~= '' then redis.call('HSET', sentKey, 'reason', reason) else redis.call('HDEL', sentKey, 'reason') end
  redis.call('HDEL', sentKey, 'statusRank')
  redis.call('EXPIRE', sentKey, recordTtlSeconds)
  return 1
end
return 0
