--[[
  Folds one address's course record into another's, for good (contact-courses.ts fold): two
  addresses of one HubSpot contact, written under the kept one from now on. The folded address
  becomes an alias of the kept one.
  Returns the kept record (the whole hash), or false when there was nothing to fold.
]]
local fromKey = KEYS[1]                    -- the record folded in (deleted)
local toKey = KEYS[2]                      -- the record kept
local fromAliasKey = KEYS[3]               -- the alias key of the address folded in
local toAliasKey = KEYS[4]                 -- the alias key of the address kept (deleted: it is no alias now)
local ownerKey = KEYS[5]                   -- the contact's owner key of earlier versions (deleted)
local ttlSeconds = ARGV[1]
local keptAddress = ARGV[2]
local contactId = ARGV[3]                  -- the contact to note in the kept record (its value merged in), or ''
local ifRecorded = ARGV[4]                 -- '1': do nothing when there is no record to fold in
local FIRST_COURSE_ID = 5                  -- ARGV[5..]: more course ids for the kept record
local courseIdCount = #ARGV - FIRST_COURSE_ID + 1
local function courseIdAt(i) return ARGV[FIRST_COURSE_ID + i - 1] end

if ifRecorded == '1' and redis.call('EXISTS', fromKey) == 0 then return false end
local from = redis.call('HGETALL', fromKey)
local name
for i = 1, #from, 2 do
  if from[i] == 'lastCourseName' then name = from[i + 1] end
end
for i = 1, #from, 2 do
  local f, v = from[i], from[i + 1]
  if string.sub(f, 1, 2) == 'c:' then redis.call('HSET', toKey, f, '1')
  elseif f == 'last' then
    local cur = redis.call('HGET', toKey, 'last')
    if not cur or cjson.decode(cur).at <= cjson.decode(v).at then
      redis.call('HSET', toKey, 'last', v)
      if name then redis.call('HSET', toKey, 'lastCourseName', name) else redis.call('HDEL', toKey, 'lastCourseName') end
    end
  end
end
for i = 1, courseIdCount do redis.call('HSET', toKey, 'c:' .. courseIdAt(i), '1') end
if contactId ~= '' then
  redis.call('HSET', toKey, 'id', contactId)
  redis.call('HDEL', toKey, 'seeded')
end
redis.call('DEL', fromKey, toAliasKey, ownerKey)
redis.call('SET', fromAliasKey, keptAddress, 'EX', ttlSeconds)
redis.call('EXPIRE', toKey, ttlSeconds)
return redis.call('HGETALL', toKey)
