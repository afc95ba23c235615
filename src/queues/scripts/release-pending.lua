--[[
  A job of an accepted enrollment is done for good (pending-events.ts PendingEvents.done): its flag
  leaves the enrollment's pending record. When it was the last job's, the event's final record (its
  trace header) is written, the enrollment's data goes, and a plain dedupe marker (the time it came)
  stays for the rest of the dedupe window.
  Returns 0: nothing held for that job; 1: another job still to finish; 2: it was the last, the
  data is gone.
]]
local pendingKey = KEYS[1]          -- the pending record (a hash; a plain marker once released)
local queue = ARGV[1]               -- the queue whose job is done (its flag is q:<queue>)
local dedupeTtlSeconds = ARGV[2]    -- DEDUPE_TTL_SECONDS, from when the event came
local nowMs = ARGV[3]
local finalRecord = ARGV[4]         -- the event's final record, as record-write.ts writeArgs encodes it

local rcall = redis.call
--- @include "includes/record-writes"

if rcall('TYPE', pendingKey)['ok'] ~= 'hash' then return 0 end
if rcall('HDEL', pendingKey, 'q:' .. queue) == 0 then return 0 end
local at
local flat = rcall('HGETALL', pendingKey)
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 2) == 'q:' then return 1 end
  if flat[i] == 'at' then at = flat[i + 1] end
end
applyWrites(finalRecord)
rcall('DEL', pendingKey)
local left = at and (tonumber(at) + tonumber(dedupeTtlSeconds) * 1000 - tonumber(nowMs)) or 0
if left > 0 then rcall('SET', pendingKey, at, 'PX', math.floor(left)) end
return 2
