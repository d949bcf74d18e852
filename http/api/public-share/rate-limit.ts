import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { rateLimited } from '../../../runtime/errors.ts';

/**
 * A sliding-window rate limiter on Redis, so a limit holds across every web process (the original's limiter was
 * per isolate: N processes meant N times the limit). One Lua script per check, atomic, timed by the Redis server's
 * clock so that processes with skewed clocks agree on the window.
 *
 * The window is a log of hit timestamps in a sorted set: exact (no fixed-window burst of 2x at a boundary) and small
 * at these limits (at most `limit` members per key). Calls refused with 429 are not recorded, so a client that
 * keeps retrying gets in again as soon as the oldest counted hit leaves the window.
 */
const SCRIPT = `
-- KEYS[1]  sorted set of hits: score = hit time in ms (Redis clock), member = unique per hit
-- ARGV[1]  limit (hits allowed per window)
-- ARGV[2]  window length in ms
-- ARGV[3]  unique member for this hit
-- Returns {allowed (1|0), hits in window after this call, ms until a slot frees (0 when allowed)}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, count + 1, 0}
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

export interface LimitResult {
  allowed: boolean;
  count: number;
  retryAfterMs: number;
}

export async function hit(redis: Redis, key: string, limit: number, windowMs: number): Promise<LimitResult> {
  const args = [1, key, limit, windowMs, randomBytes(8).toString('hex')] as const;
  let out: [number, number, number];
  try {
    out = (await redis.evalsha(SHA, ...args)) as [number, number, number];
  } catch (err) {
    // First use on this Redis (or after SCRIPT FLUSH / failover): load it by sending the body once.
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    out = (await redis.eval(SCRIPT, ...args)) as [number, number, number];
  }
  return { allowed: out[0] === 1, count: out[1], retryAfterMs: Math.max(0, out[2]) };
}

/** Counts one call against the limit, or throws 429 RATE_LIMITED with Retry-After (seconds, rounded up). */
export async function enforce(redis: Redis, key: string, limit: number, windowMs: number, message = 'Rate limit exceeded'): Promise<void> {
  const r = await hit(redis, key, limit, windowMs);
  if (!r.allowed) throw rateLimited(message, r.retryAfterMs / 1000);
}
