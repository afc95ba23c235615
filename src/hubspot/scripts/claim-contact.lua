--[[
  After a write of an address to a HubSpot contact (contact-courses.ts claim): the record notes the
  contact id when it knew the contact already, when the write created it, or when an earlier
  version had seeded it; otherwise the caller must read the contact first. An earlier version's
  owner key of the contact is read, and removed when it names this address.
  Returns {'known' | 'check', the other address an earlier version wrote the contact under, or ''}.
]]
local contactKey = KEYS[1]                 -- the address's course record
local ownerKey = KEYS[2]                   -- the contact's owner key of earlier versions
local ttlSeconds = ARGV[1]
local contactId = ARGV[2]
local address = ARGV[3]
local created = ARGV[4]                    -- '1' when this write created the contact

local id = redis.call('HGET', contactKey, 'id')
local owner = redis.call('GET', ownerKey)
local other = ''
if owner == address then redis.call('DEL', ownerKey) elseif owner then other = owner end
if id == contactId then return {'known', other} end
if created == '1' or (not id and redis.call('HEXISTS', contactKey, 'seeded') == 1) then
  redis.call('HSET', contactKey, 'id', contactId)
  redis.call('HDEL', contactKey, 'seeded')
  redis.call('EXPIRE', contactKey, ttlSeconds)
  return {'known', other}
end
return {'check', other}
