import { describe, expect, it } from 'vitest';
import { AppError } from '../../runtime/errors.ts';
import { resolveOutcome } from '../../runtime/actors/commit.ts';
import { ledgerKind } from './fixtures/ledger.ts';
import { ledgerSuite, type startHost, waitFor } from './helpers.ts';

/**
 * Failure modes of GUARANTEES.md that need no second process: Postgres connections dying mid-commit, a command whose
 * commit always fails (poison), and Redis losing every actor key (a restart without persistence).
 */
const suite = ledgerSuite();
const host = (kind: ReturnType<typeof ledgerKind>, opts: Parameters<typeof startHost>[2] = {}) => suite.host([kind], opts);

const tags = (prefix: string) =>
  suite.db.kernel.sql<{ tag: string; n: number }[]>`SELECT tag, count(*)::int AS n FROM test_ledger_events WHERE actor_id LIKE ${prefix + '%'} AND type = 'added' GROUP BY tag`;

// Both commit paths: sql.begin() (BEGIN, statements, COMMIT, each awaited) and one flight (kinds that declare
// persistIssuesSynchronously: BEGIN, statements and COMMIT pipelined on a reserved connection, commit.ts).
describe.each([
  { mode: 'begin', oneFlight: false },
  { mode: 'oneflight', oneFlight: true },
])('Postgres failures, $mode commits', ({ mode, oneFlight }) => {
  // Cancelling the statements of in-flight commits (SQLSTATE 57014, a transient failure after the transaction began)
  // drives the same path as a lost connection: the outcome is asked of Postgres by transaction id, then the rounds
  // are retried. Terminating the backends (the next test) is the truer "connection lost"; postgres.js 3.4.9 crashed
  // the process on it, or left a reserved connection's queries waiting forever, until patches/postgres+3.4.9.patch.
  it('commands whose transactions fail mid-flight are retried and applied exactly once (no command ids given)', async () => {
    await interruptCommits(`pgcancel${mode}`, 'pg_cancel_backend');
  });

  it('same, with the connections terminated', async () => {
    await interruptCommits(`pgdrop${mode}`, 'pg_terminate_backend');
  });

  async function interruptCommits(name: string, how: 'pg_cancel_backend' | 'pg_terminate_backend') {
    // 30 ms inside every commit so that the interruptions hit transactions in flight.
    const kind = ledgerKind({ name, partitions: 4, commitDelayMs: 30, oneFlight });
    const h = await host(kind);
    await waitFor(() => h.system.stats(name).owned.length === 4, 'host owns all');
    // Interrupt every commit for a while (retries included), then let them through.
    let interrupted = 0;
    const until = Date.now() + 1_500;
    const interrupter = (async () => {
      while (Date.now() < until) {
        const r = await suite.db.kernel.sql.unsafe<{ n: number }[]>(
          `SELECT count(${how}(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep%' AND state = 'active'`,
        );
        interrupted += r[0]!.n;
        await new Promise((res) => setTimeout(res, 15));
      }
    })();
    // Local sends without command ids: only the transaction id tells whether a broken commit went through.
    const prefix = `${name}-`;
    const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => h.system.send(kind, `${prefix}${i % 10}`, { type: 'add', amount: 1, tag: `${name}${i}` }, { timeoutMs: 25_000 })));
    await interrupter;
    expect(interrupted).toBeGreaterThan(0);
    expect(replies.length).toBe(150);
    const rows = await tags(prefix);
    expect(rows.length).toBe(150);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
  }

  it('tells a committed transaction from an aborted one by its id', async () => {
    const committed = await suite.db.kernel.sql.begin(async (tx) => (await tx<{ t: string }[]>`SELECT txid_current()::text AS t`)[0]!.t);
    let aborted = '';
    await suite.db.kernel.sql
      .begin(async (tx) => {
        aborted = (await tx<{ t: string }[]>`SELECT txid_current()::text AS t`)[0]!.t;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await resolveOutcome(suite.db.kernel.sql, committed, () => true)).toBe('committed');
    expect(await resolveOutcome(suite.db.kernel.sql, aborted, () => true)).toBe('aborted');
  });

  it('rejects a command whose commit always fails, without blocking the others in its batch or its actor', async () => {
    const name = `poison${mode}`;
    const kind = ledgerKind({ name, partitions: 2, oneFlight });
    const h = await host(kind);
    await waitFor(() => h.system.stats(name).owned.length === 2, 'host owns all');
    const sends = Array.from({ length: 30 }, (_, i) =>
      h.system
        .send(kind, `po${mode}-${i % 3}`, { type: 'add', amount: 1, tag: i === 7 ? 'poison' : `po${i}` })
        .then(() => 'ok')
        .catch((e: unknown) => e),
    );
    const results = await Promise.all(sends);
    const failed = results.filter((r) => r !== 'ok');
    expect(failed.length).toBe(1);
    expect(failed[0]).toBeInstanceOf(AppError);
    expect((failed[0] as AppError).code).toBe('INTERNAL_ERROR');
    const rows = await tags(`po${mode}-`);
    expect(rows.length).toBe(29);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    // The poisoned actor still works and its state matches what was committed.
    expect(await h.system.send(kind, `po${mode}-1`, { type: 'add', amount: 1, tag: 'after' })).toEqual({ total: 10, applied: 10 });
  });
});

describe('one-flight commits', () => {
  it('never run a statement issued after COMMIT was sent (it would be outside the transaction): it throws instead', async () => {
    const kind = ledgerKind({ name: 'late', partitions: 1, oneFlight: true, lateStatement: true });
    const h = await host(kind);
    await waitFor(() => h.system.stats('late').owned.length === 1, 'host owns all');
    // The transaction itself committed (its statements were all in the flight): the outcome is resolved by its id,
    // so the command is applied once and answered, and the late statement is nowhere.
    expect(await h.system.send(kind, 'late-1', { type: 'add', amount: 1, tag: 'late1' })).toEqual({ total: 1, applied: 1 });
    expect(await tags('late-')).toEqual([{ tag: 'late1', n: 1 }]);
    expect((await suite.db.kernel.sql`SELECT 1 FROM test_ledger_events WHERE actor_id = 'late'`).length).toBe(0);
  });
});

describe('Redis failures', () => {
  it('recovers when Redis loses every actor key (restart without persistence): new epochs above the fence, no error', async () => {
    const kind = ledgerKind({ name: 'amnesia', partitions: 4 });
    const h = await host(kind);
    const client = await host(kind, { hosting: false });
    await waitFor(() => h.system.stats('amnesia').owned.length === 4, 'host owns all');
    for (let i = 0; i < 20; i++) await client.system.send(kind, `am-${i % 4}`, { type: 'add', amount: 1, tag: `a${i}` });
    const before = await suite.db.kernel.sql<{ partition: number; epoch: string }[]>`SELECT partition, epoch FROM actor_partitions WHERE kind = 'amnesia' ORDER BY partition`;

    const r = suite.db.kernel.redis.cmd;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', `${suite.db.kernel.keys.prefix}actor:amnesia:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(0);
    await r.del(...keys);

    // Commands sent after the loss are applied once the host has re-acquired (at new epochs).
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => client.system.send(kind, `am-${i % 4}`, { type: 'add', amount: 1, tag: `b${i}` }, { timeoutMs: 10_000 })));
    expect(after.length).toBe(20);
    const rows = await tags('am-');
    expect(rows.length).toBe(40);
    expect(rows.every((x) => x.n === 1)).toBe(true);
    // Every partition is served again, each at an epoch above the one Postgres had (Redis' counters were gone).
    await waitFor(async () => {
      const now = await suite.db.kernel.sql<{ partition: number; epoch: string }[]>`SELECT partition, epoch FROM actor_partitions WHERE kind = 'amnesia' ORDER BY partition`;
      return now.every((row, i) => Number(row.epoch) > Number(before[i]!.epoch)) && h.system.stats('amnesia').owned.length === 4;
    }, 'all partitions re-acquired at newer epochs');
  });
});
