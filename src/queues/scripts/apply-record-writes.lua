--[[
  Performs record writes on their own, in one call: records written outside an intake script (a
  quarantined delivery's trace, record-write.ts applyRecordWrites). Their keys travel inside the
  writes, not as KEYS (as in the intake's script, where the queues' KEYS place the call).
]]
local writes = ARGV[1]    -- the writes, as record-write.ts writeArgs encodes them (includes/record-writes)

local rcall = redis.call
--- @include "includes/record-writes"

applyWrites(writes)
