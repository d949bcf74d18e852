--[[
  acquireLeases: takes free partition leases of one actor kind, up to a limit, each with a new fencing epoch.

  Guarantees (one atomic step):
    - a lease is taken only when nobody holds it (so two processes never both win one partition);
    - the epoch handed out is larger than every epoch this counter handed out before AND larger than the floor
      (the largest epoch Postgres recorded for the partition), so a Redis that lost its keys (restart without
      persistence) still never hands out an epoch the Postgres fence has already seen;
    - the lease value "<host>|<epoch>" lets renewals and releases be compare-and-set.

  Input:
    KEYS[2i-1]  lease key of candidate i        (string, PX = ttl)
    KEYS[2i]    epoch counter of candidate i    (integer, INCR)
    ARGV[1]     host id
    ARGV[2]     lease ttl, ms
    ARGV[3]     how many leases to take at most
    ARGV[3+i]   epoch floor of candidate i (0 when Postgres has no row)

  Output: one integer per candidate: the new epoch when taken; 0 when held by another process;
          -1 when free but not taken because the limit was reached.
]]
local host, ttl, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local taken = 0
for i = 1, #KEYS / 2 do
  local lease, counter = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('EXISTS', lease) == 1 then
    out[i] = 0
  elseif taken >= limit then
    out[i] = -1
  else
    local epoch = redis.call('INCR', counter)
    local floor = tonumber(ARGV[3 + i])
    if epoch <= floor then
      epoch = floor + 1
      redis.call('SET', counter, epoch)
    end
    redis.call('SET', lease, host .. '|' .. epoch, 'PX', ttl)
    taken = taken + 1
    out[i] = epoch
  end
end
return out
