--[[
  Records the version of a course written to HubSpot (course-versions.ts commit), only while the
  caller's lease on the course's lock is held, and never moving the instant backwards.
  Returns 1 when recorded, 0 when the lease was lost or a newer version is recorded.
]]
local lockKey = KEYS[1]                    -- the course's lock
local versionKey = KEYS[2]                 -- the course's applied version (a hash)
local token = ARGV[1]                      -- the lease's token
local at = ARGV[2]                         -- the version's instant (ms)
local digest = ARGV[3]
local planIds = ARGV[4]                    -- JSON list
local name = ARGV[5]                       -- the course name

if redis.call('GET', lockKey) ~= token then return 0 end
local recorded = redis.call('HGET', versionKey, 'at')
if recorded and tonumber(recorded) > tonumber(at) then return 0 end
redis.call('HSET', versionKey, 'at', at, 'digest', digest, 'planIds', planIds, 'name', name)
return 1
