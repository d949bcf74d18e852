import type { Redis } from 'ioredis';
import type { Principal } from './principal.ts';

/**
 * Per-process cache of resolved credentials, so that a PAT request costs no Postgres query on the hot path.
 *
 * Correctness rests on invalidation, not on the TTL: whoever deletes a token, ends a session or suspends a user
 * publishes on `auth:invalidate`, and every process drops the entry when the message arrives (and drops everything
 * when its subscriber reconnects, since messages sent while it was away are lost). The TTL only bounds memory and
 * the cost of a missed message.
 *
 * A lookup that started before an invalidation must not re-insert the stale answer after it: `epoch` counts
 * invalidations, and `set` refuses an answer read under an older epoch.
 */
export interface CachedCredential {
  principal: Principal;
  /** Token expiry (epoch ms); an expired token stops working at that instant even while cached. */
  expiresAt: number | null;
  cachedUntil: number;
}

export type Invalidation = { t: 'key'; key: string } | { t: 'user'; userId: string } | { t: 'all' };

export class AuthCache {
  private readonly entries = new Map<string, CachedCredential>();
  private readonly misses = new Map<string, number>();
  private epochValue = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
    private readonly missTtlMs = 5_000,
  ) {}

  get epoch(): number {
    return this.epochValue;
  }

  get(key: string, now = Date.now()): CachedCredential | 'miss' | undefined {
    const e = this.entries.get(key);
    if (e) {
      if (e.cachedUntil > now) return e;
      this.entries.delete(key);
    }
    const m = this.misses.get(key);
    if (m !== undefined) {
      if (m > now) return 'miss';
      this.misses.delete(key);
    }
    return undefined;
  }

  set(key: string, value: Omit<CachedCredential, 'cachedUntil'>, readAtEpoch: number, now = Date.now()): void {
    if (readAtEpoch !== this.epochValue || this.ttlMs === 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { ...value, cachedUntil: now + this.ttlMs });
  }

  /** Remembers briefly that a credential does not exist, so a flood of garbage tokens does not become a flood of queries. */
  setMiss(key: string, readAtEpoch: number, now = Date.now()): void {
    if (readAtEpoch !== this.epochValue) return;
    if (this.misses.size >= this.maxEntries) this.misses.clear();
    this.misses.set(key, now + this.missTtlMs);
  }

  apply(inv: Invalidation): void {
    this.epochValue++;
    if (inv.t === 'all') {
      this.entries.clear();
      this.misses.clear();
    } else if (inv.t === 'key') {
      this.entries.delete(inv.key);
      this.misses.delete(inv.key);
    } else {
      for (const [k, v] of this.entries) if (v.principal.userId === inv.userId) this.entries.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Longest a request waits for the barrier before it trusts the cache as it is (Redis slow or going away). */
const BARRIER_TIMEOUT_MS = 100;

/**
 * Wires a cache to the Redis invalidation channel. `publish` applies locally first, then tells every other process.
 *
 * `barrier` makes "the next request" exact: a request about to use a cached credential first waits for a PING sent on
 * the subscriber connection after it arrived. Redis answers a connection's commands in order and had queued the
 * invalidation message on that connection when the PUBLISH that sent it completed, so any invalidation published
 * before the request was made (the DELETE answered, then the client asked another process) is applied before the
 * PONG comes back. Without it the message could still sit unread next to the request in the same poll of the event
 * loop. Requests of one event-loop turn share one PING (sent on the next turn, so after all of them arrived); the
 * cost is one round trip to Redis per request's latency, and ~one PING per turn for Redis. When the subscriber is
 * not connected there is nothing to wait for: messages sent meanwhile are lost and its reconnection empties the cache.
 */
export function connectAuthCache(cache: AuthCache, sub: Redis, pub: Redis, channel: string) {
  sub.on('message', (ch: string, msg: string) => {
    if (ch !== channel) return;
    try {
      cache.apply(JSON.parse(msg) as Invalidation);
    } catch {
      cache.apply({ t: 'all' });
    }
  });
  // Anything published while the subscriber was disconnected is lost; start from an empty cache instead.
  sub.on('ready', () => cache.apply({ t: 'all' }));
  const subscribed = sub.subscribe(channel);
  let next: Promise<void> | null = null;
  return {
    subscribed,
    barrier(): Promise<void> {
      if (sub.status !== 'ready') return Promise.resolve();
      next ??= new Promise<void>((resolve) => {
        setImmediate(() => {
          next = null;
          const timer = setTimeout(resolve, BARRIER_TIMEOUT_MS);
          const done = () => {
            clearTimeout(timer);
            resolve();
          };
          sub.ping().then(done, done);
        });
      });
      return next;
    },
    async publish(inv: Invalidation): Promise<void> {
      cache.apply(inv);
      await pub.publish(channel, JSON.stringify(inv));
    },
  };
}
