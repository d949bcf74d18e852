import { describe, expect, it } from 'vitest';
import { jsonStateStore, type ActorKind } from '../../runtime/actors/index.ts';
import { ledgerKind } from './fixtures/ledger.ts';
import { ledgerSuite, waitFor } from './helpers.ts';

/** Durable timers (never early, once after downtime, replaced/cleared in turns) and activation/passivation. */
const suite = ledgerSuite();
const { host } = suite;

interface Fire {
  name: string;
  due_at: Date;
  committed_at: Date;
}
const fires = (id: string) => suite.db.kernel.sql<Fire[]>`SELECT name, due_at, committed_at FROM test_ledger_events WHERE actor_id = ${id} AND type = 'fired' ORDER BY committed_at`;
const pgNow = async () => (await suite.db.kernel.sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`)[0]!.now;

describe('durable timers', () => {
  it('fires a timer as a turn, never before it is due, and consumes it', async () => {
    const kind = ledgerKind({ name: 'alarm', partitions: 4 });
    const h = await host([kind]);
    const before = await pgNow();
    await h.system.send(kind, 't-1', { type: 'set-timer', name: 'wake', afterMs: 300 });
    await waitFor(async () => (await fires('t-1')).length === 1, 'the timer fired');
    const [f] = await fires('t-1');
    expect(f!.name).toBe('wake');
    expect(f!.due_at.getTime()).toBeGreaterThanOrEqual(before.getTime() + 300);
    expect(f!.committed_at.getTime()).toBeGreaterThanOrEqual(f!.due_at.getTime());
    expect((await suite.db.kernel.sql`SELECT 1 FROM actor_timers WHERE kind = 'alarm' AND actor_id = 't-1'`).length).toBe(0);
    // The fire was a turn: the actor's state moved on with it.
    expect(await h.system.send(kind, 't-1', { type: 'get' })).toEqual({ total: 0, applied: 1 });
  });

  it('a cleared timer never fires and a replaced one fires once, at its new time', async () => {
    const kind = ledgerKind({ name: 'alarm2', partitions: 4 });
    const h = await host([kind]);
    const now = Date.now();
    await h.system.send(kind, 't-2', { type: 'set-timer', name: 'cancelled', afterMs: 100 });
    await h.system.send(kind, 't-2', { type: 'set-timer', name: 'moved', afterMs: 100 });
    await h.system.send(kind, 't-2', { type: 'clear-timer', name: 'cancelled' });
    await h.system.send(kind, 't-2', { type: 'set-timer', name: 'moved', afterMs: 500 });
    await h.system.send(kind, 't-2', { type: 'set-timer', name: 'marker', afterMs: 700 });
    // Timers fire in due order: once the marker fired, anything due before it would have fired too.
    await waitFor(async () => (await fires('t-2')).some((f) => f.name === 'marker'), 'the marker fired');
    const got = await fires('t-2');
    expect(got.map((f) => f.name)).toEqual(['moved', 'marker']);
    expect(got[0]!.due_at.getTime()).toBeGreaterThanOrEqual(now + 500);
  });

  it('fires once after downtime, not once per missed period', async () => {
    const kind = ledgerKind({ name: 'alarm3', partitions: 4 });
    const a = await host([kind]);
    await a.system.send(kind, 't-3', { type: 'set-timer', name: 'tick', afterMs: 100, every: 100 });
    await waitFor(async () => (await fires('t-3')).some((f) => f.name === 'tick'), 'the periodic timer runs');
    // Every host of the kind stops; both timers come due and ~10 periods of `tick` pass with nobody running.
    await a.system.send(kind, 't-3', { type: 'set-timer', name: 'once', afterMs: 1_000 });
    await a.close();
    expect((await fires('t-3')).some((f) => f.name === 'once')).toBe(false);
    const [row] = await suite.db.kernel.sql<{ fire_at: Date }[]>`SELECT max(fire_at) AS fire_at FROM actor_timers WHERE kind = 'alarm3' AND actor_id = 't-3'`;
    await waitFor(async () => (await pgNow()).getTime() > row!.fire_at.getTime() + 1_000, 'a second past the last due time', 5_000, 50);
    const downUntil = await pgNow();
    const before = (await fires('t-3')).length;

    const b = await host([kind]);
    await waitFor(async () => (await fires('t-3')).some((f) => f.name === 'once'), 'the one-shot timer fired after the restart');
    await waitFor(async () => (await fires('t-3')).filter((f) => f.committed_at > downUntil && f.name === 'tick').length >= 3, 'the periodic timer runs again');
    const after = (await fires('t-3')).slice(before);
    expect(after.filter((f) => f.name === 'once').length).toBe(1);
    // Of the periods missed during the downtime, exactly one fire: the overdue row; the next ones are due after it.
    expect(after.filter((f) => f.name === 'tick' && f.due_at < downUntil).length).toBe(1);
    await b.system.send(kind, 't-3', { type: 'clear-timer', name: 'tick' });
  });
});

describe('activation and passivation', () => {
  it('drops an idle actor from memory and reloads it from Postgres on the next command', async () => {
    const loads: string[] = [];
    const kind = ledgerKind({ name: 'sleepy', partitions: 2, passivateAfterMs: 100, onLoad: (id) => loads.push(id) });
    const h = await host([kind]);
    await h.system.send(kind, 'p-1', { type: 'add', amount: 4, tag: 'a' });
    await h.system.send(kind, 'p-1', { type: 'add', amount: 1, tag: 'b' });
    expect(loads).toEqual(['p-1']);
    expect(h.system.isActive('sleepy', 'p-1')).toBe(true);
    await waitFor(() => !h.system.isActive('sleepy', 'p-1'), 'passivated');
    expect(await h.system.send(kind, 'p-1', { type: 'add', amount: 2, tag: 'c' })).toEqual({ total: 7, applied: 3 });
    expect(loads).toEqual(['p-1', 'p-1']);
  });

  it('keeps state in the generic JSONB store across passivation', async () => {
    interface Counter {
      n: number;
      names: string[];
    }
    const store = jsonStateStore<Counter>('jcount', () => ({ n: 0, names: [] }));
    const kind: ActorKind<Counter, { name: string }, Counter> = {
      name: 'jcount',
      partitions: 2,
      passivateAfterMs: 100,
      ...store,
      handle: (st, cmd) => {
        const next = { n: st.n + 1, names: [...st.names, cmd.name] };
        return { state: next, reply: next };
      },
    };
    const h = await host([kind]);
    await h.system.send(kind, 'j-1', { name: 'x' });
    await waitFor(() => !h.system.isActive('jcount', 'j-1'), 'passivated');
    expect(await h.system.send(kind, 'j-1', { name: 'y' })).toEqual({ n: 2, names: ['x', 'y'] });
    const [row] = await suite.db.kernel.sql<{ state: Counter; version: string }[]>`SELECT state, version FROM actor_state WHERE kind = 'jcount' AND id = 'j-1'`;
    expect(row!.state).toEqual({ n: 2, names: ['x', 'y'] });
    expect(Number(row!.version)).toBe(2);
  });
});
