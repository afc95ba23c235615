--[[
  applyWrites(json): performs the record writes record-write.ts `writeArgs` encoded, a JSON list of
  writes, each a list:
    {'H', key, ttl seconds, field, value, more fields and values...}: a hash set only if it has no
      `field` yet (a record kept from an earlier delivery stays as it was); its TTL set either way.
    {'F', key, expire at (Unix s), field, member}: `member` added to the space-separated list in
      hash field `field` unless there already; the hash expires whole at `expire at`.
    {'L', key, expire at (Unix s), member}: `member` pushed on a list expiring whole at `expire at`.

  Needs `local rcall = redis.call`.
]]
local function applyWrites(json)
  for _, w in ipairs(cjson.decode(json)) do
    local kind, key = w[1], w[2]
    if kind == 'H' then
      local ttlSeconds, field, value = w[3], w[4], w[5]
      if rcall('HSETNX', key, field, value) == 1 and #w > 5 then rcall('HSET', key, unpack(w, 6)) end
      rcall('EXPIRE', key, ttlSeconds)
    else
      local expireAt = w[3]
      if kind == 'F' then
        local field, member = w[4], w[5]
        -- Usually the address's first entry of the day: one command; else appended unless there.
        if rcall('HSETNX', key, field, member) == 0 then
          local cur = rcall('HGET', key, field)
          if not string.find(' ' .. cur .. ' ', ' ' .. member .. ' ', 1, true) then rcall('HSET', key, field, cur .. ' ' .. member) end
        end
      else
        local member = w[4]
        rcall('RPUSH', key, member)
      end
      rcall('EXPIREAT', key, expireAt)
    end
  end
end
