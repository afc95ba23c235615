import { QueueKeys } from 'bullmq';

/**
 * The one place course-sync writes BullMQ's job format itself (the intake's script adds an
 * enrollment's two jobs together with its dedupe marker and trace, in one call). It mirrors what
 * BullMQ's `addStandardJob` script does for a job with its own id, no delay, no priority, no parent
 * and no deduplication: bump the id counter, store the job hash (name, data, opts, timestamp, delay,
 * priority), log `added`, push the id on `wait` (a paused queue's jobs wait there too since BullMQ 6),
 * log `waiting`, and set the marker that wakes workers unless the queue is paused or at its global
 * concurrency. Written against BullMQ 6.7, the version the lockfile pins; test/bullmq-add.test.ts compares its result with what the
 * installed BullMQ's own `Queue.add` writes, key by key, and fails when BullMQ's format moves.
 */

/** The queue keys the script needs, in the order `BULLMQ_ADD_LUA` reads them from KEYS. */
const QUEUE_KEY_NAMES = ['wait', 'meta', 'id', 'active', 'events', 'marker'] as const;

/** How many KEYS each queue takes. */
export const KEYS_PER_QUEUE = QUEUE_KEY_NAMES.length;

/** The KEYS of one queue, for `addJob`'s `base` (see BULLMQ_ADD_LUA). */
export function bullmqQueueKeys(prefix: string, queue: string): string[] {
  const keys = new QueueKeys(prefix).getKeys(queue);
  return QUEUE_KEY_NAMES.map((name) => keys[name]!);
}

/** Prefix of a job's hash key in `queue` (`<prefix>:<queue>:`; the job id follows). */
export function bullmqJobKeyPrefix(prefix: string, queue: string): string {
  return new QueueKeys(prefix).toKey(queue, '');
}

/**
 * Lua functions for a script: `newQueue(base, jobKeyPrefix, opts)` describes a queue whose 6 KEYS
 * start after KEYS[base]; `addJob(q, jobId, name, data, timestamp)` adds a job (a job id already
 * there is logged `duplicated` and left alone, as BullMQ does; true when it added one); `wakeWorkers(q)`, once after the
 * last job of the call, pushes the new ids on the queue's list in the order they came (one LPUSH
 * for all, as many LPUSHes one by one would) and sets the marker. Needs `local rcall = redis.call`.
 */
export const BULLMQ_ADD_LUA = `
local function newQueue(base, jobKeyPrefix, opts)
  return { base = base, prefix = jobKeyPrefix, opts = opts, pushed = {} }
end
local function prepareQueue(q)
  if q.maxEvents then return end
  local meta = KEYS[q.base + 2]
  q.maxEvents = rcall('HGET', meta, 'opts.maxLenEvents')
  if not q.maxEvents then
    q.maxEvents = 10000
    rcall('HSET', meta, 'opts.maxLenEvents', q.maxEvents)
  end
  local attrs = rcall('HMGET', meta, 'paused', 'concurrency')
  q.maxed = false
  if attrs[1] then
    q.maxed = true
  elseif attrs[2] and rcall('LLEN', KEYS[q.base + 4]) >= tonumber(attrs[2]) then
    q.maxed = true
  end
end
local function addJob(q, jobId, name, data, timestamp)
  prepareQueue(q)
  local events = KEYS[q.base + 5]
  rcall('INCR', KEYS[q.base + 3])
  local jobKey = q.prefix .. jobId
  if rcall('EXISTS', jobKey) == 1 then
    rcall('XADD', events, 'MAXLEN', '~', q.maxEvents, '*', 'event', 'duplicated', 'jobId', jobId)
    return false
  end
  rcall('HSET', jobKey, 'name', name, 'data', data, 'opts', q.opts, 'timestamp', timestamp, 'delay', 0, 'priority', 0)
  rcall('XADD', events, '*', 'event', 'added', 'jobId', jobId, 'name', name)
  q.pushed[#q.pushed + 1] = jobId
  rcall('XADD', events, 'MAXLEN', '~', q.maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
  return true
end
local function wakeWorkers(q)
  if #q.pushed == 0 then return end
  for from = 1, #q.pushed, 1000 do rcall('LPUSH', KEYS[q.base + 1], unpack(q.pushed, from, math.min(from + 999, #q.pushed))) end
  if not q.maxed then rcall('ZADD', KEYS[q.base + 6], 0, '0') end
end
`;
