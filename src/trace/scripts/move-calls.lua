--[[
  Moves call details an earlier version kept in a trace out to the calls hash beside it
  (compactor.ts): fields already there stay, and a hash that was there keeps its TTL (a later
  call's). Returns 1.
]]
local callsKey = KEYS[1]
local ttlMs = ARGV[1]                     -- the calls hash's TTL when it is new
local FIRST_PAIR = 2                      -- ARGV[2..]: field, value pairs
local function pairFrom(i) return ARGV[i], ARGV[i + 1] end

local fresh = redis.call('EXISTS', callsKey) == 0
for i = FIRST_PAIR, #ARGV, 2 do redis.call('HSETNX', callsKey, pairFrom(i)) end
if fresh then redis.call('PEXPIRE', callsKey, ttlMs) end
return 1
