import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections of a process, one per job: `cmd` for ordinary commands (auto-pipelined, so concurrent requests
 * share round trips), `sub` for pub/sub (a subscribed connection can issue nothing else), and `blocking()` for each
 * consumer that blocks on XREADGROUP/BRPOP, which must never share a connection with anything else.
 */
export interface RedisConns {
  cmd: Redis;
  sub: Redis;
  blocking(name: string): Redis;
  prefix: string;
  close(): Promise<void>;
}

export function createRedis(url: string, prefix: string, extra: RedisOptions = {}): RedisConns {
  const base: RedisOptions = { maxRetriesPerRequest: 20, enableReadyCheck: true, lazyConnect: false, ...extra };
  const cmd = new Redis(url, { ...base, enableAutoPipelining: true, connectionName: 'takos-cmd' });
  const sub = new Redis(url, { ...base, connectionName: 'takos-sub' });
  const extras: Redis[] = [];
  return {
    cmd,
    sub,
    prefix,
    blocking(name: string) {
      // BullMQ and blocking reads require maxRetriesPerRequest: null (a blocked command must not be retried blindly).
      const r = new Redis(url, { ...base, maxRetriesPerRequest: null, connectionName: `takos-${name}` });
      extras.push(r);
      return r;
    },
    async close() {
      await Promise.allSettled([cmd, sub, ...extras].map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}
