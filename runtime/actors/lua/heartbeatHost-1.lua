--[[
  heartbeatHost: records that a host of an actor kind is alive (or leaves), drops hosts that stopped beating, and
  returns the live hosts, from which each host computes its fair share of partitions (ceil(P / live)).

  Guarantees: liveness is judged on the Redis clock (TIME), so hosts with skewed clocks agree on who is alive.

  Input:
    KEYS[1]  sorted set of hosts, score = liveness deadline (ms)
    ARGV[1]  host id
    ARGV[2]  liveness ttl, ms
    ARGV[3]  "1" to beat, "0" to leave

  Output: live host ids, in id order.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)
