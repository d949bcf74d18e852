import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../runtime/errors.ts';
import { ActorTimeoutError, type CommittedBatch } from '../../runtime/actors/index.ts';
import { createLedgerTables, ledgerKind, type LedgerEvent } from './fixtures/ledger.ts';
import { type ActorTestDb, type Host, startActorTestDb, startHost, waitFor } from './helpers.ts';

/**
 * Behaviour of turns on one owner and through a non-owner: one turn at a time per actor under concurrency, group
 * commit, idempotency by command id, rejections, read-only turns, commit listeners, timeouts.
 */
let s: ActorTestDb;
let owner: Host;
let sender: Host;
const ledger = ledgerKind({ partitions: 8 });

beforeAll(async () => {
  s = await startActorTestDb();
  await createLedgerTables(s.kernel.sql);
  owner = await startHost(s, [ledger]);
  // A client-only process: every command it sends travels through the partition streams and replies by pub/sub.
  sender = await startHost(s, [ledger], { hosting: false });
  await waitFor(() => owner.system.stats('ledger').owned.length === 8, 'owner holds every partition');
});

afterAll(async () => {
  await sender?.close();
  await owner?.close();
  await s?.close();
});

const events = (id: string) => s.kernel.sql<{ tag: string; seq: number }[]>`SELECT tag, seq FROM test_ledger_events WHERE actor_id = ${id} AND type = 'added' ORDER BY seq`;

describe('one turn at a time per actor', () => {
  it('loses no update with 50 concurrent local senders on one key', async () => {
    const id = 'hot-local';
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => owner.system.send(ledger, id, { type: 'add', amount: 1, tag: `l${i}` })));
    expect(replies.map((r) => r.applied).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const rows = await events(id);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.tag)).size).toBe(50);
    const [st] = await s.kernel.sql<{ total: string }[]>`SELECT total FROM test_ledger WHERE id = ${id}`;
    expect(Number(st!.total)).toBe(50);
    // Group commit: 50 turns did not need 50 transactions.
    expect(owner.system.stats('ledger').commits).toBeLessThan(50);
  });

  it('loses no update with 50 concurrent remote senders (stream + pub/sub replies) mixed with local ones', async () => {
    const id = 'hot-mixed';
    const sends = Array.from({ length: 100 }, (_, i) => (i % 2 ? sender : owner).system.send(ledger, id, { type: 'add', amount: 2, tag: `m${i}` }));
    const replies = await Promise.all(sends);
    expect(new Set(replies.map((r) => r.applied)).size).toBe(100);
    const rows = await events(id);
    expect(rows.length).toBe(100);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const reply = await sender.system.send(ledger, id, { type: 'get' });
    expect(reply).toEqual({ total: 200, applied: 100 });
  });

  it('keeps order per actor for one sender awaiting each reply', async () => {
    const id = 'ordered';
    for (let i = 0; i < 10; i++) await sender.system.send(ledger, id, { type: 'add', amount: 1, tag: `o${i}` });
    expect((await events(id)).map((r) => r.tag)).toEqual(Array.from({ length: 10 }, (_, i) => `o${i}`));
  });
});

describe('idempotency by command id', () => {
  it('applies a repeated command id once and answers both with the same reply (remote)', async () => {
    const id = 'idem-remote';
    const first = await sender.system.send(ledger, id, { type: 'add', amount: 5, tag: 'once' }, { commandId: 'cmd-1' });
    const again = await sender.system.send(ledger, id, { type: 'add', amount: 5, tag: 'once' }, { commandId: 'cmd-1' });
    expect(again).toEqual(first);
    expect((await events(id)).length).toBe(1);
  });

  it('applies concurrent copies of one command id once (local and remote at the same time)', async () => {
    const id = 'idem-concurrent';
    const copies = await Promise.all([
      owner.system.send(ledger, id, { type: 'add', amount: 7, tag: 'c' }, { commandId: 'same' }),
      sender.system.send(ledger, id, { type: 'add', amount: 7, tag: 'c' }, { commandId: 'same' }),
      owner.system.send(ledger, id, { type: 'add', amount: 7, tag: 'c' }, { commandId: 'same' }),
      sender.system.send(ledger, id, { type: 'add', amount: 7, tag: 'c' }, { commandId: 'same' }),
    ]);
    for (const c of copies) expect(c).toEqual({ total: 7, applied: 1 });
    expect((await events(id)).length).toBe(1);
  });

  it('the same command id on two different actors is two commands', async () => {
    await owner.system.send(ledger, 'idem-a', { type: 'add', amount: 1, tag: 'x' }, { commandId: 'shared' });
    await owner.system.send(ledger, 'idem-b', { type: 'add', amount: 1, tag: 'x' }, { commandId: 'shared' });
    expect((await events('idem-a')).length + (await events('idem-b')).length).toBe(2);
  });

  it('a told command with a command id is applied once however often it is told', async () => {
    const id = 'idem-tell';
    for (let i = 0; i < 3; i++) await sender.system.tell(ledger, id, { type: 'add', amount: 1, tag: 't' }, { commandId: 'tell-1' });
    await owner.system.tell(ledger, id, { type: 'add', amount: 1, tag: 't' }, { commandId: 'tell-1' });
    await waitFor(async () => (await sender.system.send(ledger, id, { type: 'get' })).applied >= 1, 'told command applied');
    // A later command through the same stream is behind every copy: once it is answered, all copies were handled.
    await sender.system.send(ledger, id, { type: 'add', amount: 0, tag: 'marker' });
    expect((await events(id)).map((r) => r.tag)).toEqual(['t', 'marker']);
  });
});

describe('rejections, reads and listeners', () => {
  it('passes an AppError thrown by the handler to the sender, changes nothing, and stores the rejection', async () => {
    const id = 'rejects';
    await owner.system.send(ledger, id, { type: 'add', amount: 3, tag: 'a' });
    for (const sys of [owner.system, sender.system]) {
      const err = await sys.send(ledger, id, { type: 'reject', message: 'not now' }, { commandId: 'rej-1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CONFLICT');
      expect((err as AppError).message).toBe('not now');
    }
    const [rec] = await s.kernel.sql<{ ok: boolean }[]>`SELECT ok FROM actor_commands WHERE kind = 'ledger' AND actor_id = ${id} AND command_id = 'rej-1'`;
    expect(rec!.ok).toBe(false);
    expect(await owner.system.send(ledger, id, { type: 'get' })).toEqual({ total: 3, applied: 1 });
  });

  it('answers an unexpected handler error as INTERNAL_ERROR without the internals', async () => {
    const err = (await sender.system.send(ledger, 'crashy', { type: 'crash' }).catch((e: unknown) => e)) as AppError;
    expect(err.code).toBe('INTERNAL_ERROR');
    expect(err.message).not.toContain('handler bug');
  });

  it('a read-only local turn writes nothing', async () => {
    const before = owner.system.stats('ledger').commits;
    for (let i = 0; i < 5; i++) await owner.system.send(ledger, 'reader', { type: 'get' });
    expect(owner.system.stats('ledger').commits).toBe(before);
  });

  it('hands committed events to onCommitted listeners in order, before the reply', async () => {
    const seen: LedgerEvent[] = [];
    let replied = false;
    const off = owner.system.onCommitted('ledger', (b: CommittedBatch) => {
      expect(replied).toBe(false);
      for (const a of b.actors) if (a.id === 'listened') seen.push(...(a.events as LedgerEvent[]));
    });
    await Promise.all([1, 2, 3].map((n) => owner.system.send(ledger, 'listened', { type: 'add', amount: n, tag: `e${n}` })));
    replied = true;
    off();
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3]);
  });
});

describe('timeouts', () => {
  it('a send to a kind nobody hosts times out with a clear error, and is applied once a host appears', async () => {
    const orphan = ledgerKind({ name: 'orphan', partitions: 2 });
    const client = await startHost(s, [orphan], { hosting: false });
    try {
      const err = (await client.system.send(orphan, 'o1', { type: 'add', amount: 1, tag: 'late' }, { timeoutMs: 200, commandId: 'late-1' }).catch((e: unknown) => e)) as AppError;
      expect(err).toBeInstanceOf(ActorTimeoutError);
      expect(err.code).toBe('GATEWAY_TIMEOUT');
      expect(err.message).toMatch(/orphan\/o1 did not reply within 200 ms/);
      const host = await startHost(s, [orphan]);
      try {
        // Retrying with the same command id returns the result of the single application.
        const r = await client.system.send(orphan, 'o1', { type: 'add', amount: 1, tag: 'late' }, { commandId: 'late-1' });
        expect(r).toEqual({ total: 1, applied: 1 });
        expect((await events('o1')).length).toBe(1);
      } finally {
        await host.close();
      }
    } finally {
      await client.close();
    }
  });
});
