--[[
  The intake (intake.ts): takes a batch of webhook events in one atomic call. The dedupe record
  decides each event; for a fresh one, its jobs (BullMQ's format), its pending record and the
  records its observer writes (the trace) are written, or none of them are.
  Returns 1 (accepted) or 0 (duplicate) per event, in the order they came.
]]

-- KEYS: per queue of the queue table (intake.ts SCRIPT_QUEUES), its group of QUEUE_KEYS BullMQ
-- keys (includes/bullmq-add), read through newQueue.

-- ARGV, the head:
local dedupeTtlSeconds = ARGV[1]    -- DEDUPE_TTL_SECONDS: how long a plain dedupe marker lives
local dedupeKeyPrefix = ARGV[2]     -- an event's dedupe (pending) record is this and its idempotency key
local pendingTtlSeconds = ARGV[3]   -- how long a pending record (an enrollment's data) lives at most

-- then the queue table: per queue, a group of QUEUE_FIELDS arguments from FIRST_QUEUE_ARG, at
-- these offsets within the group:
local FIRST_QUEUE_ARG = 4
local QUEUE_FIELDS = 3
local JOB_KEY_PREFIX = 0            -- the prefix of its jobs' hash keys (the job id follows)
local JOB_OPTIONS = 1               -- its jobs' options (JSON)
local PENDING_FLAG = 2              -- the field that flags its job in a pending record (q:<queue>)
local function queueArg(q, offset) return ARGV[FIRST_QUEUE_ARG + (q - 1) * QUEUE_FIELDS + offset] end

-- then, to the end, per event a group of EVENT_FIELDS + n arguments (n: its job count), at these
-- offsets within the group:
local JOB_ID = 0                    -- its jobs' id: the event's idempotency key
local JOB_NAME = 1                  -- its jobs' name: the event type
local RECEIVED_AT = 2               -- when it came (ms)
local JOB_DATA = 3                  -- its jobs' data (JSON)
local JOB_COUNT = 4                 -- n
local JOB_QUEUES = 5                -- n arguments: each job's queue, an index into the queue table
local HELD = 5                      -- + n: the pending record's fields as a JSON list ('': none, a plain dedupe marker)
local WRITES = 6                    -- + n: the records to write (includes/record-writes)
local EVENT_FIELDS = 7              -- + n: the group's length
local function eventArg(group, offset) return ARGV[group + offset] end

local rcall = redis.call
--- @include "includes/bullmq-add"
--- @include "includes/record-writes"

local queues = {}
for q = 1, #KEYS / QUEUE_KEYS do
  queues[q] = newQueue((q - 1) * QUEUE_KEYS, queueArg(q, JOB_KEY_PREFIX), queueArg(q, JOB_OPTIONS))
  queues[q].flag = queueArg(q, PENDING_FLAG)
end
local out = {}
local group = FIRST_QUEUE_ARG + #queues * QUEUE_FIELDS
while group <= #ARGV do
  local jobId, name, timestamp, data = eventArg(group, JOB_ID), eventArg(group, JOB_NAME), eventArg(group, RECEIVED_AT), eventArg(group, JOB_DATA)
  local jobs = tonumber(eventArg(group, JOB_COUNT))
  local seen = dedupeKeyPrefix .. jobId
  local held = eventArg(group, HELD + jobs)
  local fresh
  if held == '' then
    fresh = rcall('SET', seen, timestamp, 'NX', 'EX', dedupeTtlSeconds)
  else
    fresh = rcall('EXISTS', seen) == 0
  end
  if fresh then
    -- A job id still in Redis (a completed job kept after its dedupe window) is not added again:
    -- the pending record flags only the jobs added, and with none it is a plain marker (nothing
    -- would ever release it).
    local flags = {}
    for j = 1, jobs do
      local q = queues[tonumber(eventArg(group, JOB_QUEUES + j - 1))]
      if addJob(q, jobId, name, data, timestamp) then flags[#flags + 1] = q.flag; flags[#flags + 1] = '1' end
    end
    if held ~= '' and #flags > 0 then
      local fields = cjson.decode(held)
      for f = 1, #flags do fields[#fields + 1] = flags[f] end
      rcall('HSET', seen, 'at', timestamp, unpack(fields))
      rcall('EXPIRE', seen, pendingTtlSeconds)
    elseif held ~= '' then
      rcall('SET', seen, timestamp, 'EX', dedupeTtlSeconds)
    end
    applyWrites(eventArg(group, WRITES + jobs))
  end
  group = group + EVENT_FIELDS + jobs
  out[#out + 1] = fresh and 1 or 0
end
for q = 1, #queues do wakeWorkers(queues[q]) end
return out
