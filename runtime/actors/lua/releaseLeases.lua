--[[
  releaseLeases: gives leases up at once (graceful hand-off or after being fenced), compare-and-delete.

  Guarantees: deletes a lease only while it carries this owner's exact value, so a process can never release a
  lease another process has taken since. The epoch counter is kept (epochs only grow).

  Input:
    KEYS[i]  lease key i
    ARGV[i]  expected value of lease i

  Output: number of leases deleted.
]]
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
return n
