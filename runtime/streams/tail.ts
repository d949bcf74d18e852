import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import type { StreamEvent } from './types.ts';

const APPEND_TAIL = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'lua', 'append-tail.lua'), 'utf8');

type TailRedis = Redis & { takosAppendTail(tail: string, channel: string, maxLen: number, ttl: number, ...pairs: Array<string | number>): Promise<number> };

/**
 * The recent tail of each entity's events in Redis, and the publish step of the fan-out (lua/append-tail.lua).
 * A tail of ~1,000 events serves nearly every resume without touching Postgres; older resumes fall back to it.
 */
export class EventTail {
  private readonly redis: TailRedis;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly maxLen = 1000,
    private readonly ttlSeconds = 24 * 3600,
  ) {
    if (!('takosAppendTail' in redis)) redis.defineCommand('takosAppendTail', { numberOfKeys: 2, lua: APPEND_TAIL });
    this.redis = redis as TailRedis;
  }

  /** After the batch is committed to Postgres: append to the tail and publish. Idempotent per event id. */
  append(kind: string, id: string, events: StreamEvent[]): Promise<number> {
    if (events.length === 0) return Promise.resolve(0);
    const pairs: Array<string | number> = [];
    for (const e of events) pairs.push(e.id, JSON.stringify(e));
    return this.redis.takosAppendTail(this.keys.eventTail(kind, id), this.keys.eventChannel(kind, id), this.maxLen, this.ttlSeconds, ...pairs);
  }

  /**
   * Events after `afterId` from the tail, or null when the tail cannot answer completely (empty, expired, or
   * trimmed past `afterId + 1`), in which case the caller reads Postgres.
   */
  async readAfter(kind: string, id: string, afterId: number, limit: number): Promise<StreamEvent[] | null> {
    const key = this.keys.eventTail(kind, id);
    const [range, first] = await Promise.all([
      this.redis.xrange(key, `(${afterId}-1`, '+', 'COUNT', limit),
      this.redis.xrange(key, '-', '+', 'COUNT', 1),
    ]);
    const firstEntry = first[0];
    if (!firstEntry) return null;
    const firstId = Number(firstEntry[0].split('-')[0]);
    if (firstId > afterId + 1) return null;
    // A writer that died between commit and publish leaves a hole in the tail; only a contiguous run is an answer.
    const events = range.map(([, fields]) => JSON.parse(fields[1]!) as StreamEvent);
    for (let i = 0, expect = afterId + 1; i < events.length; i++, expect++) if (events[i]!.id !== expect) return i === 0 ? null : events.slice(0, i);
    return events;
  }
}
