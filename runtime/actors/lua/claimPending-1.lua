--[[
  claimPending: makes the partition owner the consumer of every command other consumers were handed but never
  acknowledged (a dead, fenced or departed previous owner), and creates the consumer group when it is missing
  (first use, or a Redis that lost it). The owner's own pending entries are read with XREADGROUP ... 0 instead.

  Guarantees (one atomic step per call):
    - every claimed entry moves to this consumer's pending list, so it is acknowledged once it is applied;
    - entries already deleted from the stream are dropped from pending lists by XCLAIM, never returned;
    - a foreign consumer left with nothing pending is deleted in the same step, so no command delivered to it can
      be lost by the deletion (XGROUP DELCONSUMER drops a consumer's pending entries).

  Input:
    KEYS[1]  partition inbox stream
    ARGV[1]  group name
    ARGV[2]  this consumer
    ARGV[3]  most entries to claim in this call (the caller repeats while the limit is reached)

  Output: claimed entries as XCLAIM returns them ({id, {field, value, ...}}), not necessarily in id order.
]]
local stream, group, me, limit = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
pcall(redis.call, 'XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
local summary = redis.call('XPENDING', stream, group)
local out = {}
if summary[1] == 0 or not summary[4] then return out end
for _, c in ipairs(summary[4]) do
  local consumer = c[1]
  if consumer ~= me and #out < limit then
    local pending = redis.call('XPENDING', stream, group, '-', '+', limit - #out, consumer)
    local ids = {}
    for _, p in ipairs(pending) do ids[#ids + 1] = p[1] end
    for i = 1, #ids, 200 do
      local claimed = redis.call('XCLAIM', stream, group, me, 0, unpack(ids, i, math.min(i + 199, #ids)))
      for _, e in ipairs(claimed) do out[#out + 1] = e end
    end
    if #redis.call('XPENDING', stream, group, '-', '+', 1, consumer) == 0 then
      redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer)
    end
  end
end
return out
