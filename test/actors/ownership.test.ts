import { describe, expect, it } from 'vitest';
import { ledgerKind } from './fixtures/ledger.ts';
import { ledgerSuite, startHost, waitFor } from './helpers.ts';

/**
 * Partition ownership across processes: balanced sharing, graceful hand-off, and fencing (a process that lost its
 * partition cannot commit, and nothing it tried is written).
 */
const suite = ledgerSuite();
const host = (kind: ReturnType<typeof ledgerKind>, opts: Parameters<typeof startHost>[2] = {}) => suite.host([kind], opts);

/** Applied commands (by tag) of the actors whose id starts with `prefix`, with how often each was applied. */
const applied = (prefix: string) =>
  suite.db.kernel.sql<{ tag: string; n: number }[]>`
    SELECT tag, count(*)::int AS n FROM test_ledger_events WHERE actor_id LIKE ${prefix + '%'} AND type = 'added' GROUP BY tag`;

describe('two hosts share partitions', () => {
  it('splits the partitions evenly and disjointly, and every command is applied once wherever it is sent from', async () => {
    const kind = ledgerKind({ name: 'shared', partitions: 16 });
    const a = await host(kind);
    await waitFor(() => a.system.stats('shared').owned.length === 16, 'first host owns all');
    const b = await host(kind);
    await waitFor(() => a.system.stats('shared').owned.length === 8 && b.system.stats('shared').owned.length === 8, 'an even split after the second host joins');
    const ao = a.system.stats('shared').owned;
    const bo = b.system.stats('shared').owned;
    expect(new Set([...ao, ...bo]).size).toBe(16);
    // Redis agrees: each lease names the process that serves the partition.
    const leases = await suite.db.kernel.redis.cmd.mget(Array.from({ length: 16 }, (_, p) => suite.db.kernel.keys.actorLease('shared', p)));
    leases.forEach((v, p) => expect(v!.split('|')[0]).toBe(ao.includes(p) ? a.system.id : b.system.id));

    const sends = [];
    for (let i = 0; i < 200; i++) sends.push((i % 2 ? a : b).system.send(kind, `sh-${i % 40}`, { type: 'add', amount: 1, tag: `s${i}` }));
    await Promise.all(sends);
    const rows = await applied('sh-');
    expect(rows.length).toBe(200);
    expect(rows.every((r) => r.n === 1)).toBe(true);
  });

  it('a graceful stop hands partitions over at once (not after the lease TTL) with nothing lost', async () => {
    const kind = ledgerKind({ name: 'handoff', partitions: 8 });
    // A long TTL: if the hand-off waited for expiry, the deadline below would fail.
    const slow = { leaseTtlMs: 20_000, renewEveryMs: 5_000 };
    const a = await host(kind, slow);
    await waitFor(() => a.system.stats('handoff').owned.length === 8, 'first host owns all');
    const b = await host(kind, slow);
    await waitFor(() => a.system.stats('handoff').owned.length === 4 && b.system.stats('handoff').owned.length === 4, 'even split');
    const client = await host(kind, { hosting: false });

    let stop = false;
    const sent: Promise<unknown>[] = [];
    const pump = (async () => {
      for (let i = 0; !stop; i++) {
        sent.push(client.system.send(kind, `ho-${i % 20}`, { type: 'add', amount: 1, tag: `h${i}` }, { timeoutMs: 15_000 }));
        if (i % 10 === 9) await new Promise((r) => setImmediate(r));
      }
    })();
    await waitFor(async () => (await applied('ho-')).length > 50, 'traffic flowing');
    const t0 = Date.now();
    await b.close();
    await waitFor(() => a.system.stats('handoff').owned.length === 8, 'survivor owns all after the graceful stop', 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const atStop = (await applied('ho-')).length;
    await waitFor(async () => (await applied('ho-')).length > atStop + 50, 'traffic continues on the survivor');
    stop = true;
    await pump;
    await Promise.all(sent);
    const rows = await applied('ho-');
    expect(rows.length).toBe(sent.length);
    expect(rows.every((r) => r.n === 1)).toBe(true);
  });
});

describe('fencing', () => {
  it('refuses the commit of a process whose partition was taken at a newer epoch, and writes nothing', async () => {
    const kind = ledgerKind({ name: 'fenced', partitions: 4 });
    // Ticks far apart: after start, A does not look at Redis again on its own, so it keeps believing it owns the
    // partition after it was taken; only the Postgres fence can stop its commit.
    const a = await host(kind, { leaseTtlMs: 60_000, renewEveryMs: 20_000 });
    await waitFor(() => a.system.stats('fenced').owned.length === 4, 'host owns all');
    const id = 'f-1';
    const p = a.system.partitionOf('fenced', id);
    await a.system.send(kind, id, { type: 'add', amount: 1, tag: 'before' });

    // What another process taking over does: a newer lease in Redis, then its epoch claimed in Postgres.
    const r = suite.db.kernel.redis.cmd;
    const epoch = Number(await r.incr(suite.db.kernel.keys.actorEpoch('fenced', p)));
    await r.set(suite.db.kernel.keys.actorLease('fenced', p), `thief|${epoch}`, 'PX', 60_000);
    await suite.db.kernel.sql`UPDATE actor_partitions SET epoch = ${epoch}, owner = 'thief' WHERE kind = 'fenced' AND partition = ${p}`;

    const reply = a.system.send(kind, id, { type: 'add', amount: 10, tag: 'after' }, { commandId: 'after-1', timeoutMs: 20_000 });
    await waitFor(() => a.system.stats('fenced').fencedCommits === 1, 'the commit was fenced');
    await waitFor(() => !a.system.stats('fenced').owned.includes(p), 'the fenced host dropped the partition');
    const [st] = await suite.db.kernel.sql<{ total: string; applied: number }[]>`SELECT total, applied FROM test_ledger WHERE id = ${id}`;
    expect(st).toEqual({ total: '1', applied: 1 });
    expect((await suite.db.kernel.sql`SELECT 1 FROM actor_commands WHERE kind = 'fenced' AND command_id = 'after-1'`).length).toBe(0);
    expect((await applied('f-')).map((x) => x.tag)).toEqual(['before']);
    // The thief's lease is untouched (a fenced host releases only its own).
    expect(await r.get(suite.db.kernel.keys.actorLease('fenced', p))).toBe(`thief|${epoch}`);

    // The thief goes away without applying anything; A takes the partition back at a newer epoch, and the command
    // (re-sent through the stream when A dropped the partition) is applied exactly once.
    await r.del(suite.db.kernel.keys.actorLease('fenced', p));
    await a.system.rebalance('fenced');
    expect(await reply).toEqual({ total: 11, applied: 2 });
    const [row] = await suite.db.kernel.sql<{ owner: string; epoch: string }[]>`SELECT owner, epoch FROM actor_partitions WHERE kind = 'fenced' AND partition = ${p}`;
    expect(row!.owner).toBe(a.system.id);
    expect(Number(row!.epoch)).toBeGreaterThan(epoch);
    expect((await applied('f-')).map((x) => x.tag).sort()).toEqual(['after', 'before']);
  });

  it('drops a partition whose Redis lease was taken, and serves it again once the other lease expires', async () => {
    const kind = ledgerKind({ name: 'stolen', partitions: 4 });
    const a = await host(kind, { leaseTtlMs: 1_000, renewEveryMs: 250 });
    await waitFor(() => a.system.stats('stolen').owned.length === 4, 'host owns all');
    const id = 'st-1';
    const p = a.system.partitionOf('stolen', id);
    const r = suite.db.kernel.redis.cmd;
    const lease = suite.db.kernel.keys.actorLease('stolen', p);
    const epoch = Number(await r.incr(suite.db.kernel.keys.actorEpoch('stolen', p)));
    await r.set(lease, `thief|${epoch}`, 'PX', 1_500);
    await waitFor(() => !a.system.stats('stolen').owned.includes(p), 'the owner noticed the lost lease');

    const reply = a.system.send(kind, id, { type: 'add', amount: 3, tag: 'x' });
    // Not applied while the thief holds the lease ...
    expect((await suite.db.kernel.sql`SELECT 1 FROM test_ledger WHERE id = ${id}`).length).toBe(0);
    // ... and applied once when the thief's lease expires and A takes the partition back.
    expect(await reply).toEqual({ total: 3, applied: 1 });
    expect(a.system.stats('stolen').owned).toContain(p);
  });
});

describe('configuration', () => {
  it('refuses to start a process that disagrees on a kind’s partition count', async () => {
    await host(ledgerKind({ name: 'counted', partitions: 8 }));
    await expect(startHost(suite.db, [ledgerKind({ name: 'counted', partitions: 16 })])).rejects.toThrow(/configured with 16 partitions, but other processes use 8/);
  });
});
