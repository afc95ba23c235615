--[[
  Packs a finished trace's fields (or its call details') into its packed field (compactor.ts):
  replaces the fields by the packed value only if none changed since they were read (the packed
  value as read, the others still there), so a forget, an expiry or another packer in between
  leaves the hash alone. The hash is written anew: Redis does not shrink a hash's encoding on HDEL.
  Returns 1 when packed, 0 when left alone.
]]
local hashKey = KEYS[1]                   -- a trace, or its call details (a hash)
local pieceCount = tonumber(ARGV[1])      -- n: the new packed value comes in n pieces, ARGV[2..n+1]
local function pieceAt(i) return ARGV[1 + i] end
local packedAsRead = ARGV[pieceCount + 2] -- the packed value read with the fields (or '')
local FIRST_FIELD = pieceCount + 3        -- ARGV[n+3..]: the live fields packed in
local fieldCount = #ARGV - FIRST_FIELD + 1
local function fieldAt(i) return ARGV[FIRST_FIELD + i - 1] end
local function fields() return unpack(ARGV, FIRST_FIELD) end
-- packing.ts PACKED_FIELD: the packed value's field, or with its pieces' numbers (z0, z1, …) the pieces'.
local PACKED_FIELD = 'z'

if redis.call('EXISTS', hashKey) == 0 then return 0 end
local was, pieces = redis.call('HGET', hashKey, PACKED_FIELD), {PACKED_FIELD}
if not was then
  local parts = {}
  pieces = {}
  while true do
    local piece = redis.call('HGET', hashKey, PACKED_FIELD .. #pieces)
    if not piece then break end
    parts[#parts + 1] = piece
    pieces[#pieces + 1] = PACKED_FIELD .. #pieces
  end
  was = table.concat(parts)
end
if was ~= packedAsRead then return 0 end
for i = 1, fieldCount do
  if redis.call('HEXISTS', hashKey, fieldAt(i)) == 0 then return 0 end
end
local ttl = redis.call('PTTL', hashKey)
if #pieces > 0 then redis.call('HDEL', hashKey, unpack(pieces)) end
if fieldCount > 0 then redis.call('HDEL', hashKey, fields()) end
local rest = redis.call('HGETALL', hashKey)
redis.call('DEL', hashKey)
for i = 1, pieceCount do rest[#rest + 1] = PACKED_FIELD .. (i - 1); rest[#rest + 1] = pieceAt(i) end
redis.call('HSET', hashKey, unpack(rest))
if ttl > 0 then redis.call('PEXPIRE', hashKey, ttl) end
return 1
