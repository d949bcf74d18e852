import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthCache, connectAuthCache } from '../../runtime/auth/cache.ts';
import type { Principal } from '../../runtime/auth/principal.ts';

// Another process's invalidation, published on its own connection, must be applied here by the time a barrier
// started after the PUBLISH completed resolves: what makes "the next request on another server" exact.
const url = process.env.REDIS_URL!;
const conns: Redis[] = [];
const open = () => {
  const r = new Redis(url);
  conns.push(r);
  return r;
};
afterAll(() => conns.forEach((c) => c.disconnect()));

const principal: Principal = { userId: 'u1', via: 'pat', scopes: '*', isServerAdmin: false };

describe('auth invalidation barrier', () => {
  it('applies every invalidation published before it was called', async () => {
    const channel = `test:auth:${randomBytes(4).toString('hex')}`;
    const cache = new AuthCache(60_000);
    const sub = open();
    const bus = connectAuthCache(cache, sub, open(), channel);
    await bus.subscribed;
    await new Promise<void>((r) => (sub.status === 'ready' ? r() : sub.once('ready', () => r())));
    const other = open();
    for (let i = 0; i < 300; i++) {
      const key = `pat:${i}`;
      cache.set(key, { principal, expiresAt: null }, cache.epoch);
      // Published by "another process": this cache learns of it only through its subscriber connection.
      await other.publish(channel, JSON.stringify({ t: 'key', key }));
      await bus.barrier();
      expect(cache.get(key), `round ${i}`).toBeUndefined();
    }
  });

  it('resolves when the subscriber is not connected (its reconnection empties the cache instead)', async () => {
    const cache = new AuthCache(60_000);
    const sub = open();
    const bus = connectAuthCache(cache, sub, open(), `test:auth:${randomBytes(4).toString('hex')}`);
    await bus.subscribed;
    sub.disconnect();
    cache.set('pat:x', { principal, expiresAt: null }, cache.epoch);
    await bus.barrier();
    expect(cache.get('pat:x')).toMatchObject({ principal });
  });
});
