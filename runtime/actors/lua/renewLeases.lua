--[[
  renewLeases: extends the leases a process still holds (compare-and-pexpire), all partitions of a kind at once.

  Guarantees: a lease is extended only while it still carries this owner's exact value "<host>|<epoch>"; a lease
  that expired, was taken by another process, or was re-taken at a newer epoch is left alone and reported lost.

  Input:
    KEYS[i]    lease key i
    ARGV[1]    lease ttl, ms
    ARGV[1+i]  expected value of lease i

  Output: one integer per lease: 1 renewed, 0 lost.
]]
local out = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1 + i] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
