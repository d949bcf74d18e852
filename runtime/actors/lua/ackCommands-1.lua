--[[
  ackCommands: acknowledges applied commands and deletes them from the partition inbox, so the stream holds only
  commands not yet applied (no trimming by length, which could drop unapplied ones).

  Guarantees: runs after the commands' transaction committed; ack and delete happen together, so an entry is never
  deleted while still pending nor left pending once deleted.

  Input:
    KEYS[1]   partition inbox stream
    ARGV[1]   group name
    ARGV[2..] entry ids

  Output: number of entries acknowledged.
]]
local n = 0
for i = 2, #ARGV, 200 do
  local chunk = { unpack(ARGV, i, math.min(i + 199, #ARGV)) }
  n = n + redis.call('XACK', KEYS[1], ARGV[1], unpack(chunk))
  redis.call('XDEL', KEYS[1], unpack(chunk))
end
return n
