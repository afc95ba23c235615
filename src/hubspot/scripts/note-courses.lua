--[[
  Adds course ids to an address's course record and keeps the newest "last enrollment", atomically
  (contact-courses.ts). The course name has a field of its own (`lastCourseName`; records written
  before kept it inside `last`): short values keep the hash in Redis' compact encoding, a third of
  the memory. The contact id (`id`) replaces the `seeded` mark of records written before.
  Returns the whole hash.
]]
local contactKey = KEYS[1]                 -- the address's course record (a hash)
local ttlSeconds = ARGV[1]
local lastJson = ARGV[2]                   -- the last enrollment as JSON {at, courseId}, or ''
local lastCourseName = ARGV[3]             -- its course name, or ''
local contactId = ARGV[4]                  -- the HubSpot contact, once its value is merged in; or ''
local FIRST_COURSE_ID = 5                  -- ARGV[5..]: course ids to add
local courseIdCount = #ARGV - FIRST_COURSE_ID + 1
local function courseIdAt(i) return ARGV[FIRST_COURSE_ID + i - 1] end

for i = 1, courseIdCount do redis.call('HSET', contactKey, 'c:' .. courseIdAt(i), '1') end
if lastJson ~= '' then
  local cur = redis.call('HGET', contactKey, 'last')
  if not cur or cjson.decode(cur).at <= cjson.decode(lastJson).at then
    redis.call('HSET', contactKey, 'last', lastJson)
    if lastCourseName ~= '' then redis.call('HSET', contactKey, 'lastCourseName', lastCourseName) else redis.call('HDEL', contactKey, 'lastCourseName') end
  end
end
if contactId ~= '' then
  redis.call('HSET', contactKey, 'id', contactId)
  redis.call('HDEL', contactKey, 'seeded')
end
redis.call('EXPIRE', contactKey, ttlSeconds)
return redis.call('HGETALL', contactKey)
