--[[
  BullMQ's job format, for a script that adds jobs itself (the intake). It mirrors what BullMQ's
  `addStandardJob` does for a job with its own id, no delay, no priority, no parent and no
  deduplication (see bullmq-add.ts; test/bullmq-add.test.ts compares the result with BullMQ's own
  Queue.add, key by key).

  newQueue(base, jobKeyPrefix, opts): a queue whose keys are the group of QUEUE_KEYS KEYS after
    KEYS[base], in the order of QUEUE_KEY_NAMES (bullmq-add.ts bullmqQueueKeys gives them so).
  addJob(q, jobId, name, data, timestamp): adds a job; a job id already there is logged
    `duplicated` and left alone, as BullMQ does. True when it added one.
  wakeWorkers(q): once after the last job of the call, pushes the new ids on the queue's list in
    the order they came (one LPUSH for all, as many LPUSHes one by one would) and sets the marker.

  Needs `local rcall = redis.call`.
]]
local QUEUE_KEY_NAMES = {'wait', 'meta', 'id', 'active', 'events', 'marker'}
local QUEUE_KEYS = #QUEUE_KEY_NAMES
-- The n-th key of the queue whose group of keys follows KEYS[base].
local function queueKey(base, n) return KEYS[base + n] end

local function newQueue(base, jobKeyPrefix, opts)
  local keys = {}
  for n, name in ipairs(QUEUE_KEY_NAMES) do keys[name] = queueKey(base, n) end
  return { keys = keys, prefix = jobKeyPrefix, opts = opts, pushed = {} }
end
local function prepareQueue(q)
  if q.maxEvents then return end
  q.maxEvents = rcall('HGET', q.keys.meta, 'opts.maxLenEvents')
  if not q.maxEvents then
    q.maxEvents = 10000
    rcall('HSET', q.keys.meta, 'opts.maxLenEvents', q.maxEvents)
  end
  local attrs = rcall('HMGET', q.keys.meta, 'paused', 'concurrency')
  q.maxed = false
  if attrs[1] then
    q.maxed = true
  elseif attrs[2] and rcall('LLEN', q.keys.active) >= tonumber(attrs[2]) then
    q.maxed = true
  end
end
local function addJob(q, jobId, name, data, timestamp)
  prepareQueue(q)
  rcall('INCR', q.keys.id)
  local jobKey = q.prefix .. jobId
  if rcall('EXISTS', jobKey) == 1 then
    rcall('XADD', q.keys.events, 'MAXLEN', '~', q.maxEvents, '*', 'event', 'duplicated', 'jobId', jobId)
    return false
  end
  rcall('HSET', jobKey, 'name', name, 'data', data, 'opts', q.opts, 'timestamp', timestamp, 'delay', 0, 'priority', 0)
  rcall('XADD', q.keys.events, '*', 'event', 'added', 'jobId', jobId, 'name', name)
  q.pushed[#q.pushed + 1] = jobId
  rcall('XADD', q.keys.events, 'MAXLEN', '~', q.maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
  return true
end
local function wakeWorkers(q)
  if #q.pushed == 0 then return end
  for from = 1, #q.pushed, 1000 do rcall('LPUSH', q.keys.wait, unpack(q.pushed, from, math.min(from + 999, #q.pushed))) end
  if not q.maxed then rcall('ZADD', q.keys.marker, 0, '0') end
end
