import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scripts } from '../../runtime/actors/scripts.ts';
import { GROUP, replayPartition } from '../../runtime/actors/inbox.ts';
import { fnv1a32, partitionOf } from '../../runtime/actors/partitions.ts';

/**
 * Storage-layout tests (BullMQ's *.redis.test.ts): each Lua script's atomic step against a real Redis, on keys of a
 * random prefix, independent of the host that uses them. Behaviour through the host is in the other files.
 */
let r: Redis;
const pfx = `scripts-${randomBytes(4).toString('hex')}:`;

beforeAll(() => {
  r = new Redis(process.env.REDIS_URL!);
});

afterAll(async () => {
  const keys = await r.keys(`${pfx}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});

describe('acquireLeases', () => {
  it('takes only free leases, up to the limit, with epochs above both the counter and the Postgres floor', async () => {
    const c = (i: number, floor = 0) => ({ lease: `${pfx}l${i}`, counter: `${pfx}e${i}`, floor });
    await r.set(`${pfx}l1`, 'other|7');
    await r.set(`${pfx}e2`, '4');
    const got = await scripts.acquireLeases(r, [c(0), c(1), c(2), c(3, 41), c(4)], 'me', 5_000, 3);
    // l0: counter 0 -> 1; l1 held; l2: counter 4 -> 5; l3: counter would be 1, floor 41 -> 42; l4: over the limit.
    expect(got).toEqual([1, 0, 5, 42, -1]);
    expect(await r.get(`${pfx}l3`)).toBe('me|42');
    expect(await r.get(`${pfx}e3`)).toBe('42');
    expect(await r.pttl(`${pfx}l0`)).toBeGreaterThan(4_000);
    expect(await r.get(`${pfx}l1`)).toBe('other|7');
  });
});

describe('renewLeases / releaseLeases', () => {
  it('extend and delete a lease only while it carries the exact owner value', async () => {
    await r.set(`${pfx}r0`, 'me|3', 'PX', 1_000);
    await r.set(`${pfx}r1`, 'me|2', 'PX', 1_000); // re-taken at a newer epoch by someone else in between
    const ok = await scripts.renewLeases(r, [
      { key: `${pfx}r0`, value: 'me|3' },
      { key: `${pfx}r1`, value: 'me|1' },
      { key: `${pfx}r2`, value: 'me|1' },
    ], 60_000);
    expect(ok).toEqual([true, false, false]);
    expect(await r.pttl(`${pfx}r0`)).toBeGreaterThan(50_000);
    expect(await r.pttl(`${pfx}r1`)).toBeLessThanOrEqual(1_000);
    expect(await scripts.releaseLeases(r, [{ key: `${pfx}r0`, value: 'me|3' }, { key: `${pfx}r1`, value: 'me|1' }])).toBe(1);
    expect(await r.exists(`${pfx}r0`)).toBe(0);
    expect(await r.get(`${pfx}r1`)).toBe('me|2');
  });
});

describe('heartbeatHost', () => {
  it('lists live hosts and drops those whose deadline passed (Redis clock)', async () => {
    const key = `${pfx}hosts`;
    await r.zadd(key, 1, 'long-dead');
    expect(await scripts.heartbeatHost(r, key, 'a', 5_000, true)).toEqual(['a']);
    expect(await scripts.heartbeatHost(r, key, 'b', 5_000, true)).toEqual(['a', 'b']);
    expect(await scripts.heartbeatHost(r, key, 'a', 5_000, false)).toEqual(['b']);
  });
});

describe('claimPending / ackCommands', () => {
  it('moves a departed consumer’s unacknowledged commands to the new owner, then deletes the emptied consumer', async () => {
    const stream = `${pfx}inbox`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await r.xadd(stream, '*', 'c', `c${i}`))!);
    await r.call('XGROUP', 'CREATE', stream, GROUP, '0');
    await r.call('XREADGROUP', 'GROUP', GROUP, 'old', 'COUNT', 3, 'STREAMS', stream, '>'); // c0..c2 pending on "old"
    await scripts.ackCommands(r, stream, GROUP, [ids[0]!]); // c0 was applied and acknowledged before the crash
    await r.xdel(stream, ids[1]!); // c1 deleted (e.g. trimmed) while pending: never returned, dropped from the PEL

    const delivered: Array<{ id: string; claimed: boolean }> = [];
    await replayPartition(r, stream, 'new', 100, (entries, claimed) => entries.forEach(([id]) => delivered.push({ id, claimed })));
    // c2 replayed as claimed (check first), then the backlog c3, c4 as fresh deliveries, in stream order.
    expect(delivered).toEqual([
      { id: ids[2], claimed: true },
      { id: ids[3], claimed: false },
      { id: ids[4], claimed: false },
    ]);
    const consumers = (await r.call('XINFO', 'CONSUMERS', stream, GROUP)) as unknown[][];
    expect(consumers.map((c) => c[c.indexOf('name') + 1])).toEqual(['new']);
    // Acknowledged entries are deleted from the stream: it holds only what is not applied yet.
    await scripts.ackCommands(r, stream, GROUP, [ids[2]!, ids[3]!, ids[4]!]);
    expect(await r.xlen(stream)).toBe(0);
    expect(((await r.call('XPENDING', stream, GROUP)) as unknown[])[0]).toBe(0);
  });

  it('creates a missing consumer group (a Redis that lost it) and replays what the stream holds', async () => {
    const stream = `${pfx}fresh`;
    await r.xadd(stream, '*', 'c', 'x');
    const delivered: string[] = [];
    await replayPartition(r, stream, 'me', 100, (entries) => entries.forEach(([, f]) => delivered.push(f![1]!)));
    expect(delivered).toEqual(['x']);
  });
});

describe('partitionOf', () => {
  it('is FNV-1a over UTF-8, stable across processes and releases', () => {
    // Reference values of 32-bit FNV-1a.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Non-ASCII ids hash their UTF-8 bytes, as TextEncoder produces them.
    const bytesHash = (s: string) => {
      let h = 0x811c9dc5;
      for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193);
      return h >>> 0;
    };
    for (const s of ['é', '日本語', '🙂x', 'a\ud800b']) expect(fnv1a32(s)).toBe(bytesHash(s));
  });

  it('spreads random ids evenly over the partitions', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[partitionOf(randomBytes(6).toString('hex'), 64)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });
});
