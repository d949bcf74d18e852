import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../runtime/db.ts';
import { startTestServer, type TestServer } from '../harness.ts';

/**
 * The postgres.js behaviour our commit path relies on when Postgres closes a connection under it (patches/
 * postgres+3.4.9.patch, porsager/postgres#1208). Unpatched, the first case crashed the process from a timer, the
 * pipelined queries after a full pipeline never settled, and the released dead connection went back into the pool.
 */
describe('postgres.js: a connection closed by the server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  const settle = (p: Promise<unknown>) =>
    Promise.race([
      p.then(
        () => 'ok',
        (e: { code?: string }) => `rejected ${e.code ?? 'error'}`,
      ),
      new Promise<string>((r) => setTimeout(() => r('hung'), 5_000)),
    ]);

  it('settles every pipelined query of a reserved connection, and the pool keeps working', async () => {
    const sql = s.kernel.sql;
    for (let round = 0; round < 3; round++) {
      const conn = await sql.reserve();
      const pid = (await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
      // BEGIN, a statement that is still running when the backend dies, more statements (a first-time statement
      // fills the pipeline, so the later ones wait inside the reserved handle) and COMMIT, all sent at once.
      const flight = [
        conn`BEGIN`.execute(),
        conn`SELECT pg_sleep(0.3)`.execute(),
        conn`SELECT ${round}::int AS r, 'first time' AS t`.execute(),
        conn`SELECT 2 AS two`.execute(),
        conn`COMMIT`.execute(),
      ];
      setTimeout(() => void sql`SELECT pg_terminate_backend(${pid})`.catch(() => undefined), 50);
      const outcomes = await Promise.all(flight.map(settle));
      expect(outcomes[0]).toBe('ok');
      expect(outcomes.slice(1).every((o) => o.startsWith('rejected'))).toBe(true);
      // A query on the dead reserved connection fails at once instead of crashing the process or hanging.
      expect(await settle(conn`SELECT 1`.execute())).toMatch(/^rejected/);
      conn.release();
      // The dead connection did not go back into the pool: every query after the release succeeds.
      for (let i = 0; i < 6; i++) expect(await settle(sql`SELECT 1`.execute())).toBe('ok');
    }
  });

  it('a dead reserved connection released while queries wait for the pool: they are served, the process survives', async () => {
    // One connection, so the queries below are waiting for it when it is released (unpatched, release handed them
    // the dead socket: an uncaught TypeError from a setImmediate killed the process).
    const one = createDb({ url: s.config.DATABASE_URL, max: 1, database: s.dbName });
    try {
      const conn = await one.reserve();
      const pid = (await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
      const waiting = Array.from({ length: 3 }, (_, i) => one`SELECT ${i}::int AS i`.execute());
      const ok = (await s.kernel.sql<{ ok: boolean }[]>`SELECT pg_terminate_backend(${pid}) AS ok`)[0]!.ok;
      expect(ok).toBe(true);
      expect(await settle(conn`SELECT 1`.execute())).toMatch(/^rejected/);
      conn.release();
      // Served by a new connection (or failed cleanly), never left hanging; and the pool works afterwards.
      for (const o of await Promise.all(waiting.map(settle))) expect(o).not.toBe('hung');
      for (let i = 0; i < 3; i++) expect(await settle(one`SELECT 1`.execute())).toBe('ok');
    } finally {
      await one.end({ timeout: 1 });
    }
  });
});
