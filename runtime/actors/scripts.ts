import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/**
 * Typed calls of the Lua scripts in ./lua (one script per atomic state change; each file's header says what it does,
 * what it guarantees, and every KEYS/ARGV entry). Scripts run by EVALSHA with a fallback to EVAL on NOSCRIPT (a
 * restarted Redis), without defining commands on the shared connection.
 */
const LUA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lua');

class Script {
  readonly source: string;
  readonly sha: string;
  constructor(file: string) {
    this.source = readFileSync(path.join(LUA_DIR, file), 'utf8');
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }
  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const acquire = new Script('acquireLeases.lua');
const renew = new Script('renewLeases.lua');
const release = new Script('releaseLeases.lua');
const heartbeat = new Script('heartbeatHost-1.lua');
const claim = new Script('claimPending-1.lua');
const ack = new Script('ackCommands-1.lua');

/** A raw stream entry as Redis returns it: [id, [field, value, ...]]. */
export type RawEntry = [string, string[]];

export const scripts = {
  /** Epoch per candidate: > 0 taken, 0 held by another process, -1 free but over the limit. */
  async acquireLeases(
    redis: Redis,
    candidates: Array<{ lease: string; counter: string; floor: number }>,
    host: string,
    ttlMs: number,
    limit: number,
  ): Promise<number[]> {
    if (candidates.length === 0) return [];
    const keys = candidates.flatMap((c) => [c.lease, c.counter]);
    const out = (await acquire.run(redis, keys, [host, ttlMs, limit, ...candidates.map((c) => c.floor)])) as number[];
    return out.map(Number);
  },

  /** true per lease still held (and extended). */
  async renewLeases(redis: Redis, leases: Array<{ key: string; value: string }>, ttlMs: number): Promise<boolean[]> {
    if (leases.length === 0) return [];
    const out = (await renew.run(redis, leases.map((l) => l.key), [ttlMs, ...leases.map((l) => l.value)])) as number[];
    return out.map((v) => Number(v) === 1);
  },

  async releaseLeases(redis: Redis, leases: Array<{ key: string; value: string }>): Promise<number> {
    if (leases.length === 0) return 0;
    return Number(await release.run(redis, leases.map((l) => l.key), leases.map((l) => l.value)));
  },

  /** Live host ids after beating (or leaving). */
  async heartbeatHost(redis: Redis, hostsKey: string, host: string, ttlMs: number, alive: boolean): Promise<string[]> {
    return (await heartbeat.run(redis, [hostsKey], [host, ttlMs, alive ? '1' : '0'])) as string[];
  },

  /** Foreign consumers' pending entries, now ours (creates the group when missing). */
  async claimPending(redis: Redis, stream: string, group: string, me: string, limit: number): Promise<RawEntry[]> {
    return (await claim.run(redis, [stream], [group, me, limit])) as RawEntry[];
  },

  async ackCommands(redis: Redis, stream: string, group: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return Number(await ack.run(redis, [stream], [group, ...ids]));
  },
};
