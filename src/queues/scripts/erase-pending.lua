--[[
  Drops an enrollment's data from its pending record (`forget`): its jobs then complete without
  acting; the dedupe marker (`at`), the correlation id and the jobs' flags stay.
  Returns how many fields it removed (0 when the record is not a hash: released, or gone).
]]
local pendingKey = KEYS[1]

if redis.call('TYPE', pendingKey)['ok'] ~= 'hash' then return 0 end
local flat = redis.call('HGETALL', pendingKey)
local n = 0
for i = 1, #flat, 2 do
  if flat[i] == 'x' or string.sub(flat[i], 1, 2) == 'e:' then n = n + redis.call('HDEL', pendingKey, flat[i]) end
end
return n
